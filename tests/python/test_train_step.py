"""The training step's operator counts (scripts/profile_train_step.py --count-ops) and the equivalence of the
reduced-dispatch step with the plain per-parameter computation it replaced. Tiny configurations on the CPU."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import models as M  # noqa: E402
import profile_train_step as P  # noqa: E402
import train_pack as T  # noqa: E402


@pytest.fixture(scope="module")
def tiny_counts():
    return P.count_ops(torch.device("cpu"), "tiny", batch=4, steps=1, amp=True, channels_last=True)


def test_op_counter_splits_every_stage_by_phase_and_part(tiny_counts):
    assert set(tiny_counts) == {"cls", "sp", "lag"}
    sp = tiny_counts["sp"]
    assert set(sp["phases"]) >= {"data", "d_step", "g_step", "ema"}
    for phase in ("d_step", "g_step"):
        parts = sp["phases"][phase]
        assert parts["forward"] > 0 and parts["backward"] > 0 and parts["optimizer"] > 0 and parts["spectral_norm"] > 0
    assert "spectral_norm" not in tiny_counts["lag"]["phases"]["d_step"], "LAG has no spectral norm"
    assert sum(sum(p.values()) for p in sp["phases"].values()) == sp["total"]
    assert 0 < sp["kernels"] < sp["total"], "views are told apart from kernels"
    assert sp["ops"]["aten.convolution.default"] > 0 and sp["ops"]["aten.convolution_backward.default"] > 0
