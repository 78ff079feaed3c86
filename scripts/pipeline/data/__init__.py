"""Training and test images from any supported source, at any size, decoded once.

    ds = load_dataset("photos/", "train", 64, cache_dir="~/.cache/pyramid-playground/datasets")
    ds.images   # uint8 [N, 64, 64, 3]
    ds.labels   # int64 [N], indices into ds.class_names
    ds.report   # what was read, skipped, converted and upscaled, counted: goes into the run's provenance

Sources (sources.py): an image folder `<class>/<image>` or a zip of one, a folder or zip with train/ and test/, a
folder with train.zip and test.zip (../shared/datasets/cifar10 and scenes6), CIFAR-10's python archive or its
extracted folder. Images are centre-cropped and resized with antialiasing (decode.py). Unreadable or truncated
files are skipped and counted; other modes are converted and images smaller than the size upscaled, both counted
and warned about; what cannot make a data set (an empty class folder, one class, more than 1,000 classes, a zip
that would unpack past `max_unpacked_bytes`) raises a DataError that names the file or folder.

With `cache_dir` the decoded split is kept as an .npz keyed by the source's files (paths, sizes, mtimes), the split,
the size and the limit: a rerun loads it instead of decoding again.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import tarfile
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from pipeline.data import decode
from pipeline.data.sources import CIFAR_FOLDER, DataError, Listing, list_source

__all__ = ["Dataset", "DataError", "DataWarning", "load_dataset", "load_split", "to_unit_range", "CLASS_NAMES"]

# CIFAR-10's classes in its own label order (batches.meta): the class names of packs trained before runs recorded
# their own.
CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
DEFAULT_ROOT = Path(__file__).resolve().parents[4] / "shared" / "datasets" / "cifar10"  # ../shared of the repo
DEFAULT_MAX_UNPACKED_BYTES = 8 * 1024**3
CACHE_VERSION = 1
UNREADABLE_EXAMPLES = 10  # how many unreadable files the report names


class DataWarning(UserWarning):
    """Images were skipped, converted or upscaled (the counts are in the report)."""


@dataclass
class Dataset:
    images: np.ndarray  # uint8 [N, S, S, 3]
    labels: np.ndarray  # int64 [N]
    class_names: List[str]
    report: dict  # what was skipped/converted/upscaled, counted (goes into provenance)


def _cache_path(cache_dir: Path, listing: Listing, split: str, size: int, limit: Optional[int]) -> Path:
    key = hashlib.sha1(
        json.dumps([CACHE_VERSION, listing.fingerprint, split, size, limit, decode.RESAMPLE]).encode()
    ).hexdigest()[:20]
    stem = Path(listing.origin).name.split(".")[0] or "data"
    return cache_dir / f"{stem}-{split}-{size}px-{key}.npz"


def _read_cache(path: Path) -> Optional[Dataset]:
    try:
        with np.load(path, allow_pickle=False) as z:
            report = json.loads(str(z["report"]))
            return Dataset(z["images"], z["labels"], [str(c) for c in z["class_names"]], report)
    except (OSError, KeyError, ValueError):  # a damaged cache file is decoded again and overwritten
        return None


def _write_cache(path: Path, ds: Dataset) -> None:
    """Atomically: a stopped run leaves the old file or none, never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        np.savez(
            f,
            images=ds.images,
            labels=ds.labels,
            class_names=np.array(ds.class_names),
            report=np.array(json.dumps(ds.report)),
        )
    os.replace(tmp, path)


def _balanced(labels: np.ndarray, num_classes: int, limit: Optional[int]) -> np.ndarray:
    """Positions of a class-balanced subset: the first limit // num_classes of each class (all if no limit)."""
    if limit is None or limit >= len(labels):
        return np.arange(len(labels))
    per_class = max(1, limit // num_classes)
    return np.sort(np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in range(num_classes)]))


