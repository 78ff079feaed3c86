"""Class blending and slerp in pipeline/reference.py: a one-hot class row is the class index, a blended row is the
linear mix of the class-conditional batch norms, and slerp keeps its endpoints and the noise's norm."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from pipeline import reference as R  # noqa: E402


def _tables(classes: int = 5, channels: int = 4):
    rng = np.random.default_rng(3)
    return {
        "bn.scale": rng.standard_normal((classes, channels)).astype(np.float32),
        "bn.shift": rng.standard_normal((classes, channels)).astype(np.float32),
    }


def test_one_hot_weights_equal_the_class_index():
    w = _tables()
    x = torch.randn(3, 4, 2, 2)
    y = torch.tensor([0, 4, 2])
    one_hot = torch.nn.functional.one_hot(y, 5).float()
    assert torch.equal(R.ccbn(x, y, w, "bn"), R.ccbn(x, one_hot, w, "bn"))


def test_blended_weights_mix_the_two_classes_rows():
    w = _tables()
    x = torch.randn(1, 4, 2, 2)
    blended = torch.from_numpy(R.class_weights(1, 3, 0.25, 5))[None]
    scale = 0.75 * w["bn.scale"][1] + 0.25 * w["bn.scale"][3]
    shift = 0.75 * w["bn.shift"][1] + 0.25 * w["bn.shift"][3]
    expected = x * torch.from_numpy(scale)[None, :, None, None] + torch.from_numpy(shift)[None, :, None, None]
    assert torch.allclose(R.ccbn(x, blended, w, "bn"), expected, atol=1e-6)
    # The other classes take no part.
    other = R.ccbn(x, torch.from_numpy(R.class_weights(1, 2, 0.25, 5))[None], w, "bn")
    assert not torch.allclose(other, expected, atol=1e-3)


def test_slerp_keeps_the_endpoints_and_the_norm_of_orthogonal_noise():
    a = np.zeros(64, dtype=np.float32)
    b = np.zeros(64, dtype=np.float32)
    a[0], b[1] = 3, 3
    assert np.array_equal(R.slerp(a, b, 0), a) and np.array_equal(R.slerp(a, b, 1), b)
    middle = R.slerp(a, b, 0.5)
    assert abs(np.linalg.norm(middle) - 3) < 1e-5  # lerp would give 3 / sqrt(2)
    assert abs(middle[0] - middle[1]) < 1e-6
    # Parallel vectors fall back to the linear blend.
    assert np.allclose(R.slerp(a, 2 * a, 0.5), 1.5 * a)
