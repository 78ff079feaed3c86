"""Model and training configurations as dataclasses.

The model fields are the keys of pack.json's `arch` objects, so that `dataclasses.asdict(cfg.vgg)`, `asdict(cfg.sp)`
and `asdict(cfg.lag)` are the archs the exporter writes and the TypeScript engine reads (docs/pack-format.md): one
spelling on both sides. The training fields (TrainConfig) are the option names of scripts/train.py: a recipe's
values are the defaults that the command line overrides.

A recipe is a pack configuration and its training options for one image size, 32, 64 or 128 px, with a `smoke`
variant of each (tiny widths, a handful of steps: the tests' and a newcomer's first run).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Tuple

from pipeline import levels


@dataclass
class VggConfig:
    imageSize: int = 32
    widths: Tuple[int, ...] = (32, 64, 128, 256, 256)
    convsPerBlock: Tuple[int, ...] = (2, 2, 3, 3, 3)
    fcWidth: int = 256
    numClasses: int = 10


@dataclass
class SpConfig:
    zDim: int = 128
    numClasses: int = 10
    baseSize: int = 4
    channels: Tuple[int, ...] = (256, 256, 128, 64)
    # Derived by PackConfig from the VGG and the level rules; listed in the arch so that the engine need not.
    levelChannels: Tuple[int, ...] = ()
    injections: Tuple[dict, ...] = ()


@dataclass
class SpDConfig:
    ch: int = 128


@dataclass
class LagConfig:
    scale: int = 4
    lrSize: int = 8
    noiseChannels: int = 16
    channels: int = 64
    resBlocks: int = 4
    stageChannels: Tuple[int, ...] = (64, 32)
    consistency: bool = True
    # How the image path and the back-projection upsample: "nearest" or "bilinear" (docs/pack-format.md).
    upsample: str = "nearest"


@dataclass
class LagDConfig:
    channels: int = 64
    latentChannels: int = 64


@dataclass
class PackConfig:
    """Every model of a pack. The SP generator's class count, level channels and injections follow from the VGG."""

    vgg: VggConfig = field(default_factory=VggConfig)
    sp: SpConfig = field(default_factory=SpConfig)
    sp_d: SpDConfig = field(default_factory=SpDConfig)
    lag: LagConfig = field(default_factory=LagConfig)
    lag_d: LagDConfig = field(default_factory=LagDConfig)

    def __post_init__(self) -> None:
        table = self.levels()
        self.sp.numClasses = self.vgg.numClasses
        self.sp.levelChannels = tuple(lv["channels"] for lv in table)
        self.sp.injections = tuple(levels.injections(table, self.sp.baseSize, len(self.sp.channels)))

    def levels(self) -> list:
        v = self.vgg
        return levels.level_table(v.imageSize, v.widths, v.fcWidth, v.numClasses)


def with_classes(cfg: PackConfig, num_classes: int) -> PackConfig:
    """The configuration for a data set of `num_classes` classes (the SP arch's derived fields follow)."""
    # A copy of every part: PackConfig.__post_init__ completes the SP config in place.
    return dataclasses.replace(
        cfg,
        vgg=dataclasses.replace(cfg.vgg, numClasses=num_classes),
        sp=dataclasses.replace(cfg.sp),
        sp_d=dataclasses.replace(cfg.sp_d),
        lag=dataclasses.replace(cfg.lag),
        lag_d=dataclasses.replace(cfg.lag_d),
    )


def pack_config_from_dict(d: dict) -> PackConfig:
    """The inverse of dataclasses.asdict(PackConfig): what a run's config.json holds back to a PackConfig."""

    def build(cls, values: dict):
        kwargs = {}
        for f in dataclasses.fields(cls):
            if f.name in values:
                v = values[f.name]
                kwargs[f.name] = tuple(v) if isinstance(v, list) else v
        return cls(**kwargs)

    return PackConfig(
        vgg=build(VggConfig, d["vgg"]),
        sp=build(SpConfig, d["sp"]),
        sp_d=build(SpDConfig, d["sp_d"]),
        lag=build(LagConfig, d["lag"]),
        lag_d=build(LagDConfig, d["lag_d"]),
    )


# --------------------------------------------------------------------------------------------------------------
# Pack configurations by image size
# --------------------------------------------------------------------------------------------------------------
def cifar10() -> PackConfig:
    """32 px, the default browser pack: VGG-16 at half width, ~3.5M-parameter SP generator, small LAG."""
    return PackConfig()


def tiny() -> PackConfig:
    """32 px smoke: tests and parity fixtures, the same code paths with tiny widths."""
    return PackConfig(
        vgg=VggConfig(widths=(4, 8, 8, 8, 8), fcWidth=16),
        sp=SpConfig(zDim=8, channels=(16, 16, 8, 8)),
        sp_d=SpDConfig(ch=16),
        lag=LagConfig(noiseChannels=2, channels=8, resBlocks=1, stageChannels=(8, 4)),
        lag_d=LagDConfig(channels=8, latentChannels=8),
    )


def px64() -> PackConfig:
    """64 px: one more generator block (4 -> 64 in four doublings); VGG pool5 is 2x2; LAG takes 16 px to 64."""
    return PackConfig(
        vgg=VggConfig(imageSize=64, widths=(32, 64, 128, 256, 256), fcWidth=256),
        sp=SpConfig(zDim=128, baseSize=4, channels=(256, 256, 128, 64, 32)),
        sp_d=SpDConfig(ch=128),
        lag=LagConfig(lrSize=16, channels=64, resBlocks=4, stageChannels=(64, 32)),
        lag_d=LagDConfig(channels=64, latentChannels=64),
    )


