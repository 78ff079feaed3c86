"""Tests of the PyTorch side (scripts/): models, masks, a training step, export, reload, schema, checksums.

Tiny configurations on the CPU, on images made in the tests; the whole file runs in well under two minutes.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import export as export_script  # noqa: E402
import train as train_script  # noqa: E402
from pipeline import export as E  # noqa: E402
from pipeline import reference as R  # noqa: E402
from pipeline.levels import level_table  # noqa: E402
from pipeline.models import build_models  # noqa: E402
from pipeline.models.lag import downscale  # noqa: E402
from pipeline.train import augment as A  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic_data import image_folder  # noqa: E402

# The smoke options of a 32 px run with their batches spelled out (the other options follow the tiny recipe).
SMALL_RUN = ["--batch-cls", "16", "--batch-sp", "8", "--batch-lag", "8", "--standing-batches", "1", "--threads", "2"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return image_folder(tmp_path_factory.mktemp("data") / "shapes", per_class=12, size=40)


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    models = build_models("tiny")
    E.randomize_for_tests(models, seed=1)
    for m in models.values():
        m.eval()
    return models


def nchw(x):
    return x.permute(0, 3, 1, 2)


def nhwc(x):
    return x.permute(0, 2, 3, 1)


def test_pyramid_levels_have_the_documented_shapes(tiny):
    feats = tiny["vgg"].pyramid(torch.randn(2, 3, 32, 32))
    table = level_table(32, [4, 8, 8, 8, 8], 16, 10)
    assert [t["stride"] for t in table] == [2, 4, 8, 16, 32, None, None]
    for f, t in zip(feats, table):
        expected = (2, t["channels"], t["size"], t["size"]) if t["size"] else (2, t["channels"])
        assert tuple(f.shape) == expected


def test_level_mask_selects_one_level_and_pools_the_painted_region(tiny):
    sp = tiny["sp"]
    on = F.one_hot(torch.tensor([1, 6]), 7).float()
    mask = torch.zeros(2, 1, 32, 32)
    mask[:, :, :16, :] = 1  # top half painted
    m_pool2 = sp.level_mask(1, on, mask)
    assert m_pool2.shape == (2, 1, 8, 8)
    assert torch.all(m_pool2[0, :, :4] == 1) and torch.all(m_pool2[0, :, 4:] == 0)
    assert torch.all(m_pool2[1] == 0), "level off for the second sample"
    assert sp.level_mask(6, on, mask).view(-1).tolist() == [0.0, 1.0]


def test_generator_ignores_features_of_levels_that_are_off(tiny):
    sp, vgg = tiny["sp"], tiny["vgg"]
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    feats = vgg.pyramid(x)
    other = vgg.pyramid(torch.rand(2, 3, 32, 32) * 2 - 1)
    z, y = torch.randn(2, sp.z_dim), torch.tensor([1, 2])
    on = F.one_hot(torch.tensor([2, 2]), 7).float()
    mixed = [feats[i] if i == 2 else other[i] for i in range(7)]
    ones = torch.ones(2, 1, 32, 32)
    assert torch.allclose(sp(z, y, feats, on, ones), sp(z, y, mixed, on, ones))
    assert not torch.allclose(sp(z, y, feats, on, ones), sp(z, y, other, on, ones))


def test_lag_noise_zero_is_deterministic_and_consistent_with_the_input(tiny):
    lag = tiny["lag"]
    lr = torch.rand(3, 3, 8, 8) * 1.6 - 0.8
    a = lag(lr, torch.randn(3, lag.noise_channels, 8, 8), 0.0)
    b = lag(lr, torch.randn(3, lag.noise_channels, 8, 8), 0.0)
    assert torch.equal(a, b)
    c = lag(lr, torch.randn(3, lag.noise_channels, 8, 8), 1.0)
    assert not torch.equal(a, c)
    assert (downscale(c, 4) - lr).abs().max() < 1e-5  # back-projection (no clipping in this range)


def test_reference_forward_of_exported_weights_matches_the_training_modules(tiny):
    """docs/pack-format.md (as reference.py implements it) describes exactly what the modules compute."""
    weights = E.export_all(tiny)
    vgg, sp, lag = tiny["vgg"], tiny["sp"], tiny["lag"]
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    ref_feats = R.vgg_pyramid(weights["vgg"], vgg.arch, nhwc(x))
    with torch.no_grad():
        feats = vgg.pyramid(x)
    for a, b in zip(feats, ref_feats):
        a = nhwc(a) if a.dim() == 4 else a
        assert torch.allclose(a, b, atol=1e-5), (a - b).abs().max()
    levels = level_table(32, vgg.arch["widths"], vgg.arch["fcWidth"], 10)
    z, y = torch.randn(3, sp.z_dim), torch.tensor([0, 4, 9])
    on = F.one_hot(torch.tensor([0, 3, 5]), 7).float()
    mask = (torch.rand(3, 1, 32, 32) > 0.5).float()
    with torch.no_grad():
        expected = sp(z, y, feats, on, mask)
    got = R.sp_generate(weights["sp"], sp.arch, levels, z, y, ref_feats, on, nhwc(mask))
    assert torch.allclose(nhwc(expected), got, atol=1e-5), (nhwc(expected) - got).abs().max()
    lr = downscale(x, 4)
    noise = torch.randn(3, lag.noise_channels, 8, 8)
    with torch.no_grad():
        expected = lag(lr, noise, 0.7)
    got = R.lag_generate(weights["lag"], lag.arch, nhwc(lr), nhwc(noise), 0.7)
    assert torch.allclose(nhwc(expected), got, atol=1e-5)


def test_export_then_reload_gives_the_float16_rounded_weights(tiny, tmp_path):
    weights = E.export_all(tiny)
    pack = E.write_pack(tmp_path / "p", "p", "test", True, tiny, weights, provenance={"device": "cpu"})
    loaded_pack, loaded = E.read_pack(tmp_path / "p")
    assert loaded_pack["digest"] == pack["digest"]
    for key in E.MODEL_KEYS:
        assert list(loaded[key]) == list(weights[key]), "names and order survive"
        for name, w in weights[key].items():
            np.testing.assert_array_equal(loaded[key][name], w.astype(np.float16).astype(np.float32))
            np.testing.assert_allclose(loaded[key][name], w, rtol=1e-3, atol=1e-4)
    # Every name is the module path the TS engine uses, with the model prefix.
    assert "vgg.conv1_1.kernel" in weights["vgg"] and "sp.block1.bn1.scale" in weights["sp"]
    assert weights["vgg"]["vgg.conv1_1.kernel"].shape == (3, 3, 3, 4)  # HWIO


def test_shards_are_at_most_4_mb_and_checksums_are_enforced(tiny, tmp_path):
    """The real shard size (no patching): 9.4 MB of float16 weights become 4 MiB + 4 MiB + the rest, 4 MiB being the
    schema's per-shard cap the app enforces too; the shards join back to the exact bytes. A flipped byte is refused."""
    schema = json.loads(E.SCHEMA_PATH.read_text())
    cap = schema["properties"]["shards"]["additionalProperties"]["properties"]["bytes"]["maximum"]
    assert E.SHARD_BYTES == cap == 4 * 1024 * 1024
    values = (np.arange(4_700_000, dtype=np.float32) % 251) / 251
    files, group = E._shard_model("sp", {"sp.big.kernel": values})
    sizes = [len(data) for _, data in files]
    assert sizes == [cap, cap, values.size * 2 - 2 * cap]
    assert group["paths"] == ["sp.shard1of3.bin", "sp.shard2of3.bin", "sp.shard3of3.bin"]
    assert b"".join(data for _, data in files) == values.astype("<f2").tobytes()

    pack = E.write_pack(tmp_path / "p", "p", "test", True, tiny, E.export_all(tiny), provenance={})
    shard = next(iter(pack["shards"]))
    data = bytearray((tmp_path / "p" / shard).read_bytes())
    data[10] ^= 0xFF
    (tmp_path / "p" / shard).write_bytes(bytes(data))
    with pytest.raises(ValueError, match="checksum"):
        E.read_pack(tmp_path / "p")


