"""The options of scripts/train.py (also the defaults the profiler's and the tests' training contexts use).

The configuration comes from --size and --smoke (or a named --config); the options that depend on it (batches,
stage budgets, cutout, ...: pipeline.config.TrainConfig) default to its recipe and can each be overridden.
"""
from __future__ import annotations

import argparse
import dataclasses

from pipeline.config import BY_SIZE, CONFIGS, SIZES, TrainConfig, size_of, train_config

SMOKE_CONFIGS = {name for (_, smoke), name in BY_SIZE.items() if smoke}
DEFAULT_DATA_CACHE = "~/.cache/pyramid-playground/datasets"


def parse_args(argv=None, description: str | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, choices=SIZES, default=None, help="image size in pixels (default 32)")
    p.add_argument("--smoke", action="store_true", help="tiny widths and a handful of steps: a first try, the tests")
    p.add_argument(
        "--config", default=None, choices=sorted(CONFIGS), help="a named configuration instead of --size/--smoke"
    )
    p.add_argument("--out", required=True)
    p.add_argument("--ckpt-dir", default=None, help="where the resumable checkpoint goes (default: --out)")
    p.add_argument("--resume", action="store_true")
    p.add_argument(
        "--data",
        "--data-root",
        dest="data",
        default=None,
        help="an image folder <class>/<image>, a zip of one, a folder with train/ and test/ or train.zip and "
        "test.zip, or CIFAR-10's cifar-10-python.tar.gz (or its folder); default $CIFAR10_DIR or ../shared",
    )
    p.add_argument("--data-cache", default=DEFAULT_DATA_CACHE, help="where decoded data sets are kept ('none': off)")
    p.add_argument("--data-workers", type=int, default=2, help="processes decoding images (1: none)")
    p.add_argument("--max-unpacked-gb", type=float, default=8.0, help="refuse zips that would unpack to more")
    p.add_argument("--train-limit", type=int, default=None, help="use a class-balanced subset (smoke tests)")
    p.add_argument("--device", default="auto")
    p.add_argument("--amp", choices=["auto", "bf16", "off"], default="auto", help="bf16 autocast (auto: on CUDA)")
    p.add_argument("--channels-last", choices=["auto", "on", "off"], default="auto", help="auto: on CUDA")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads per process")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stages", default="cls,sp,lag")
    for f in dataclasses.fields(TrainConfig):  # defaults from the recipe, after parsing
        p.add_argument("--" + f.name.replace("_", "-"), type=_option_type(f.name), default=None)
    p.add_argument("--lr-cls", type=float, default=0.1)
    p.add_argument("--lr-g", type=float, default=1.5e-4)
    p.add_argument("--lr-d", type=float, default=3e-4)
    p.add_argument("--lr-lag", type=float, default=5e-4)
    p.add_argument("--lambda-rec", type=float, default=3.0)
    p.add_argument("--lambda-div", type=float, default=0.5)
    p.add_argument("--div-cap", type=float, default=0.2, help="pixel distance beyond which diversity is not pushed")
    p.add_argument("--lambda-latent", type=float, default=10.0)
    p.add_argument("--blob-p", type=float, default=0.3)
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--ckpt-every", type=float, default=120.0, help="seconds between mid-stage checkpoints")
    p.add_argument("--stop-after", default=None, help="STAGE or STAGE:STEPS: stop the run there (to test resume)")
    p.add_argument("--rank-digests", default=None, help="each rank writes sha256 digests of its weights here")
    p.add_argument("--git-commit", default=None)
    p.add_argument(
        "--cuda-graph",
        choices=["auto", "on", "off"],
        default="auto",
        help="capture the steps as CUDA graphs (auto: on CUDA with one process; eager if a capture fails)",
    )
    p.add_argument(
        "--sn-per-layer",
        action="store_true",
        help="spectral norm layer by layer instead of per model at once (same math; to compare speeds)",
    )
    a = p.parse_args(argv)
    resolve_recipe(p, a)
    return a


def _option_type(name: str):
    return {int: int, float: float}.get(type(getattr(TrainConfig(), name)), int)


def resolve_recipe(p: argparse.ArgumentParser, a: argparse.Namespace) -> None:
    """Sets a.config, a.size and a.smoke consistently, and fills the recipe's training defaults."""
    if a.config is None:
        a.config = BY_SIZE[(a.size or 32, a.smoke)]
    else:
        if a.size is not None and a.size != size_of(a.config):
            p.error(f"--config {a.config} is {size_of(a.config)} px, not --size {a.size}")
        if a.smoke and a.config not in SMOKE_CONFIGS:
            p.error(f"--smoke with --config {a.config}: use --size alone, or a smoke config ({sorted(SMOKE_CONFIGS)})")
        a.smoke = a.config in SMOKE_CONFIGS
    a.size = size_of(a.config)
    recipe = train_config(a.size, a.smoke)
    for f in dataclasses.fields(TrainConfig):
        if getattr(a, f.name) is None:
            setattr(a, f.name, getattr(recipe, f.name))
