"""The tiny 64 px and 128 px test packs (tests/fixtures/make_fixtures.py): what the script makes is what is
committed, the packs are small, and their parity fixtures are what the reference forward computes."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
import make_fixtures as MF  # noqa: E402
from pipeline import export as E  # noqa: E402
from pipeline import reference as R  # noqa: E402
from pipeline.models import build_models  # noqa: E402


def read_fixture(pack_id: str):
    meta = json.loads((MF.FIXTURES / pack_id / "fixtures.json").read_text())
    blob = np.frombuffer((MF.FIXTURES / pack_id / "fixtures.bin").read_bytes(), dtype="<f4")

    def tensor(name):
        spec = meta["tensors"][name]
        return torch.from_numpy(blob[spec["offset"] :][: spec["length"]].reshape(spec["shape"]).copy())

    return meta, tensor


def sampled(out_nhwc: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
    return out_nhwc.reshape(-1, 3)[pixels.long()]


@pytest.mark.parametrize("pack_id,size", [("tiny64", 64), ("tiny128", 128)])
def test_committed_pack_is_what_the_script_makes_and_is_small(pack_id, size):
    pack, _ = E.read_pack(MF.FIXTURES / pack_id)  # schema, checksums, digest
    assert pack["id"] == pack_id and pack["imageSize"] == size
    assert [lv["size"] for lv in pack["levels"][:5]] == [size // 2**k for k in range(1, 6)]
    torch.manual_seed(0)
    models = build_models(MF.PACKS[pack_id][0]())
    E.randomize_for_tests(models, 0)
    assert E.pack_digest_of(E.export_all(models)) == pack["digest"], "rerun tests/fixtures/make_fixtures.py"
    assert {k: m["arch"] for k, m in pack["models"].items()} == json.loads(json.dumps(E.archs(models)))
    pack_bytes = sum(s["bytes"] for s in pack["shards"].values()) + (MF.FIXTURES / pack_id / "pack.json").stat().st_size
    assert pack_bytes < 300_000


@pytest.mark.parametrize("pack_id", ["tiny64", "tiny128"])
def test_fixtures_are_the_reference_forward_of_the_pack(pack_id):
    pack, weights = E.read_pack(MF.FIXTURES / pack_id)
    meta, tensor = read_fixture(pack_id)
    assert meta["digest"] == pack["digest"] and meta["packDir"] == f"tests/fixtures/{pack_id}"
    feats = R.vgg_pyramid(weights["vgg"], pack["models"]["vgg"]["arch"], tensor("image"))
    for lv, f in zip(pack["levels"], feats):
        np.testing.assert_allclose(f.numpy(), tensor(f"feature.{lv['name']}").numpy(), atol=1e-5)
    assert [c["name"] for c in meta["cases"]["sp"][:7]] == [
        f"level{i}-{lv['name']}" for i, lv in enumerate(pack["levels"])
    ]
    case = meta["cases"]["sp"][-1]
    out = R.sp_generate(
        weights["sp"],
        pack["models"]["sp"]["arch"],
        pack["levels"],
        tensor(case["z"]),
        tensor(case["y"]),
        [f[case["rows"]] for f in feats],
        tensor(case["on"]),
        tensor(case["mask"]),
    )
    np.testing.assert_allclose(sampled(out, tensor(case["pixels"])).numpy(), tensor(case["out"]).numpy(), atol=1e-5)
    case = meta["cases"]["lag"][-1]
    out = R.lag_generate(
        weights["lag"], pack["models"]["lag"]["arch"], tensor(case["lr"]), tensor(case["noise"]), case["amplitude"]
    )
    np.testing.assert_allclose(sampled(out, tensor(case["pixels"])).numpy(), tensor(case["out"]).numpy(), atol=1e-5)


def test_sampled_pixels_cover_borders_centre_lines_and_every_phase():
    pixels = MF.sample_pixels(2, 64, np.random.default_rng(0))
    assert len(set(pixels.tolist())) == len(pixels) and pixels.max() < 2 * 64 * 64
    rows, cols = (pixels % 4096) // 64, pixels % 64
    for line in (0, 31, 32, 63):
        assert (cols[rows == line].size == 2 * 64) and (rows[cols == line].size == 2 * 64)
    for k in range(1, 6):  # every row and column phase of every upsampling by 2^k appears
        assert set(((rows >> (k - 1)) & 1).tolist()) == {0, 1} and set(((cols >> (k - 1)) & 1).tolist()) == {0, 1}
