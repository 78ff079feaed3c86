"""scripts/bench_size_packs.py: the image-size experiment's random-weight packs are made when missing, reused when
their archs match the configuration, and made again when they do not (or a shard is gone)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import bench_size_packs as B  # noqa: E402


def test_packs_are_made_reused_and_remade_when_stale(tmp_path):
    first = B.ensure_pack(tmp_path, "cifar10")
    assert first == {
        "config": "cifar10",
        "imageSize": 32,
        "proposal": False,
        "packDir": str(tmp_path / "cifar10"),
        "created": True,
    }
    pack_json = tmp_path / "cifar10" / "pack.json"
    pack = json.loads(pack_json.read_text())
    assert pack["imageSize"] == 32
    assert pack["models"]["sp"]["arch"] == B.wanted_archs("cifar10")["sp"]
    assert B.ensure_pack(tmp_path, "cifar10")["created"] is False

    pack["models"]["sp"]["arch"]["channels"] = [8, 8, 8, 8]
    pack_json.write_text(json.dumps(pack))
    assert not B.pack_is_current(tmp_path / "cifar10", "cifar10")
    assert B.ensure_pack(tmp_path, "cifar10")["created"] is True

    next(iter((tmp_path / "cifar10").glob("*.bin"))).unlink()
    assert not B.pack_is_current(tmp_path / "cifar10", "cifar10")
    assert B.ensure_pack(tmp_path, "cifar10")["created"] is True
    assert B.pack_is_current(tmp_path / "cifar10", "cifar10")


def test_archs_follow_the_configurations():
    archs = {size: B.wanted_archs(B.BY_SIZE[(size, False)]) for size in B.SIZES}
    assert [a["vgg"]["imageSize"] for a in archs.values()] == [32, 64, 128]
    assert archs[64]["sp"]["channels"] == [256, 256, 128, 64, 32]


def test_each_size_default_comes_first_then_the_proposals_at_that_size():
    assert B.configs_for([32, 64, 128]) == ["cifar10", "px64", "px64lite", "px128"]
    assert B.configs_for([32, 128]) == ["cifar10", "px128"]
    lite = B.wanted_archs("px64lite")
    assert lite["sp"]["channels"] == [256, 192, 96, 48, 24]
    # Only the generator's widths differ from px64.
    px64 = B.wanted_archs("px64")
    assert {key: arch for key, arch in lite.items() if key != "sp"} == {
        key: arch for key, arch in px64.items() if key != "sp"
    }
    assert {k: v for k, v in lite["sp"].items() if k != "channels"} == {
        k: v for k, v in px64["sp"].items() if k != "channels"
    }