def px64lite() -> PackConfig:
    """64 px sized for the browser's 1 s compare grid on 2 WASM threads: px64 with its four generator blocks a
    quarter narrower (192, 96, 48, 24 channels after the 256-channel 4x4 start), 338 instead of 577 MFLOP per SP
    sample; everything else is px64's. `npm run bench` times both. What the narrowing costs in image quality is
    unknown until both are trained and judged (docs/training.md, "What a size costs in the browser")."""
    cfg = px64()
    return dataclasses.replace(cfg, sp=dataclasses.replace(cfg.sp, channels=(256, 192, 96, 48, 24)))


def px128() -> PackConfig:
    """128 px: five generator blocks from 4x4; VGG pool5 is 4x4 (FC6 reads 4*4*256 values); LAG takes 32 px to 128."""
    return PackConfig(
        vgg=VggConfig(imageSize=128, widths=(32, 64, 128, 256, 256), fcWidth=512),
        sp=SpConfig(zDim=128, baseSize=4, channels=(256, 256, 256, 128, 64, 32)),
        sp_d=SpDConfig(ch=96),
        lag=LagConfig(lrSize=32, channels=48, resBlocks=4, stageChannels=(48, 24)),
        lag_d=LagDConfig(channels=48, latentChannels=48),
    )


def _tiny_at(size: int) -> PackConfig:
    blocks = {32: 3, 64: 4, 128: 5}[size]
    cfg = tiny()
    return PackConfig(
        vgg=dataclasses.replace(cfg.vgg, imageSize=size),
        sp=SpConfig(zDim=8, channels=(16, 16) + (8,) * (blocks - 1)),
        sp_d=cfg.sp_d,
        lag=dataclasses.replace(cfg.lag, lrSize=size // 4),
        lag_d=cfg.lag_d,
    )


def tiny64() -> PackConfig:
    """64 px smoke."""
    return _tiny_at(64)


def tiny128() -> PackConfig:
    """128 px smoke."""
    return _tiny_at(128)


CONFIGS: Dict[str, Callable[[], PackConfig]] = {
    "cifar10": cifar10,
    "tiny": tiny,
    "px64": px64,
    "px64lite": px64lite,
    "tiny64": tiny64,
    "px128": px128,
    "tiny128": tiny128,
}
SIZES = (32, 64, 128)
# (size, smoke) -> the named pack configuration
BY_SIZE = {
    (32, False): "cifar10",
    (32, True): "tiny",
    (64, False): "px64",
    (64, True): "tiny64",
    (128, False): "px128",
    (128, True): "tiny128",
}


def named(config: str | PackConfig) -> PackConfig:
    return CONFIGS[config]() if isinstance(config, str) else config


# --------------------------------------------------------------------------------------------------------------
# Training options by image size
# --------------------------------------------------------------------------------------------------------------
@dataclass
class TrainConfig:
    """Batches, stage budgets (minutes, and steps where capped) and what depends on the image size; the field
    names are scripts/train.py's option names."""

    batch_cls: int = 512
    batch_sp: int = 128
    batch_lag: int = 128
    minutes_cls: float = 1.7
    minutes_sp: float = 5.0
    minutes_lag: float = 1.5
    steps_cls: Optional[int] = None
    steps_sp: Optional[int] = None
    steps_lag: Optional[int] = None
    cutout: int = 16  # the classifier's cutout square: half the image side
    # Weight of SP's mode-seeking diversity term (pipeline/train/sp.py: mode_seeking_loss; its per-level weights
    # are DIVERSITY_LEVEL_WEIGHT there).
    lambda_div: float = 1.0
    standing_batches: int = 40
    log_every: int = 200


def train_config(size: int, smoke: bool) -> TrainConfig:
    """32 px: the recipe of the committed pack. Larger images: batches shrink with the pixels per image (the GPU's
    memory and time per step), budgets grow for SP, where the time goes. Smoke: a handful of steps of batch 8."""
    if smoke:
        return TrainConfig(
            batch_cls=16,
            batch_sp=8,
            batch_lag=8,
            # The step caps end a smoke run; the time budgets are only a backstop, long enough for a slow or busy
            # machine to reach the caps.
            minutes_cls=60.0,
            minutes_sp=60.0,
            minutes_lag=60.0,
            steps_cls=4,
            steps_sp=4,
            steps_lag=4,
            cutout=size // 2,
            standing_batches=1,
            log_every=2,
        )
    if size == 32:
        return TrainConfig()
    if size == 64:
        return TrainConfig(
            batch_cls=256, batch_sp=64, batch_lag=64, minutes_cls=3.0, minutes_sp=12.0, minutes_lag=3.0, cutout=32
        )
    if size == 128:
        return TrainConfig(
            batch_cls=128, batch_sp=32, batch_lag=32, minutes_cls=5.0, minutes_sp=30.0, minutes_lag=6.0, cutout=64
        )
    raise ValueError(f"image size {size}: one of {SIZES}")


def size_of(config: str) -> int:
    return named(config).vgg.imageSize
