"""Sample grids at the end of a training run, for the log (the README's figures come from scripts/evaluate.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Dict

import torch
import torch.nn as nn
import torch.nn.functional as F

from pipeline.levels import NUM_LEVELS
from pipeline.models.common import up
from pipeline.models.lag import downscale
from pipeline.models.vgg import VGGPyramid
from pipeline.train.common import TrainContext, save_grid


@torch.no_grad()
def sample_grids(ctx: TrainContext, models: Dict[str, nn.Module], vgg_f: VGGPyramid, out: Path) -> None:
    """samples_sp.png (4 training images, then 5 samples per level) and samples_lag.png (image, upscaled input,
    noise 0, then 5 candidates)."""
    dev = ctx.device
    x_all, y_all = ctx.train_x, ctx.train_y
    idx = torch.arange(0, len(x_all), max(1, len(x_all) // 4), device=dev)[:4]
    x = x_all[idx].float().div(127.5).sub(1.0)
    y = y_all[idx]
    g = models["sp_ema"].eval()
    feats = [f.float() for f in vgg_f.pyramid(x)]
    rows = []
    k = 5
    for i in range(len(idx)):
        for level in range(NUM_LEVELS):
            on = F.one_hot(torch.full((k,), level, device=dev), NUM_LEVELS).float()
            mask = torch.ones(k, 1, x.shape[-1], x.shape[-1], device=dev)
            source_feats = [f[i : i + 1].repeat(k, *[1] * (f.dim() - 1)) for f in feats]
            fake = g(torch.randn(k, g.z_dim, device=dev), y[i : i + 1].repeat(k), source_feats, on, mask)
            rows.append(torch.cat([x[i : i + 1], fake]).float())
    save_grid(out / "samples_sp.png", rows)
    lag = models["lag"].eval()
    lr = downscale(x, lag.scale)
    rows = []
    for i in range(len(idx)):
        noise = torch.randn(k, lag.noise_channels, lag.lr_size, lag.lr_size, device=dev)
        cands = lag(lr[i : i + 1].repeat(k, 1, 1, 1), noise, 1.0)
        zero = lag(lr[i : i + 1], noise[:1] * 0, 0.0)
        rows.append(torch.cat([x[i : i + 1], up(lr[i : i + 1], lag.scale), zero, cands]).float())
    save_grid(out / "samples_lag.png", rows)
