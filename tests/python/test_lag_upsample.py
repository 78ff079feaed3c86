"""LAG's `upsample` arch field: "nearest" (the default, also for packs without the field) and "bilinear"."""
from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from pipeline import export as E  # noqa: E402
from pipeline import reference as R  # noqa: E402
from pipeline.config import LagConfig, named  # noqa: E402
from pipeline.fixtures import synthetic_images  # noqa: E402
from pipeline.models.lag import LAGGenerator  # noqa: E402


def tiny_lag(upsample: str, seed: int = 1) -> LAGGenerator:
    torch.manual_seed(0)
    cfg = named("tiny").lag
    g = LAGGenerator(dataclasses.replace(cfg, upsample=upsample))
    E.randomize_for_tests(dict(lag=g), seed)
    return g.eval()


def low_res(n: int = 4) -> torch.Tensor:
    return F.avg_pool2d(torch.from_numpy(synthetic_images(n, 32, 0)).permute(0, 3, 1, 2), 4)


def nhwc(x):
    return x.permute(0, 2, 3, 1)


def test_a_config_without_the_field_is_nearest_and_the_arch_names_it():
    g = LAGGenerator(named("tiny").lag)
    assert g.upsample == "nearest" and g.arch["upsample"] == "nearest"
    with pytest.raises(ValueError, match="upsample must be one of"):
        LAGGenerator(LagConfig(upsample="bicubic"))


@pytest.mark.parametrize("upsample", ["nearest", "bilinear"])
def test_reference_forward_of_exported_weights_matches_the_module(upsample):
    g = tiny_lag(upsample)
    lr, noise = low_res(), torch.randn(4, g.noise_channels, 8, 8)
    with torch.no_grad():
        expected = g(lr, noise, 0.7)
    got = R.lag_generate(E.export_module("lag", g), g.arch, nhwc(lr), nhwc(noise), 0.7)
    assert torch.allclose(nhwc(expected), got, atol=1e-5)


def test_reference_reads_an_arch_without_the_field_as_nearest():
    g = tiny_lag("nearest")
    w = E.export_module("lag", g)
    arch = {k: v for k, v in g.arch.items() if k != "upsample"}
    lr, noise = nhwc(low_res()), torch.randn(4, 8, 8, g.noise_channels)
    assert torch.equal(R.lag_generate(w, arch, lr, noise, 1.0), R.lag_generate(w, g.arch, lr, noise, 1.0))


def test_bilinear_is_half_pixel_with_edges_repeated():
    """The upsampling docs/pack-format.md states and TF.js's resizeBilinear(halfPixelCenters=true) computes:
    each output pixel 3/4 of its own source pixel and 1/4 of the nearer neighbour, the edge pixel repeated."""
    x = torch.randn(1, 1, 1, 5)
    padded = torch.cat([x[..., :1], x, x[..., -1:]], dim=-1)
    even = 0.75 * padded[..., 1:-1] + 0.25 * padded[..., :-2]
    odd = 0.75 * padded[..., 1:-1] + 0.25 * padded[..., 2:]
    expected = torch.stack([even, odd], dim=-1).flatten(-2)
    got = R.up_image(x.expand(1, 1, 2, 5), 2, "bilinear")[:, :, 0]
    assert torch.allclose(got, expected, atol=1e-6)


def grid_ratio(x: torch.Tensor, scale: int) -> float:
    """Mean absolute step between neighbouring columns across `scale`-pixel block edges over the same inside them."""
    step = (x[..., 1:] - x[..., :-1]).abs().mean(dim=(0, 1, 2))
    edges = torch.arange(1, x.shape[-1]) % scale == 0
    return (step[edges].mean() / step[~edges].mean()).item()


def test_without_learned_residuals_nearest_shows_the_block_grid_and_bilinear_does_not():
    lr = low_res()
    for upsample, low, high in (("nearest", 5.0, float("inf")), ("bilinear", 0.5, 1.5)):
        g = tiny_lag(upsample)
        with torch.no_grad():
            for m in g.modules():
                if isinstance(m, torch.nn.Conv2d) and m.out_channels == 3:
                    m.weight.zero_(), m.bias.zero_()
            out = g(lr, torch.randn(4, g.noise_channels, 8, 8), 1.0)
        assert low < grid_ratio(out, 4) <= high, (upsample, grid_ratio(out, 4))  # nearest: no step inside a block


def test_back_projection_is_exact_for_nearest_and_close_for_bilinear():
    """Nearest: the output average-pooled is the input (up to clipping). Bilinear: avgpool(bilinear_up(r)) is not r,
    so one back-projection leaves part of the residual r; on these smooth images and the random tiny generator's
    rough residuals it removes about 4/5 of the low-res error (measured: mean 0.091 -> 0.019, max 0.34 -> 0.14)."""
    lr = low_res()
    errors = {}
    for upsample in ("nearest", "bilinear"):
        g = tiny_lag(upsample)
        noise = torch.randn(4, g.noise_channels, 8, 8)
        with torch.no_grad():
            out, raw = g(lr, noise, 1.0), g(lr, noise, 1.0, project=False)
        errors[upsample] = [(F.avg_pool2d(t, 4) - lr).abs() for t in (out, raw)]
    after, before = errors["nearest"]
    assert after.mean() < 1e-4 and after.max() < 1e-2  # exact but where clipping to [-1, 1] moved a pixel
    after, before = errors["bilinear"]
    assert after.mean() < 0.3 * before.mean() and after.mean() < 0.03 and after.max() < 0.2


def test_the_bilinear_fixture_pack_would_catch_an_engine_that_upsampled_by_nearest():
    pack, weights = E.read_pack(ROOT / "tests" / "fixtures" / "tiny128")
    arch = pack["models"]["lag"]["arch"]
    assert arch["upsample"] == "bilinear" and arch["consistency"] and arch["scale"] == 8
    meta = json.loads((ROOT / "tests" / "fixtures" / "tiny128" / "fixtures.json").read_text())
    blob = np.frombuffer((ROOT / "tests" / "fixtures" / "tiny128" / "fixtures.bin").read_bytes(), dtype="<f4")

    def tensor(name):
        spec = meta["tensors"][name]
        return torch.from_numpy(blob[spec["offset"] :][: spec["length"]].reshape(spec["shape"]).copy())

    case = meta["cases"]["lag"][0]
    nearest = R.lag_generate(
        weights["lag"], dict(arch, upsample="nearest"), tensor(case["lr"]), tensor(case["noise"]), 0
    )
    sampled = nearest.reshape(-1, 3)[tensor(case["pixels"]).long()]
    assert (sampled - tensor(case["out"])).abs().max() > 100 * meta["tolerance"]
