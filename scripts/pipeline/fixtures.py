"""Parity fixtures: inputs and outputs of the three browser models, computed by pipeline/reference.py from a pack's
weights as read back (float16-rounded), for the TypeScript engine's parity tests (tolerance 1e-4)."""
from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch

from pipeline import reference as R
from pipeline.export import ROOT


# --------------------------------------------------------------------------------------------------------------
def synthetic_images(n: int, size: int, seed: int) -> np.ndarray:
    """Smooth deterministic test images (gradients, a disc, stripes) in [-1, 1], NHWC. No data set content."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / (size - 1)
    images = []
    for i in range(n):
        c = rng.uniform(-1, 1, size=(3, 3)).astype(np.float32)
        img = np.stack([c[k, 0] * xx + c[k, 1] * yy + c[k, 2] * (1 - xx) * yy for k in range(3)], -1)
        cy, cx, r = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.15, 0.3)
        disc = ((yy - cy) ** 2 + (xx - cx) ** 2) < r * r
        img[disc] = rng.uniform(-1, 1, size=3)
        img += 0.15 * np.sin(2 * np.pi * (i + 2) * xx)[..., None]
        images.append(np.clip(img, -1, 1))
    return np.stack(images).astype(np.float32)


class FixtureWriter:
    def __init__(self):
        self.tensors: "OrderedDict[str, dict]" = OrderedDict()
        self.chunks: List[np.ndarray] = []
        self.offset = 0

    def add(self, name: str, value) -> str:
        arr = np.ascontiguousarray(np.asarray(value, dtype=np.float32))
        self.tensors[name] = dict(shape=list(arr.shape), offset=self.offset, length=int(arr.size))
        self.chunks.append(arr.ravel())
        self.offset += arr.size
        return name


def write_fixtures(
    out_dir: Path, pack_dir: Path, pack: dict, weights: Dict[str, Dict[str, np.ndarray]], seed: int = 0
) -> dict:
    """Fixtures computed by reference.py from the float16-rounded weights as read back from the pack."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    fx = FixtureWriter()
    size, levels = pack["imageSize"], pack["levels"]
    arch_sp, arch_lag = pack["models"]["sp"]["arch"], pack["models"]["lag"]["arch"]
    k = arch_sp["numClasses"]

    images = synthetic_images(2, size, seed)
    fx.add("image", images)
    feats = R.vgg_pyramid(weights["vgg"], pack["models"]["vgg"]["arch"], torch.from_numpy(images))
    for lv, f in zip(levels, feats):
        fx.add(f"feature.{lv['name']}", f.numpy())

    def sp_case(name: str, rows: List[int], level_rows: List[int], mask: np.ndarray) -> dict:
        b = len(rows)
        z = rng.standard_normal((b, arch_sp["zDim"])).astype(np.float32)
        y = np.array([(3 * i + 1) % k for i in range(b)], dtype=np.float32)
        on = np.zeros((b, len(levels)), dtype=np.float32)
        on[np.arange(b), level_rows] = 1
        f = [t[rows] for t in feats]
        out = R.sp_generate(
            weights["sp"],
            arch_sp,
            levels,
            torch.from_numpy(z),
            torch.from_numpy(y),
            f,
            torch.from_numpy(on),
            torch.from_numpy(mask),
        )
        return dict(
            name=name,
            rows=list(rows),
            z=fx.add(f"sp.{name}.z", z),
            y=fx.add(f"sp.{name}.y", y),
            on=fx.add(f"sp.{name}.on", on),
            mask=fx.add(f"sp.{name}.mask", mask),
            out=fx.add(f"sp.{name}.out", out.numpy()),
        )

    full = lambda b: np.ones((b, size, size, 1), dtype=np.float32)  # noqa: E731
    sp_cases = [sp_case(f"level{lv['index']}-{lv['name']}", [0, 1], [lv["index"]] * 2, full(2)) for lv in levels]
    yy, xx = np.mgrid[0:size, 0:size] / size
    blob = (((yy - 0.4) ** 2 + (xx - 0.6) ** 2) < 0.09).astype(np.float32)[None, :, :, None]
    soft = np.clip(xx * 1.5 - 0.2, 0, 1).astype(np.float32)[None, :, :, None]
    sp_cases.append(
        sp_case(
            "mixed-levels-painted-mask",
            [0, 1, 0, 1],
            [0, 2, 3, 5],
            np.concatenate([blob, blob, soft, soft]).astype(np.float32),
        )
    )

    lr_size, scale = arch_lag["lrSize"], arch_lag["scale"]
    lr = torch.nn.functional.avg_pool2d(torch.from_numpy(images).permute(0, 3, 1, 2), scale).permute(0, 2, 3, 1)
    lag_cases = []
    for amp in (0.0, 0.5, 1.0):
        noise = rng.standard_normal((2, lr_size, lr_size, arch_lag["noiseChannels"])).astype(np.float32)
        out = R.lag_generate(weights["lag"], arch_lag, lr, torch.from_numpy(noise), amp)
        name = f"amplitude{amp}"
        lag_cases.append(
            dict(
                name=name,
                lr=fx.add(f"lag.{name}.lr", lr.numpy()),
                noise=fx.add(f"lag.{name}.noise", noise),
                amplitude=amp,
                out=fx.add(f"lag.{name}.out", out.numpy()),
            )
        )

    try:
        pack_rel = str(pack_dir.resolve().relative_to(ROOT))
    except ValueError:
        pack_rel = str(pack_dir)
    meta = dict(
        packId=pack["id"],
        packDir=pack_rel,
        digest=pack["digest"],
        tolerance=1e-4,
        note="computed by scripts/reference.py in float32 from the float16-rounded pack weights",
        tensors=fx.tensors,
        cases=dict(sp=sp_cases, lag=lag_cases),
    )
    (out_dir / "fixtures.bin").write_bytes(np.concatenate(fx.chunks).astype("<f4").tobytes())
    (out_dir / "fixtures.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta
