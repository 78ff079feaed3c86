"""Data-parallel training with torchrun: two processes on the CPU (gloo), smoke configurations, images made here.

The issue's "done when": `torchrun --nproc_per_node=2 scripts/train.py --data FOLDER --size 64 --smoke`, then
`scripts/export.py --run`, gives a 64 px pack that validates against docs/pack.schema.json; the same at 128 px.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline import export as E  # noqa: E402
from synthetic_data import image_folder  # noqa: E402

pytestmark = pytest.mark.skipif(
    not __import__("torch").distributed.is_available(), reason="this torch build has no torch.distributed"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(args, timeout=600) -> subprocess.CompletedProcess:
    """scripts/train.py under torchrun with two processes of one thread each (the machine's two cores)."""
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        # torch 1.13's launcher reads its default "--redirects 0 --tee 0" as None under Python 3.11, whose enum no
        # longer lists the zero flag (AttributeError in to_map); explicit non-zero values avoid that path.
        "--redirects=1",
        "--tee=1",
        "--master_addr=127.0.0.1",
        f"--master_port={free_port()}",
        str(ROOT / "scripts" / "train.py"),
        "--device",
        "cpu",
        "--threads",
        "1",
        "--data-cache",
        "none",
        "--data-workers",
        "1",
        *args,
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run


def log_records(run_dir: Path):
    return [json.loads(line) for line in (run_dir / "train_log.jsonl").read_text().splitlines()]


def export_and_validate(run_dir: Path, pack_dir: Path, size: int) -> dict:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "export.py"), "--run", str(run_dir), "--pack-dir", str(pack_dir)]
        + ["--title", f"smoke {size} px", "--no-index"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    pack, weights = E.read_pack(pack_dir)  # validates the schema, checksums and the manifest
    assert pack["imageSize"] == size and pack["levels"][4]["size"] == size // 32
    assert pack["models"]["lag"]["arch"]["lrSize"] * pack["models"]["lag"]["arch"]["scale"] == size
    return pack


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return image_folder(tmp_path_factory.mktemp("data") / "shapes", per_class=10, size=72)


def test_two_ranks_keep_identical_weights_resume_and_export_a_64_px_pack(tmp_path, folder):
    run = tmp_path / "run"
    common = ["--data", str(folder), "--size", "64", "--smoke", "--out", str(run), "--steps-sp", "4"]
    torchrun(common + ["--stop-after", "sp:2"])
    records = log_records(run)
    assert records[-1]["event"] == "stopped" and records[-1]["at"] == "sp:2"
    assert any(r.get("event") == "distributed" and r["world_size"] == 2 for r in records)
    assert not (run / "provenance.json").exists()

    torchrun(common + ["--resume", "--rank-digests", str(tmp_path / "digests")])
    digests = [json.loads((tmp_path / "digests" / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert set(digests[0]) == {"vgg", "sp", "sp_d", "sp_ema", "lag", "lag_d"}
    assert digests[0] == digests[1], "the ranks hold different weights"
    records = log_records(run)
    assert [r["step"] for r in records if r.get("stage") == "sp" and "step" in r] == [2, 4], "resumed at step 3"
    losses = [v for r in records if "step" in r for k, v in r.items() if k.startswith(("loss", "adv"))]
    assert losses and np.all(np.isfinite(losses))
    prov = json.loads((run / "provenance.json").read_text())
    assert prov["worldSize"] == 2 and prov["stages"]["sp"]["batch"] == 8 and prov["data"]["classes"] == 3
    assert all("failed" not in s for s in prov["stages"].values()), prov["stages"]
    assert not [p.name for p in run.iterdir() if p.name.endswith(".tmp")]
    pack = export_and_validate(run, tmp_path / "pack64", 64)
    assert pack["classNames"] == ["circle", "square", "star"]


def test_two_ranks_export_a_128_px_pack(tmp_path, folder):
    run = tmp_path / "run"
    torchrun(["--data", str(folder), "--size", "128", "--smoke", "--out", str(run)])
    export_and_validate(run, tmp_path / "pack128", 128)
