"""A/B of LAG's `upsample` arch field on the CPU: the same short LAG training run (same seed, data and steps) with
"nearest" and with "bilinear", then the judge's LAG figures on held-out images.

    OMP_NUM_THREADS=1 /usr/bin/python3 scripts/lag_upsample_ab.py --upsample nearest --steps 300

Data: smooth synthetic 32 px images (gradients, a disc, stripes: pipeline/fixtures.py), no data set. Training:
pipeline/train/lag.py's step, channels_last (bf16 autocast with --bf16), a LAG of half the cifar10 widths unless
--full-width. Figures, on 64 held-out images: noise-0 PSNR against the image and the bilinear-upscaling
baseline's, candidate spread (per-pixel standard deviation over 4 candidates at amplitude 1, in [-1, 1]), LR
consistency PSNR, and a block-grid ratio (mean absolute step between neighbouring pixels across `scale`-pixel block
edges over the same inside blocks: 1 when there is no grid).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline.config import LagDConfig, PackConfig  # noqa: E402
from pipeline.evaluate import psnr  # noqa: E402
from pipeline.fixtures import synthetic_images  # noqa: E402
from pipeline.config import LagConfig  # noqa: E402
from pipeline import profile as P  # noqa: E402
from pipeline.train import lag as L  # noqa: E402


def images_uint8(n: int, seed: int) -> torch.Tensor:
    x = synthetic_images(n, 32, seed)  # [-1, 1] NHWC
    return torch.from_numpy(np.round((x + 1) * 127.5).astype(np.uint8)).permute(0, 3, 1, 2).contiguous()


def block_grid_ratio(x: torch.Tensor, scale: int) -> float:
    step = (x[..., 1:] - x[..., :-1]).abs().mean(dim=(0, 1, 2))  # per column boundary
    edges = torch.arange(1, x.shape[-1]) % scale == 0
    return (step[edges].mean() / step[~edges].mean()).item()


@torch.no_grad()
def judge(g, x_nchw: torch.Tensor, seed: int) -> dict:
    g.eval()
    gen = torch.Generator().manual_seed(seed)
    lr = F.avg_pool2d(x_nchw, g.scale)
    noise = lambda: torch.randn(x_nchw.shape[0], g.noise_channels, g.lr_size, g.lr_size, generator=gen)  # noqa
    zero = g(lr, torch.zeros_like(noise()), 0.0)
    cands = torch.stack([g(lr, noise(), 1.0) for _ in range(4)])
    base = F.interpolate(lr, scale_factor=g.scale, mode="bilinear", align_corners=False)
    return dict(
        noise0PSNR=round(psnr(zero, x_nchw), 2),
        bilinearBaselinePSNR=round(psnr(base, x_nchw), 2),
        candidateSpread=round(cands.std(0).mean().item(), 4),
        lrConsistencyPSNR=round(psnr(F.avg_pool2d(cands.flatten(0, 1), g.scale), lr.repeat(4, 1, 1, 1)), 2),
        blockGridRatio=round(block_grid_ratio(zero, g.scale), 3),
    )


def run(a: argparse.Namespace) -> None:
    torch.manual_seed(a.seed)
    if a.full_width:
        config = PackConfig(lag=LagConfig(upsample=a.upsample))
    else:
        lag = LagConfig(upsample=a.upsample, channels=32, resBlocks=2, stageChannels=(32, 16))
        config = PackConfig(lag=lag, lag_d=LagDConfig(channels=32, latentChannels=32))
    dev = torch.device("cpu")
    models = P.fresh_models(dev, config, channels_last=True)
    ctx = P.make_ctx(["--config", "cifar10", "--batch-lag", str(a.batch)], dev, amp=a.bf16, channels_last=True)
    ctx.train_x = images_uint8(1024, seed=1)
    models = {k: models[k] for k in ("lag", "lag_d")}
    opts = L.lag_optimizers(ctx, models)
    held_out = images_uint8(64, seed=2).float() / 127.5 - 1
    t0 = time.time()
    for step in range(1, a.steps + 1):
        for m in models.values():
            m.train()
        losses = L.lag_train_step(ctx, models, *opts)
        if step % a.eval_every == 0 or step == a.steps:
            out = dict(upsample=a.upsample, step=step, batch=a.batch, seed=a.seed, seconds=round(time.time() - t0))
            out.update(lossD=round(losses["loss_d"].item(), 3), latentMSE=round(losses["latent_mse"].item(), 4))
            out.update(judge(models["lag"], held_out, seed=3))
            print(json.dumps(out), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--upsample", choices=["nearest", "bilinear"], required=True)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bf16", action="store_true", help="bf16 autocast (slow on CPUs without bf16 instructions)")
    p.add_argument("--full-width", action="store_true", help="the cifar10 LAG widths")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    run(a)


if __name__ == "__main__":
    main()
