"""The measures of evaluate.py, each a plain function of tensors or arrays, and the statistics over evaluation seeds:
mean and standard deviation, and the rule by which a target is met.

Images are NHWC float tensors in [-1, 1]. Feature sets are [N, D] arrays (the judge's penultimate features).
"""
from __future__ import annotations

import math
from typing import Callable, Dict, List, Sequence

import numpy as np
import torch


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between the Gaussians fitted to two feature sets [N, D] (the formula of FID; what the features
    are decides what the figure means). The square root of s1 s2 comes from the symmetric form sqrt(s1) s2 sqrt(s1),
    whose eigenvalues are real and non-negative, so no complex matrix square root is needed."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"frechet_distance needs two [N, D] sets with N >= 2, got {a.shape} and {b.shape}")
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(s1)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    inner = np.linalg.eigvalsh(root1 @ s2 @ root1)
    trace_root = np.sqrt(np.clip(inner, 0, None)).sum()
    return float(max(0.0, ((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * trace_root))


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB for images in [-1, 1] (peak-to-peak 2), from the mean squared error over the whole set."""
    mse = ((a.float() - b.float()) ** 2).mean().item()
    return float("inf") if mse == 0 else 10 * math.log10(4.0 / mse)


def pixel_l1(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean absolute difference per pixel and channel, in [-1, 1] units (0..2)."""
    return (a.float() - b.float()).abs().mean().item()


def feature_l2(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean Euclidean distance between paired feature rows [N, D]."""
    return (a.float() - b.float()).norm(dim=1).mean().item()


def mean_pairwise(groups: torch.Tensor, distance: str) -> float:
    """Mean distance over all pairs within each group, averaged over groups. `groups` is [K, N, ...]: K members
    (samples of one condition) for each of N groups. distance: "l1" (mean absolute difference over the remaining
    dimensions: pixels) or "l2" (Euclidean norm over them: feature vectors)."""
    k = groups.shape[0]
    if k < 2:
        raise ValueError("mean_pairwise needs at least 2 members per group")
    values = []
    for i in range(k):
        for j in range(i + 1, k):
            d = (groups[i].float() - groups[j].float()).flatten(1)
            values.append(d.abs().mean(1) if distance == "l1" else d.norm(dim=1))
    return torch.stack(values).mean().item()


def agreement(predicted: torch.Tensor, reference: torch.Tensor) -> float:
    return (predicted == reference).float().mean().item()


# --- statistics over evaluation seeds ---------------------------------------------------------------------------


def summarize(values: Sequence[float], digits: int = 4) -> Dict:
    """{mean, std, seeds}: std is the sample standard deviation over seeds (ddof 1; 0 for a single seed)."""
    arr = np.asarray(values, np.float64)
    std = float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
    return dict(
        mean=round(float(arr.mean()), digits), std=round(std, digits), seeds=[round(float(v), digits) for v in arr]
    )


def summarize_records(records: List[Dict], digits: int = 4) -> Dict:
    """Per-seed dicts with the same numeric keys (nested dicts allowed) -> one dict of summarize() per key."""
    out: Dict = {}
    for key, first in records[0].items():
        if isinstance(first, dict):
            out[key] = summarize_records([r[key] for r in records], digits)
        elif isinstance(first, (int, float)) and not isinstance(first, bool):
            out[key] = summarize([r[key] for r in records], digits)
        else:
            out[key] = first
    return out


COMPARATORS: Dict[str, Callable[[float, float], bool]] = {
    "<=": lambda value, threshold: value <= threshold,
    ">=": lambda value, threshold: value >= threshold,
    ">": lambda value, threshold: value > threshold,
}


def decide_target(values: Sequence[float], comparator: str, thresholds: Sequence[float] | float) -> Dict:
    """Met or missed, per seed and overall. `thresholds` is one number, or one per seed (when the threshold is itself
    measured per seed, e.g. a multiple of that seed's real-data ceiling). A target is met only if the mean value meets
    the mean threshold AND every seed meets its own: a mean carried by some seeds is not met."""
    if comparator not in COMPARATORS:
        raise ValueError(f"unknown comparator {comparator!r}; one of {sorted(COMPARATORS)}")
    values = [float(v) for v in values]
    if not values:
        raise ValueError("decide_target needs at least one seed")
    if np.isscalar(thresholds):
        per_seed_thresholds = [float(thresholds)] * len(values)
    else:
        per_seed_thresholds = [float(t) for t in thresholds]
    if len(per_seed_thresholds) != len(values):
        raise ValueError(f"{len(values)} values but {len(per_seed_thresholds)} thresholds")
    compare = COMPARATORS[comparator]
    per_seed = [compare(v, t) for v, t in zip(values, per_seed_thresholds)]
    mean_ok = compare(float(np.mean(values)), float(np.mean(per_seed_thresholds)))
    return dict(
        value=summarize(values),
        comparator=comparator,
        threshold=summarize(per_seed_thresholds),
        metPerSeed=per_seed,
        met=bool(mean_ok and all(per_seed)),
    )
