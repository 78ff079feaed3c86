"""One evaluation seed of LAG on the fixed sources: the low-res input is the source box-filtered by the scale factor
(the downsampling LAG was trained on and that its back-projection inverts).

- At noise 0 (deterministic: the same at every seed): PSNR to the source and the judge's class agreement, beside
  bicubic upscaling (torch bicubic, a = -0.75; no antialiasing is needed for an enlargement) and nearest upscaling.
- LR-consistency: the pack's LAG ends with a back-projection (its arch has consistency: true, and it was TRAINED with
  it inside the forward pass), which makes the box-downsampled output equal the input by construction; nearest
  upscaling is as consistent. What the network itself learned is its output BEFORE that projection, measured here
  with the same noise draws as the candidates.
- Candidate diversity at noise 1: per-pixel standard deviation across candidates (mean over pixels), and the mean
  pairwise distance of the candidates in judge features; beside them, the mean absolute detail of the real image
  that the low-res input does not fix (source minus its nearest upscaled box-downsample).
"""
from __future__ import annotations

from typing import Dict

import torch
import torch.nn.functional as F

from pipeline import metrics as M
from pipeline import reference as R
from pipeline.evaluate_setup import Setup, judge_grade
from pipeline.evaluate_sp import seed_generator

LAG_STREAM = 100  # the random stream of the LAG noise, apart from the SP levels' streams


def nchw(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 3, 1, 2)


def nhwc(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1).contiguous()


def box_down(x_nhwc: torch.Tensor, scale: int) -> torch.Tensor:
    return nhwc(F.avg_pool2d(nchw(x_nhwc), scale))


def upscale(lr_nhwc: torch.Tensor, scale: int, mode: str) -> torch.Tensor:
    if mode == "bicubic":
        out = F.interpolate(nchw(lr_nhwc), scale_factor=scale, mode="bicubic", align_corners=False)
    else:
        out = F.interpolate(nchw(lr_nhwc), scale_factor=scale, mode="nearest")
    return nhwc(out.clamp(-1, 1))


@torch.no_grad()
def lag_seed(setup: Setup, candidates: int, seed: int) -> Dict:
    w, arch = setup.weights["lag"], setup.pack["models"]["lag"]["arch"]
    scale = arch["scale"]
    x, y = setup.sources, setup.source_labels
    src_pred = setup.judge_pred[setup.source_idx]
    lr = box_down(x, scale)
    n = len(x)
    noise_shape = (n, arch["lrSize"], arch["lrSize"], arch["noiseChannels"])

    outputs = dict(
        lag=R.lag_generate(w, arch, lr, torch.zeros(noise_shape), 0.0),
        bicubic=upscale(lr, scale, "bicubic"),
        nearest=upscale(lr, scale, "nearest"),
    )
    noise0 = {}
    for name, out in outputs.items():
        _, pred = judge_grade(setup.judge, out)
        noise0[name] = dict(
            psnr=M.psnr(out, x),
            classAgreementTrueLabel=M.agreement(pred, y),
            classAgreementJudgeOfSource=M.agreement(pred, src_pred),
        )
        if name != "nearest":  # nearest upscaling box-downsamples back to its input exactly (infinite PSNR)
            noise0[name]["lrConsistencyPSNR"] = M.psnr(box_down(out, scale), lr)

    gen = seed_generator(seed, LAG_STREAM)
    noises = [torch.randn(noise_shape, generator=gen) for _ in range(candidates)]
    cands = torch.stack([R.lag_generate(w, arch, lr, z, 1.0) for z in noises])
    raw_arch = dict(arch, consistency=False)
    raw = torch.stack([R.lag_generate(w, raw_arch, lr, z, 1.0) for z in noises])
    feats, _ = judge_grade(setup.judge, cands.flatten(0, 1))
    return dict(
        noise0=noise0,
        lrConsistencyPSNR=M.psnr(box_down(cands.flatten(0, 1), scale), lr.repeat(candidates, 1, 1, 1)),
        lrConsistencyPSNRBeforeProjection=M.psnr(box_down(raw.flatten(0, 1), scale), lr.repeat(candidates, 1, 1, 1)),
        candidatePixelStd=cands.std(0).mean().item(),
        candidateDiversityJudgeFeatures=M.mean_pairwise(feats.view(candidates, n, -1), "l2"),
        candidatePSNR=M.psnr(cands, x.expand_as(cands)),
        realDetailMeanAbs=M.pixel_l1(x, outputs["nearest"]),
    )
