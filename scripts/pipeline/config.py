"""Model configurations as dataclasses. The field names are the keys of pack.json's `arch` objects, so that
`dataclasses.asdict(cfg.vgg)`, `asdict(cfg.sp)` and `asdict(cfg.lag)` are the archs the exporter writes and the
TypeScript engine reads (docs/pack-format.md): one spelling on both sides."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, Tuple

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


def cifar10() -> PackConfig:
    """The default browser pack: VGG-16 at half width, ~3.5M-parameter SP generator, small LAG."""
    return PackConfig()


def tiny() -> PackConfig:
    """Tests and parity fixtures: the same code paths, tiny widths."""
    return PackConfig(
        vgg=VggConfig(widths=(4, 8, 8, 8, 8), fcWidth=16),
        sp=SpConfig(zDim=8, channels=(16, 16, 8, 8)),
        sp_d=SpDConfig(ch=16),
        lag=LagConfig(noiseChannels=2, channels=8, resBlocks=1, stageChannels=(8, 4)),
        lag_d=LagDConfig(channels=8, latentChannels=8),
    )


CONFIGS: Dict[str, Callable[[], PackConfig]] = {"cifar10": cifar10, "tiny": tiny}


def named(config: str | PackConfig) -> PackConfig:
    return CONFIGS[config]() if isinstance(config, str) else config
