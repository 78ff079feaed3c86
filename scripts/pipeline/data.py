"""CIFAR-10 from the project's shared JPEG zips (../shared/datasets/cifar10/{train,test}.zip).

Each archive holds `<class>/<NNNN>.jpg`. Decoding runs in a process pool (17 s single-threaded for the 50k training
images on the GPU machine) and the result can be cached as an .npz next to the run.
"""
from __future__ import annotations

import io
import os
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
DEFAULT_ROOT = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "cifar10"  # ../shared of the repo


def _decode_chunk(args: Tuple[str, List[str]]) -> np.ndarray:
    from PIL import Image

    path, names = args
    out = np.empty((len(names), 32, 32, 3), dtype=np.uint8)
    with zipfile.ZipFile(path) as zf:
        for i, name in enumerate(names):
            with Image.open(io.BytesIO(zf.read(name))) as im:
                out[i] = np.asarray(im.convert("RGB").resize((32, 32)) if im.size != (32, 32) else im.convert("RGB"))
    return out


def load_split(
    split: str, root: Optional[Path] = None, limit: Optional[int] = None, workers: Optional[int] = None
) -> Tuple[np.ndarray, np.ndarray]:
    """Returns (images uint8 [N, 32, 32, 3], labels int64 [N]) in a deterministic (sorted) order.
    `limit` takes an evenly spread, class-balanced subset (for tests and quick evaluations)."""
    root = Path(root or os.environ.get("CIFAR10_DIR", DEFAULT_ROOT))
    path = root / f"{split}.zip"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: see ../shared/datasets/cifar10/README.md")
    with zipfile.ZipFile(path) as zf:
        names = sorted(n for n in zf.namelist() if n.lower().endswith(".jpg"))
    labels = np.array([CLASS_NAMES.index(n.split("/")[-2]) for n in names], dtype=np.int64)
    if limit is not None and limit < len(names):
        per_class = max(1, limit // len(CLASS_NAMES))
        keep = np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in range(len(CLASS_NAMES))])
        names, labels = [names[i] for i in keep], labels[keep]
    workers = workers or min(16, os.cpu_count() or 1)
    chunk = max(1, (len(names) + workers * 4 - 1) // (workers * 4))
    chunks = [(str(path), names[i : i + chunk]) for i in range(0, len(names), chunk)]
    if workers == 1 or len(chunks) == 1:
        images = np.concatenate([_decode_chunk(c) for c in chunks])
    else:
        with ProcessPoolExecutor(workers) as pool:
            images = np.concatenate(list(pool.map(_decode_chunk, chunks)))
    return images, labels


def to_unit_range(images_uint8):
    """uint8 NHWC (numpy or torch) -> float32 NCHW torch tensor in [-1, 1]."""
    import torch

    x = torch.as_tensor(images_uint8)
    return x.permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