def test_manifest_validates_against_the_schema_and_bad_ones_do_not(tiny, tmp_path):
    import jsonschema

    E.write_pack(tmp_path / "p", "p", "test", True, tiny, E.export_all(tiny), provenance={})
    pack = json.loads((tmp_path / "p" / "pack.json").read_text())
    E.validate_pack_json(pack)
    for broken in (
        {**pack, "formatVersion": 2},
        {**pack, "digest": "xyz"},
        {k: v for k, v in pack.items() if k != "levels"},
    ):
        with pytest.raises(jsonschema.ValidationError):
            E.validate_pack_json(broken)


# The 64 and 128 px fixtures store sampled outputs; tests/python/test_fixture_sizes.py checks them.
@pytest.mark.parametrize("pack_dir", ["tests/fixtures/tiny", "models/cifar10"])
def test_committed_packs_and_fixtures_are_consistent(pack_dir):
    """The committed packs validate, their shards match their checksums, and the fixtures belong to them."""
    path = ROOT / pack_dir
    if not (path / "pack.json").exists():
        pytest.fail(f"{pack_dir} is missing")
    pack, weights = E.read_pack(path)
    fixture_dir = ROOT / "tests" / "fixtures" / pack["id"]
    meta = json.loads((fixture_dir / "fixtures.json").read_text())
    assert meta["digest"] == pack["digest"], "fixtures were made from another version of the pack"
    blob = np.frombuffer((fixture_dir / "fixtures.bin").read_bytes(), dtype="<f4")

    def tensor(name):
        spec = meta["tensors"][name]
        return blob[spec["offset"] :][: spec["length"]].reshape(spec["shape"])

    feats = R.vgg_pyramid(weights["vgg"], pack["models"]["vgg"]["arch"], torch.from_numpy(tensor("image").copy()))
    np.testing.assert_allclose(feats[0].numpy(), tensor("feature.pool1"), atol=1e-5)
    case = meta["cases"]["lag"][-1]
    out = R.lag_generate(
        weights["lag"],
        pack["models"]["lag"]["arch"],
        torch.from_numpy(tensor(case["lr"]).copy()),
        torch.from_numpy(tensor(case["noise"]).copy()),
        case["amplitude"],
    )
    np.testing.assert_allclose(out.numpy(), tensor(case["out"]), atol=1e-5)


