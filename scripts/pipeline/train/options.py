"""The options of scripts/train.py (also the defaults the profiler's and the tests' training contexts use)."""
from __future__ import annotations

import argparse

from pipeline.config import CONFIGS


def parse_args(argv=None, description: str | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="cifar10", choices=sorted(CONFIGS))
    p.add_argument("--out", required=True)
    p.add_argument("--ckpt-dir", default=None, help="where the resumable checkpoint goes (default: --out)")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--data-root", default=None)
    p.add_argument("--train-limit", type=int, default=None, help="use a class-balanced subset (smoke tests)")
    p.add_argument("--device", default="auto")
    p.add_argument("--amp", choices=["auto", "bf16", "off"], default="auto", help="bf16 autocast (auto: on CUDA)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stages", default="cls,sp,lag")
    p.add_argument("--minutes-cls", type=float, default=1.7)
    p.add_argument("--minutes-sp", type=float, default=5.0)
    p.add_argument("--minutes-lag", type=float, default=1.5)
    p.add_argument("--steps-cls", type=int, default=None)
    p.add_argument("--steps-sp", type=int, default=None)
    p.add_argument("--steps-lag", type=int, default=None)
    p.add_argument("--batch-cls", type=int, default=512)
    p.add_argument("--batch-sp", type=int, default=128)
    p.add_argument("--batch-lag", type=int, default=128)
    p.add_argument("--lr-cls", type=float, default=0.1)
    p.add_argument(
        "--cutout",
        type=int,
        default=16,
        help="classifier: side of the cutout square (0: none); the pack's VGG had 99.9%% train accuracy "
        "against 89.1%% on test without it",
    )
    p.add_argument("--lr-g", type=float, default=1.5e-4)
    p.add_argument("--lr-d", type=float, default=3e-4)
    p.add_argument("--lr-lag", type=float, default=5e-4)
    p.add_argument("--lambda-rec", type=float, default=3.0)
    p.add_argument("--lambda-div", type=float, default=0.5)
    p.add_argument("--div-cap", type=float, default=0.2, help="pixel distance beyond which diversity is not pushed")
    p.add_argument("--lambda-latent", type=float, default=10.0)
    p.add_argument("--blob-p", type=float, default=0.3)
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--standing-batches", type=int, default=40)
    p.add_argument("--log-every", type=int, default=200)
    p.add_argument("--ckpt-every", type=float, default=120.0, help="seconds between mid-stage checkpoints")
    p.add_argument("--git-commit", default=None)
    p.add_argument(
        "--cuda-graph",
        choices=["auto", "on", "off"],
        default="auto",
        help="capture the SP and LAG steps as CUDA graphs (auto: on CUDA; eager if a capture fails)",
    )
    p.add_argument(
        "--sn-per-layer",
        action="store_true",
        help="spectral norm layer by layer instead of per model at once (same math; to compare speeds)",
    )
    return p.parse_args(argv)
