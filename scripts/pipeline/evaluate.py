"""Evaluation of a pack, graded by an independent judge network, over several evaluation seeds.

Every figure is measured with the pack's own decoded weights (pipeline.reference, what the browser runs), once per
seed, and written as mean and standard deviation over the seeds, beside the same measure on real test images (its
ceiling). The sources are fixed; a seed changes the generators' noise draws and the real images drawn for the
ceilings (evaluate_sp, evaluate_lag). A target is met only if its mean and every seed meet it (metrics.decide_target).
The pack VGG's own figures are kept as a second set, labelled as graded by the network the generator trained against.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Dict, List, Sequence

from pipeline import metrics as M
from pipeline.evaluate_lag import lag_seed
from pipeline.evaluate_setup import Setup
from pipeline.evaluate_sp import sp_seed

METRICS_VERSION = 2
PROTOCOL = dict(
    sources="fixed: the first sources/C test images of each class among the half of the test split not in the "
    "reference set",
    seeds="a seed changes the generators' noise (SP z, LAG noise) and the real images drawn for the ceilings "
    "(the real subset of the Frechet ceiling, the same-class partner of each source); LAG at noise 0 is "
    "deterministic",
    std="sample standard deviation over the seeds (ddof 1)",
    frechet="Frechet distance in the judge's penultimate features (not FID: not Inception features), against the "
    "reference set (half of each class of the test split); its ceiling is a random real subset of the other half as "
    "large as one level's samples, so that both carry the same small-sample bias",
    diversity="mean pairwise distance between the samples of one source at one level: pixels as mean absolute "
    "difference in [-1, 1], judge features as Euclidean distance; ceiling: a source and a random other real image "
    "of its class",
    classAgreement="the judge's class (flip-averaged) of each sample against the source's true label, and against "
    "the judge's class of the source",
)


def judge_summary(judge, judge_dir: Path | None) -> Dict:
    meta = dict(judge.meta)
    out = dict(
        architecture=meta.get("architecture"),
        imageSize=judge.image_size,
        featureDim=judge.feature_dim,
        testAccuracyFlipTTA=meta.get("test_accuracy_flip_tta"),
        seed=meta.get("seed"),
        command=meta.get("command"),
        gitCommit=meta.get("git_commit"),
    )
    if judge_dir is not None:
        out["path"] = str(judge_dir)
        weights = Path(judge_dir) / "judge.npz"
        if weights.exists():
            out["weightsSha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    return out


def per_seed(records: List[Dict], *path) -> List[float]:
    values = []
    for r in records:
        for key in path:
            r = r[key]
        values.append(float(r))
    return values


def decide_targets(sp: List[Dict], lag: List[Dict], level_names: Sequence[str]) -> List[Dict]:
    """The targets of the retraining issue that the evaluation can decide, each met only on the mean with every seed.
    Thresholds that are multiples of a real-data ceiling use that seed's own ceiling."""
    fc8, pool1 = level_names.index("fc8"), level_names.index("pool1")
    level = lambda i, key: per_seed([s["levels"][i] for s in sp], "judge", key)  # noqa: E731
    ceiling = lambda key: per_seed([s["ceilings"] for s in sp], key)  # noqa: E731
    targets = [
        dict(
            id="fc8DiversityVsReal",
            description="per-condition diversity at FC8 in judge features >= 0.8 x two real images of one class",
            **M.decide_target(
                level(fc8, "diversityJudgeFeatures"),
                ">=",
                [0.8 * c for c in ceiling("sameClassDiversityJudgeFeatures")],
            ),
        ),
        dict(
            id="diversityGrowsPool1ToFc8",
            description="per-condition diversity in judge features at FC8 > at pool1 (stride 2)",
            **M.decide_target(level(fc8, "diversityJudgeFeatures"), ">", level(pool1, "diversityJudgeFeatures")),
        ),
        dict(
            id="fc8FrechetVsReal",
            description="Frechet distance in judge features at FC8 <= 1.5 x real-vs-real",
            **M.decide_target(
                level(fc8, "frechetJudgeFeatures"), "<=", [1.5 * c for c in ceiling("frechetJudgeFeatures")]
            ),
        ),
        dict(
            id="pool1PixelL1",
            description="stride-2 (pool1) pixel L1 to the source <= 0.08",
            **M.decide_target(level(pool1, "pixelL1ToSource"), "<=", 0.08),
        ),
        dict(
            id="lagNoise0VsBicubic",
            description="LAG PSNR at noise 0 >= bicubic upscaling + 0.5 dB",
            **M.decide_target(
                per_seed(lag, "noise0", "lag", "psnr"),
                ">=",
                [v + 0.5 for v in per_seed(lag, "noise0", "bicubic", "psnr")],
            ),
        ),
        dict(
            id="packClassifierAccuracy",
            description="the pack's VGG classifier >= 92% on the test split",
            **M.decide_target(ceiling("packVggAccuracy"), ">=", 0.92),
        ),
    ]
    return targets


def evaluate(
    setup: Setup, seeds: Sequence[int], samples: int, lag_candidates: int, judge_dir: Path | None = None, log=print
) -> Dict:
    """The metrics dict of pack.json from a prepared Setup (evaluate_setup.prepare)."""
    if samples < 2 or lag_candidates < 2:
        raise ValueError("diversity needs at least 2 samples per source and 2 LAG candidates")
    if not seeds:
        raise ValueError("give at least one evaluation seed (3 or more for a spread)")
    t0 = time.time()
    sp, lag = [], []
    for seed in seeds:
        sp.append(sp_seed(setup, samples, seed, log=log))
        lag.append(lag_seed(setup, lag_candidates, seed))
        log(f"seed {seed}: ceilings {sp[-1]['ceilings']}, lag {lag[-1]} ({time.time() - t0:.0f} s)")
    levels = setup.pack["levels"]
    level_names = [lv["name"] for lv in levels]

    def level_rows(grader: str) -> List[Dict]:
        rows = []
        for i, lv in enumerate(levels):
            row = dict(level=lv["name"], stride=lv["stride"])
            row.update(M.summarize_records([s["levels"][i][grader] for s in sp]))
            rows.append(row)
        return rows

    ceilings = M.summarize_records([s["ceilings"] for s in sp])
    return dict(
        version=METRICS_VERSION,
        evaluatedAt=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        data=dict(
            report=setup.data_report,
            testImages=len(setup.labels),
            referenceImages=len(setup.reference_idx),
            poolImages=len(setup.pool_idx),
            sources=len(setup.source_idx),
            samplesPerSource=samples,
            lagCandidates=lag_candidates,
        ),
        seeds=[int(s) for s in seeds],
        protocol=PROTOCOL,
        judge=dict(
            model=judge_summary(setup.judge, judge_dir),
            ceilings={k: v for k, v in ceilings.items() if k != "packVggAccuracy"},
            levels=level_rows("judge"),
            lag=M.summarize_records(lag),
        ),
        packVgg=dict(
            note="graded by the pack's own VGG: the network whose features the generator was trained to match",
            classifierAccuracy=round(setup.vgg_accuracy, 4),
            classifierAccuracyImages=len(setup.reference_idx),
            levels=level_rows("packVgg"),
        ),
        targets=decide_targets(sp, lag, level_names),
        seconds=round(time.time() - t0, 1),
    )