def test_training_steps_of_every_stage_give_finite_losses_and_export(tmp_path, folder):
    out = tmp_path / "run"
    prov = train_script.main(
        ["--data", str(folder), "--config", "tiny", "--out", str(out), "--data-cache", str(tmp_path / "cache")]
        + SMALL_RUN
        + ["--steps-cls", "4", "--steps-sp", "4", "--steps-lag", "4", "--log-every", "2"]
    )
    assert set(prov["stages"]) == {"cls", "sp", "lag"}
    assert all("failed" not in s for s in prov["stages"].values()), prov["stages"]
    assert prov["data"]["classes"] == 3 and prov["data"]["kind"] == "image-folder" and prov["imageSize"] == 32
    records = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    losses = [v for r in records if "stage" in r and "step" in r for k, v in r.items() if k.startswith("loss")]
    assert losses and all(np.isfinite(losses))
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")], "nothing half-written"
    export_script.main(
        ["--run", str(out), "--pack-dir", str(tmp_path / "pack"), "--fixtures", str(tmp_path / "fx"), "--no-index"]
    )
    meta = json.loads((tmp_path / "fx" / "fixtures.json").read_text())
    assert meta["packId"] == "pack" and len(meta["cases"]["sp"]) == 8 and len(meta["cases"]["lag"]) == 3
    pack = json.loads((tmp_path / "pack" / "pack.json").read_text())
    assert pack["classNames"] == ["circle", "square", "star"] and pack["models"]["sp"]["arch"]["numClasses"] == 3


def test_training_resumes_from_its_checkpoint(tmp_path, folder):
    common = ["--data", str(folder), "--config", "tiny", "--out", str(tmp_path), "--data-cache", "none"]
    common += SMALL_RUN + ["--steps-sp", "2", "--steps-lag", "2"]
    train_script.main(common + ["--stages", "cls", "--steps-cls", "3"])
    prov = train_script.main(common + ["--resume", "--steps-cls", "3"])
    assert prov["stages"]["cls"]["steps"] == 3, "the finished classifier stage is not run again"
    assert prov["stages"]["sp"]["steps"] == 2 and prov["stages"]["lag"]["steps"] == 2


def test_a_run_stopped_mid_stage_continues_there(tmp_path, folder):
    common = ["--data", str(folder), "--size", "32", "--smoke", "--out", str(tmp_path), "--data-cache", "none"]
    common += ["--threads", "2", "--steps-sp", "4"]
    assert train_script.main(common + ["--stop-after", "sp:2"]) is None
    assert not (tmp_path / "provenance.json").exists() and (tmp_path / "checkpoint.pt").exists()
    log = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert log[-1]["event"] == "stopped" and log[-1]["at"] == "sp:2"
    prov = train_script.main(common + ["--resume"])
    assert prov["stages"]["sp"]["steps"] == 4 and prov["stages"]["cls"]["steps"] == 4
    sp_steps = [
        r["step"]
        for r in (json.loads(x) for x in (tmp_path / "train_log.jsonl").read_text().splitlines())
        if r.get("stage") == "sp" and "step" in r
    ]
    assert sp_steps == [2, 4], "the second run starts at step 3"


