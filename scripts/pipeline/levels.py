"""The pyramid levels of docs/pack-format.md: the one level table of the Python side.

Seven levels, in this order: the outputs of VGG-16's five pooling layers (spatial, stride 2 to 32) and its FC7 and
FC8 layers (vectors, no stride). Models, training, export, reference and evaluation all take the levels from here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Sequence


@dataclass(frozen=True)
class Level:
    index: int
    name: str
    stride: Optional[int]  # None for the fully-connected levels

    @property
    def spatial(self) -> bool:
        return self.stride is not None


LEVELS = (
    Level(0, "pool1", 2),
    Level(1, "pool2", 4),
    Level(2, "pool3", 8),
    Level(3, "pool4", 16),
    Level(4, "pool5", 32),
    Level(5, "fc7", None),
    Level(6, "fc8", None),
)
LEVEL_NAMES = [lv.name for lv in LEVELS]
NUM_LEVELS = len(LEVELS)
SPATIAL_LEVELS = sum(lv.spatial for lv in LEVELS)  # the spatial levels come first
FC7, FC8 = LEVEL_NAMES.index("fc7"), LEVEL_NAMES.index("fc8")


def level_table(image_size: int, widths: Sequence[int], fc_width: int, num_classes: int) -> List[dict]:
    """The `levels` of pack.json: index, name, stride, channels, spatial size (None for the fc levels)."""
    channels = list(widths) + [fc_width, num_classes]
    return [
        dict(
            index=lv.index,
            name=lv.name,
            stride=lv.stride,
            channels=channels[lv.index],
            size=image_size // lv.stride if lv.spatial else None,
        )
        for lv in LEVELS
    ]


def injection_stage(size: int, base_size: int, num_stages: int) -> Optional[int]:
    """The generator stage into which a spatial level of this size is injected: the first stage whose size is >= its
    own (stage 0 is the base tensor, each later stage doubles the size). None for a level at the full image
    resolution: a full-resolution level is not injected, since it would hand the generator a copy of the input."""
    stage = 0 if size <= base_size else int(round(math.log2(size / base_size)))
    return None if stage >= num_stages - 1 else stage


def injections(levels: List[dict], base_size: int, num_stages: int) -> List[dict]:
    """The `injections` of the SP arch: {level, stage} for each injected spatial level, in level order."""
    out = []
    for lv in levels[:SPATIAL_LEVELS]:
        stage = injection_stage(lv["size"], base_size, num_stages)
        if stage is not None:
            out.append(dict(level=lv["name"], stage=stage))
    return out