def _decode_entries(listing: Listing, size: int, workers: int) -> Tuple[np.ndarray, np.ndarray, dict]:
    names = [e.name for e in listing.entries]
    labels = np.array([e.label for e in listing.entries], dtype=np.int64)
    container = listing.entries[0].container if listing.entries else None
    n_chunks = max(1, min(len(names) // 64, workers * 4))
    step = -(-len(names) // n_chunks) if names else 1
    chunks = [(container, names[i : i + step], size) for i in range(0, len(names), step)]
    if workers <= 1 or len(chunks) <= 1:
        results = [decode.decode_chunk(c) for c in chunks]
    else:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(decode.decode_chunk, chunks))
    images, kept, converted, upscaled, unreadable = [], [], Counter(), 0, []
    for (imgs, pos, counts), start in zip(results, range(0, len(names), step)):
        images.append(imgs)
        kept.append(pos + start)
        converted.update(counts["converted"])
        upscaled += counts["upscaled"]
        unreadable += counts["unreadable"]
    kept_all = np.concatenate(kept) if kept else np.zeros(0, np.int64)
    images_all = np.concatenate(images) if images else np.zeros((0, size, size, 3), np.uint8)
    return images_all, labels[kept_all], dict(converted=dict(converted), upscaled=upscaled, unreadable=unreadable)


def _cifar_arrays(listing: Listing) -> Tuple[np.ndarray, np.ndarray]:
    """CIFAR-10's pickled batches (dicts with b'data' uint8 [N, 3072] in CHW order and b'labels')."""
    path = Path(listing.origin)
    blobs = []
    if path.is_dir():
        blobs = [(path / m).read_bytes() for m in listing.cifar_members]
    else:
        with tarfile.open(path, "r:*") as tf:
            blobs = [tf.extractfile(f"{CIFAR_FOLDER}/{m}").read() for m in listing.cifar_members]
    xs, ys = [], []
    for m, blob in zip(listing.cifar_members, blobs):
        try:
            batch = pickle.loads(blob, encoding="bytes")
            x = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
            y = np.asarray(batch[b"labels"], dtype=np.int64)
        except (pickle.UnpicklingError, KeyError, ValueError, EOFError) as exc:
            raise DataError(f"{path}: batch {m} is not in CIFAR-10's pickle layout ({exc})") from exc
        if len(x) != len(y) or (len(y) and (y.min() < 0 or y.max() >= len(listing.class_names))):
            raise DataError(f"{path}: batch {m} has labels outside the {len(listing.class_names)} classes")
        xs.append(x)
        ys.append(y)
    return np.ascontiguousarray(np.concatenate(xs)), np.concatenate(ys)


def load_dataset(
    source,
    split: str,
    size: int,
    cache_dir=None,
    limit: Optional[int] = None,
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES,
    workers: int = 2,
) -> Dataset:
    """One split ("train" or "test") of a source as `size`-pixel squares; `limit` takes a class-balanced subset
    (the first limit // classes images of each class); `workers` decoding processes (1: in this process)."""
    listing = list_source(source, split, max_unpacked_bytes)
    n_classes = len(listing.class_names)
    if n_classes < 2:
        raise DataError(f"{listing.origin}: only one class ({listing.class_names}); a pack needs at least two")
    cache_file = _cache_path(Path(cache_dir).expanduser(), listing, split, size, limit) if cache_dir else None
    if cache_file is not None and cache_file.exists():
        cached = _read_cache(cache_file)
        if cached is not None:
            cached.report["cache"] = dict(state="hit", file=str(cache_file))
            return cached
    if listing.kind == "cifar10-python":
        images, labels = _cifar_arrays(listing)
        keep = _balanced(labels, n_classes, limit)
        images, upscaled = decode.resize_array(images[keep], size)
        labels = labels[keep]
        counts = dict(converted={}, upscaled=upscaled, unreadable=[])
    else:
        labels = np.array([e.label for e in listing.entries], dtype=np.int64)
        listing.entries = [listing.entries[i] for i in _balanced(labels, n_classes, limit)]
        images, labels, counts = _decode_entries(listing, size, workers)
    present = np.bincount(labels, minlength=n_classes)
    if split == "train" and (present == 0).any():
        empty = [listing.class_names[c] for c in np.flatnonzero(present == 0)]
        raise DataError(f"{listing.origin}: no readable images in class {empty[:5]}")
    if len(images) == 0:
        raise DataError(f"{listing.origin}: no readable images in the {split} split ({listing.split_rule})")
    report = dict(
        source=str(source),
        kind=listing.kind,
        origin=listing.origin,
        split=split,
        splitRule=listing.split_rule,
        size=size,
        limit=limit,
        images=int(len(images)),
        classes=n_classes,
        perClass={c: int(n) for c, n in zip(listing.class_names, present)},
        skippedUnreadable=len(counts["unreadable"]),
        unreadableExamples=counts["unreadable"][:UNREADABLE_EXAMPLES],
        converted=counts["converted"],
        upscaled=counts["upscaled"],
        ignoredFiles=listing.ignored_files,
        resample=decode.RESAMPLE,
        upsample=decode.UPSAMPLE,
    )
    report["warnings"] = _warnings(report)
    for w in report["warnings"]:
        warnings.warn(w, DataWarning, stacklevel=2)
    ds = Dataset(images, labels, list(listing.class_names), report)
    if cache_file is not None:
        _write_cache(cache_file, ds)
        ds.report["cache"] = dict(state="written", file=str(cache_file))
    else:
        ds.report["cache"] = dict(state="off")
    return ds


def _warnings(report: dict) -> List[str]:
    out, where = [], f"{report['origin']} ({report['split']})"
    if report["skippedUnreadable"]:
        out.append(f"{where}: skipped {report['skippedUnreadable']} unreadable or truncated files")
    if report["converted"]:
        modes = ", ".join(f"{n} {m}" for m, n in sorted(report["converted"].items()))
        out.append(f"{where}: converted to RGB: {modes}")
    if report["upscaled"]:
        out.append(f"{where}: {report['upscaled']} images smaller than {report['size']} px were upscaled")
    return out


def load_split(
    split: str, root: Optional[Path] = None, limit: Optional[int] = None, workers: Optional[int] = None
) -> Tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 at 32 px from a folder with train.zip and test.zip (root, $CIFAR10_DIR or ../shared): (images,
    labels), for callers that predate load_dataset."""
    root = Path(root or os.environ.get("CIFAR10_DIR", DEFAULT_ROOT))
    ds = load_dataset(root, split, 32, limit=limit, workers=workers or 2)
    return ds.images, ds.labels


def to_unit_range(images_uint8):
    """uint8 NHWC (numpy or torch) -> float32 NCHW torch tensor in [-1, 1]."""
    import torch

    x = torch.as_tensor(images_uint8)
    return x.permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
