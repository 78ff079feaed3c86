"""Parity fixtures for interpolation (src/engine/interpolation.ts): slerped noise and blended classes through
pipeline/reference.py, from a pack's float16-rounded weights as read back.

    /usr/bin/python3 -m pipeline.interpolation_fixtures tests/fixtures/tiny tests/fixtures/interpolation/tiny

(run from scripts/). The files are interpolation.json and interpolation.bin, not fixtures.json, so the plain parity
suite does not pick them up.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from pipeline import reference as R
from pipeline.export import ROOT, read_pack
from pipeline.fixtures import FixtureWriter, synthetic_images


def frame_times(frames: int) -> list:
    return [1.0 if i == frames - 1 else i / (frames - 1) for i in range(frames)]


def write_interpolation_fixtures(pack_dir: Path, out_dir: Path, seed: int = 0) -> dict:
    pack, weights = read_pack(pack_dir)
    rng = np.random.default_rng(seed)
    fx = FixtureWriter()
    size, levels = pack["imageSize"], pack["levels"]
    arch_sp, arch_lag = pack["models"]["sp"]["arch"], pack["models"]["lag"]["arch"]
    k = arch_sp["numClasses"]
    image = synthetic_images(1, size, seed)
    fx.add("image", image)
    feats = R.vgg_pyramid(weights["vgg"], pack["models"]["vgg"]["arch"], torch.from_numpy(image))
    for lv, f in zip(levels, feats):
        fx.add(f"feature.{lv['name']}", f.numpy())

    times = frame_times(5)
    sp_cases = []
    # Seeds at pool3 with one class; classes at fc8 with one z; both at once under a painted mask.
    for name, level, class_a, class_b, same_z, masked in (
        ("seeds-pool3", 2, 3, 3, False, False),
        ("classes-fc8", 6, 1, 7 % k, True, False),
        ("both-pool1-mask", 0, 2, 5 % k, False, True),
    ):
        za = rng.standard_normal(arch_sp["zDim"]).astype(np.float32)
        zb = za.copy() if same_z else rng.standard_normal(arch_sp["zDim"]).astype(np.float32)
        z = np.stack([R.slerp(za, zb, t) for t in times])
        y = np.stack([R.class_weights(class_a, class_b, t, k) for t in times])
        on = np.zeros((len(times), len(levels)), dtype=np.float32)
        on[:, level] = 1
        yy, xx = np.mgrid[0:size, 0:size] / size
        mask = np.ones((1, size, size, 1), dtype=np.float32)
        if masked:
            mask = (((yy - 0.5) ** 2 + (xx - 0.4) ** 2) < 0.1).astype(np.float32)[None, :, :, None]
        out = R.sp_generate(
            weights["sp"],
            arch_sp,
            levels,
            torch.from_numpy(z),
            torch.from_numpy(y),
            feats,
            torch.from_numpy(on),
            torch.from_numpy(mask),
        )
        sp_cases.append(
            dict(
                name=name,
                level=level,
                classA=class_a,
                classB=class_b,
                times=times,
                zA=fx.add(f"sp.{name}.zA", za),
                zB=fx.add(f"sp.{name}.zB", zb),
                z=fx.add(f"sp.{name}.z", z),
                mask=fx.add(f"sp.{name}.mask", mask),
                out=fx.add(f"sp.{name}.out", out.numpy()),
            )
        )

    lr_size, nc = arch_lag["lrSize"], arch_lag["noiseChannels"]
    lr = torch.nn.functional.avg_pool2d(torch.from_numpy(image).permute(0, 3, 1, 2), arch_lag["scale"])
    lr = lr.permute(0, 2, 3, 1).contiguous()
    na = rng.standard_normal((lr_size, lr_size, nc)).astype(np.float32)
    nb = rng.standard_normal((lr_size, lr_size, nc)).astype(np.float32)
    noise = np.stack([R.slerp(na, nb, t) for t in times])
    lag_out = R.lag_generate(weights["lag"], arch_lag, lr.repeat(len(times), 1, 1, 1), torch.from_numpy(noise), 0.75)
    lag_case = dict(
        name="noise",
        amplitude=0.75,
        times=times,
        lr=fx.add("lag.lr", lr.numpy()),
        noiseA=fx.add("lag.noiseA", na),
        noiseB=fx.add("lag.noiseB", nb),
        noise=fx.add("lag.noise", noise),
        out=fx.add("lag.out", lag_out.numpy()),
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    meta = dict(
        packDir=str(pack_dir.resolve().relative_to(ROOT)),
        digest=pack["digest"],
        tolerance=1e-4,
        note="computed by scripts/pipeline/interpolation_fixtures.py from the float16-rounded pack weights",
        tensors=fx.tensors,
        cases=dict(sp=sp_cases, lag=[lag_case]),
    )
    (out_dir / "interpolation.bin").write_bytes(np.concatenate(fx.chunks).astype("<f4").tobytes())
    (out_dir / "interpolation.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


if __name__ == "__main__":
    write_interpolation_fixtures(Path(sys.argv[1]), Path(sys.argv[2]))
