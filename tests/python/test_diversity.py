"""SP's mode-seeking diversity term (pipeline/train/sp.py: mode_seeking_loss) and its place in the generator step.
Tiny configurations on the CPU."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline.train import sp as S  # noqa: E402
from test_train_step import _tiny  # noqa: E402


def _pair_features(distance: float, pairs: int = 3):
    """Fake features [2 * pairs] whose two halves differ by `distance` (relative to the real features' mean
    magnitude 1) at every spatial level, and real features of magnitude 1."""
    torch.manual_seed(3)
    shapes = [(4, 8, 8), (4, 4, 4), (4, 2, 2), (4, 1, 1), (4, 1, 1)]
    first = [torch.randn(pairs, *s) for s in shapes]
    fake = [torch.cat([f, f + distance]).requires_grad_(True) for f in first]
    real = [torch.ones(2 * pairs, *s) for s in shapes] + [torch.ones(2 * pairs, 4), torch.ones(2 * pairs, 3)]
    return fake + [torch.zeros(2 * pairs, 4), torch.zeros(2 * pairs, 3)], real


def test_mode_seeking_term_is_msgans_ratio_in_feature_space():
    fake, real = _pair_features(0.5)
    z = torch.cat([torch.zeros(3, 8), torch.full((3, 8), 2.0)])  # |z1 - z2| = 2
    weight = torch.tensor([1.0, 0.5, 0.0])
    loss, ratio = S.mode_seeking_loss(fake, real, z, weight)
    # Every pair is 0.5 apart in every level (normalised by magnitude 1): the ratio is 0.5 / 2 for each.
    assert torch.allclose(ratio, torch.tensor(0.25)) and torch.allclose(loss, 1 / (torch.tensor(0.25) + 1e-5))


@pytest.mark.parametrize("distance", [0.05, 0.5, 2.0])
def test_mode_seeking_term_pulls_the_pair_apart_at_any_distance(distance):
    """The clamped pixel term gave no gradient past its cap (0.2): this one pushes the two samples apart wherever
    they are, and less the farther apart they are."""
    fake, real = _pair_features(distance)
    z = torch.randn(6, 8)
    loss, _ = S.mode_seeking_loss(fake, real, z, torch.ones(3))
    loss.backward()
    g0, g1 = fake[0].grad[:3], fake[0].grad[3:]
    # A gradient step (-grad) moves the second sample away from the first: the difference grows.
    assert (g1 < 0).all() and (g0 > 0).all(), "descending the loss increases the distance"


def test_mode_seeking_term_leaves_zero_weight_levels_alone():
    fake, real = _pair_features(0.3)
    loss, _ = S.mode_seeking_loss(fake, real, torch.randn(6, 8), torch.tensor([0.0, 1.0, 0.0]))
    loss.backward()
    for f in fake[: len(fake) - 2]:
        assert torch.all(f.grad[[0, 3, 2, 5]] == 0) and f.grad[[1, 4]].abs().sum() > 0


def test_sp_step_trains_with_the_diversity_weight_from_the_options():
    """The same step with --lambda-div 0 and 1 ends at different generator weights (and the same discriminator
    weights: its step comes first)."""
    states = []
    for weight in ("0", "1"):
        models, vgg_f, ctx = _tiny(["--lambda-div", weight])
        opts = S.sp_optimizers(ctx, models)
        torch.manual_seed(5)
        losses = S.sp_train_step(ctx, models, vgg_f, *opts, step=0)
        assert torch.isfinite(losses["ms_ratio"]) and losses["ms_ratio"] > 0
        states.append({k: {n: t.clone() for n, t in models[k].state_dict().items()} for k in ("sp", "sp_d")})
    assert all(torch.equal(states[0]["sp_d"][n], states[1]["sp_d"][n]) for n in states[0]["sp_d"])
    assert any(not torch.equal(states[0]["sp"][n], states[1]["sp"][n]) for n in states[0]["sp"])
