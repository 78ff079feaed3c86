"""Operations shared by the models."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def up(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Nearest-neighbour upsampling by an integer factor."""
    return x if factor == 1 else F.interpolate(x, scale_factor=factor, mode="nearest")
