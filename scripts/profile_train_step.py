"""Measures where a training step's time goes (SP and LAG stages), on random data: no data set needed.

    python3 scripts/profile_train_step.py --steps 40

Prints ms/step for each stage with the current code and with candidate changes, then the top CUDA kernels
of a profiled SP step. Used to find why the SP stage ran at 14 steps/s on an H100 (see the model-pipeline notes).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import models as M  # noqa: E402
import train_pack as T  # noqa: E402


def up_expand(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Nearest upsampling through expand+reshape: the same values, a cheap backward (a sum over the copies)."""
    if factor == 1:
        return x
    n, c, h, w = x.shape
    return x[:, :, :, None, :, None].expand(n, c, h, factor, w, factor).reshape(n, c, h * factor, w * factor)


def make_ctx(args, dev):
    a = T.parse_args(["--out", "/tmp/profile-out", "--log-every", "1000000", "--ckpt-every", "1e9"] + args)
    x = torch.randint(0, 256, (4096, 3, 32, 32), dtype=torch.uint8, device=dev)
    y = torch.randint(0, 10, (4096,), device=dev)
    ctx = dict(args=a, device=dev, log=lambda **r: None, train_x=x, train_y=y, amp=dev.type == "cuda",
               channels_last=dev.type == "cuda",
               maybe_checkpoint=lambda *_: None, div_level_weight=torch.tensor(T.DIVERSITY_LEVEL_WEIGHT, device=dev))
    return ctx


def fresh_models(dev):
    models = M.build_models("cifar10")
    models["sp_ema"] = M.build_models("cifar10")["sp"]
    for k in list(models):
        models[k] = T.to_device_model(models[k], dev, dev.type == "cuda")
    return models


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(label, fn):
    sync()
    t = time.perf_counter()
    stats = fn()
    sync()
    dt = time.perf_counter() - t
    print(f"{label}: {stats['steps']} steps in {dt:.2f} s = {1000 * dt / stats['steps']:.1f} ms/step "
          f"({stats['steps'] * stats['batch'] / dt:.0f} img/s)", flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--device", default="cuda")
    a = p.parse_args()
    dev = torch.device(a.device)
    torch.backends.cudnn.benchmark = True
    original_up = M.up
    n = str(a.steps)
    for variant in ("interpolate", "expand"):
        M.up = original_up if variant == "interpolate" else up_expand
        models = fresh_models(dev)
        vgg_f = M.folded_copy(models["vgg"])
        ctx = make_ctx(["--steps-sp", "10", "--steps-lag", "10"], dev)
        T.train_sp(ctx, models, vgg_f, {})  # warm-up (cudnn autotuning)
        T.train_lag(ctx, models, {})
        ctx = make_ctx(["--steps-sp", n, "--steps-lag", n], dev)
        timed(f"SP  [{variant}]", lambda: T.train_sp(ctx, models, vgg_f, {}))
        timed(f"LAG [{variant}]", lambda: T.train_lag(ctx, models, {}))
        if variant == "interpolate" and dev.type == "cuda":
            from torch.profiler import ProfilerActivity, profile

            ctx = make_ctx(["--steps-sp", "5"], dev)
            with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
                T.train_sp(ctx, models, vgg_f, {})
                torch.cuda.synchronize()
            print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=14, max_name_column_width=60))
            print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=8, max_name_column_width=60))


if __name__ == "__main__":
    main()
