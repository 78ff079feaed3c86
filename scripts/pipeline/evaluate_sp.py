"""One evaluation seed of the Semantic Pyramid generator, and the real-data ceilings of the same seed.

The sources are fixed (Setup); a seed changes the generator's z draws, the real subset that stands beside the samples
in the Frechet ceiling, and the real same-class pairs of the diversity ceiling. The generator gets each source's
pyramid at one level and the source's TRUE label as its class input, as in the app.
"""
from __future__ import annotations

from typing import Dict, List

import numpy as np
import torch
import torch.nn.functional as F

from pipeline import metrics as M
from pipeline import reference as R
from pipeline.evaluate_setup import Setup, batches, judge_grade, vgg_pyramid
from pipeline.levels import FC7, FC8, NUM_LEVELS


def seed_generator(seed: int, stream: int) -> torch.Generator:
    """One independent random stream per (seed, purpose): a level's draws do not depend on the other levels."""
    return torch.Generator().manual_seed(int(seed) * 1009 + int(stream))


@torch.no_grad()
def generate(setup: Setup, level_index: int, samples: int, gen: torch.Generator) -> torch.Tensor:
    """[samples, N, H, W, 3]: `samples` draws for each source, conditioned on one level (the whole image, no mask)."""
    pack, w = setup.pack, setup.weights["sp"]
    arch = pack["models"]["sp"]["arch"]
    n, size = len(setup.source_idx), pack["imageSize"]
    y, feats = setup.source_labels, setup.vgg_source_feats
    on = F.one_hot(torch.full((n,), level_index), NUM_LEVELS).float()
    mask = torch.ones(n, size, size, 1)
    outs = []
    for _ in range(samples):
        z = torch.randn(n, arch["zDim"], generator=gen)
        parts = [
            R.sp_generate(w, arch, pack["levels"], z[s], y[s], [f[s] for f in feats], on[s], mask[s])
            for s in batches(n, 250)
        ]
        outs.append(torch.cat(parts))
    return torch.stack(outs)


@torch.no_grad()
def sp_level(setup: Setup, level: dict, samples: int, seed: int) -> Dict:
    """The judge's and the pack VGG's figures for one level at one seed."""
    outs = generate(setup, level["index"], samples, seed_generator(seed, level["index"]))
    k, n = outs.shape[:2]
    flat = outs.flatten(0, 1)
    feats, pred = judge_grade(setup.judge, flat)
    feats, pred = feats.view(k, n, -1), pred.view(k, n)
    src = setup.source_idx
    y, src_pred, src_feats = setup.labels[src], setup.judge_pred[src], setup.judge_feats[src]
    x = setup.sources
    judge = dict(
        classAgreementTrueLabel=M.agreement(pred, y.expand(k, n)),
        classAgreementJudgeOfSource=M.agreement(pred, src_pred.expand(k, n)),
        frechetJudgeFeatures=M.frechet_distance(
            feats.flatten(0, 1).numpy(), setup.judge_feats[setup.reference_idx].numpy()
        ),
        diversityJudgeFeatures=M.mean_pairwise(feats, "l2"),
        diversityPixels=M.mean_pairwise(outs, "l1"),
        pixelL1ToSource=M.pixel_l1(outs, x.expand_as(outs)),
        psnrToSource=M.psnr(outs, x.expand_as(outs)),
        judgeFeatureDistanceToSource=M.feature_l2(feats.flatten(0, 1), src_feats.repeat(k, 1)),
    )
    arch_vgg = setup.pack["models"]["vgg"]["arch"]
    i = level["index"]
    vgg = vgg_pyramid(setup.weights["vgg"], arch_vgg, flat, keep=(i, FC7, FC8))
    cond = setup.vgg_source_feats[i].repeat(k, *[1] * (setup.vgg_source_feats[i].dim() - 1))
    pack_vgg = dict(
        classAgreementTrueLabel=M.agreement(vgg[FC8].argmax(1), y.repeat(k)),
        featureDistance=((vgg[i] - cond).abs().mean() / cond.abs().mean()).item(),
        frechetFC7=M.frechet_distance(vgg[FC7].numpy(), setup.vgg_reference_fc7),
    )
    return dict(judge=judge, packVgg=pack_vgg)


@torch.no_grad()
def real_ceilings(setup: Setup, samples: int, seed: int) -> Dict:
    """The same measures on real test images, at this seed:
    - the judge's accuracy on all real test images and on the sources (no seed dependence);
    - Frechet distance in judge features between a random real subset of the pool, as large as one level's samples
      (sources x samples, capped at the pool), and the reference set: the same sample count, hence the same bias;
    - for each source, a random other real image of its class from the pool: the pixel and judge-feature distances
      (diversity between different real images of one class) and PSNR (what an unrelated same-class image scores
      as fidelity)."""
    rng = np.random.default_rng([int(seed), 10_000])
    labels, pool = setup.labels, setup.pool_idx.numpy()
    count = min(len(pool), len(setup.source_idx) * samples)
    subset = rng.choice(pool, size=count, replace=False)
    partners = []
    for s in setup.source_idx.tolist():
        same = pool[(labels[pool] == labels[s]).numpy() & (pool != s)]
        partners.append(int(rng.choice(same)))
    partners = torch.tensor(partners)
    a, b = setup.sources, setup.images[partners]
    fa, fb = setup.judge_feats[setup.source_idx], setup.judge_feats[partners]
    return dict(
        judgeAccuracy=M.agreement(setup.judge_pred, labels),
        judgeAccuracyOnSources=M.agreement(setup.judge_pred[setup.source_idx], setup.source_labels),
        frechetJudgeFeatures=M.frechet_distance(
            setup.judge_feats[torch.from_numpy(subset)].numpy(), setup.judge_feats[setup.reference_idx].numpy()
        ),
        frechetRealImages=count,
        sameClassDiversityJudgeFeatures=M.feature_l2(fa, fb),
        sameClassDiversityPixels=M.pixel_l1(a, b),
        sameClassPSNR=M.psnr(a, b),
        packVggAccuracy=setup.vgg_accuracy,
    )


def sp_seed(setup: Setup, samples: int, seed: int, log=print) -> Dict:
    levels: List[Dict] = []
    for lv in setup.pack["levels"]:
        levels.append(sp_level(setup, lv, samples, seed))
        log(f"seed {seed} {lv['name']}: {levels[-1]}")
    return dict(levels=levels, ceilings=real_ceilings(setup, samples, seed))