def test_checkpoints_are_written_whole_or_not_at_all(tmp_path, monkeypatch):
    from pipeline.train.common import atomic_write

    target = tmp_path / "checkpoint.pt"
    atomic_write(target, lambda f: f.write(b"old"))

    def broken(f):
        f.write(b"half")
        raise KeyboardInterrupt  # a run stopped while writing

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, broken)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_blob_masks_are_binary_blobs_of_reasonable_size():
    m = A.blob_masks(64, 32, torch.device("cpu"))
    assert m.shape == (64, 1, 32, 32) and set(m.unique().tolist()) <= {0.0, 1.0}
    coverage = m.mean(dim=(1, 2, 3))
    assert (coverage > 0.02).float().mean() > 0.9 and coverage.max() < 1.0


def test_augment_keeps_range_and_shape():
    x = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8)
    a = A.augment(x, crop=True)
    assert a.shape == (6, 3, 32, 32) and a.min() >= -1 and a.max() <= 1


def test_mixed_quantization_stores_uint8_where_allowed_and_reads_back_within_half_a_step(tiny, tmp_path):
    weights = E.export_all(tiny)
    pack = E.write_pack(tmp_path / "p", "p", "test", True, tiny, weights, provenance={}, quantize="mixed")
    specs = {
        w["name"]: w["quantization"]
        for m in pack["models"].values()
        for g in m["weightsManifest"]
        for w in g["weights"]
    }
    assert specs["vgg.conv1_1.kernel"]["dtype"] == "float16" and specs["lag.stem.kernel"]["dtype"] == "float16"
    assert specs["vgg.conv3_1.kernel"]["dtype"] == "uint8" and specs["sp.block1.conv1.kernel"]["dtype"] == "uint8"
    _, loaded = E.read_pack(tmp_path / "p")
    for key in E.MODEL_KEYS:
        for name, w in weights[key].items():
            q = specs[name]
            step = q["scale"] if q["dtype"] == "uint8" else 0
            tol = step / 2 + 1e-6 if step else 1e-3 * np.abs(w).max() + 1e-6
            assert np.abs(loaded[key][name] - w).max() <= tol, name
    float16_bytes = sum(
        s["bytes"] for s in E.write_pack(tmp_path / "f", "f", "t", True, tiny, weights, {})["shards"].values()
    )
    assert sum(s["bytes"] for s in pack["shards"].values()) < float16_bytes


def test_gpu_session_script_runs_its_commands_on_the_cpu(tmp_path, folder):
    """scripts/gpu_session.sh with SMOKE=1: the same commands as on a GPU, on the CPU with the tiny configuration.
    `check` writes checks.txt (its CUDA tests run on a GPU and skip without one); `train` leaves the 8 training
    outputs, 9 files in all."""
    env = dict(os.environ, SMOKE="1", OUT=str(tmp_path / "out"), PYTHON=sys.executable, DATA=str(folder))
    for phase in ("check", "train"):
        run = subprocess.run(
            ["bash", str(ROOT / "scripts" / "gpu_session.sh"), phase],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    checks = (tmp_path / "out" / "checks.txt").read_text()
    assert checks.count("exit 0") == 2 and "eager" in checks
    cuda_tests = checks.split("== scripts/profile_train_step.py")[0]
    assert "failed" not in cuda_tests and "error" not in cuda_tests.lower()
    # With a GPU the CUDA tests must have run; without one they must say they were skipped (never silently absent).
    assert ("passed" if torch.cuda.is_available() else "skipped") in cuda_tests
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        [
            "checks.txt",
            "config.json",
            "vgg.npz",
            "sp.npz",
            "lag.npz",
            "provenance.json",
            "train_log.jsonl",
            "samples_sp.png",
            "samples_lag.png",
        ]
    )
    prov = json.loads((tmp_path / "out" / "provenance.json").read_text())
    assert all("failed" not in s and s["cudaGraph"] is False for s in prov["stages"].values())
