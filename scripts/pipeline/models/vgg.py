"""VGG-16 feature pyramid; twin of src/engine/vgg.ts.

13 convs in 5 blocks with max-pooling, then FC6, FC7, FC8 for small images; `pyramid()` returns the 7 levels
(pipeline/levels.py). Trained with BatchNorm, which the exporter folds into the convs.
"""
from __future__ import annotations

import copy
import dataclasses
from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F

from pipeline.config import VggConfig


class ConvBNReLU(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))

    @torch.no_grad()
    def fold(self) -> None:
        """Folds eval-mode BatchNorm into the conv (kernel and bias), as the exporter and the browser use it."""
        if isinstance(self.bn, nn.Identity):
            return
        scale = self.bn.weight / torch.sqrt(self.bn.running_var + self.bn.eps)
        conv = nn.Conv2d(self.conv.in_channels, self.conv.out_channels, 3, padding=1, bias=True)
        conv.to(self.conv.weight.device)
        conv.weight.copy_(self.conv.weight * scale[:, None, None, None])
        conv.bias.copy_(self.bn.bias - self.bn.running_mean * scale)
        self.conv, self.bn = conv, nn.Identity()


class FlattenedLinear(nn.Linear):
    """A Linear layer over a feature map flattened in PyTorch's (C, H, W) order. The browser flattens NHWC, as
    (H, W, C): the exporter reorders this layer's input rows by `input_chw`."""

    def __init__(self, input_chw: tuple, cout: int):
        c, h, w = input_chw
        super().__init__(c * h * w, cout)
        self.input_chw = tuple(input_chw)


class VGGPyramid(nn.Module):
    def __init__(self, cfg: VggConfig = VggConfig(), dropout: float = 0.3):
        super().__init__()
        self.cfg = cfg
        self.conv_names: List[List[str]] = []
        cin = 3
        for b, (width, n) in enumerate(zip(cfg.widths, cfg.convsPerBlock), start=1):
            names = []
            for i in range(1, n + 1):
                name = f"conv{b}_{i}"
                self.add_module(name, ConvBNReLU(cin, width))
                names.append(name)
                cin = width
            self.conv_names.append(names)
        pool5_size = cfg.imageSize // 32
        self.fc6 = FlattenedLinear((cin, pool5_size, pool5_size), cfg.fcWidth)
        self.fc7 = nn.Linear(cfg.fcWidth, cfg.fcWidth)
        self.fc8 = nn.Linear(cfg.fcWidth, cfg.numClasses)
        self.dropout = nn.Dropout(dropout)

    @property
    def arch(self) -> dict:
        return dataclasses.asdict(self.cfg)

    def pyramid(self, x: torch.Tensor) -> List[torch.Tensor]:
        levels = []
        for names in self.conv_names:
            for name in names:
                x = getattr(self, name)(x)
            x = F.max_pool2d(x, 2)
            levels.append(x)
        h = self.dropout(F.relu(self.fc6(torch.flatten(x, 1))))
        fc7 = F.relu(self.fc7(h))
        levels.append(fc7)
        levels.append(self.fc8(self.dropout(fc7)))
        return levels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pyramid(x)[-1]


def folded_copy(vgg: VGGPyramid) -> VGGPyramid:
    """An eval-mode copy of the VGG with BatchNorm folded into its convs and no gradients on its weights."""
    frozen = copy.deepcopy(vgg).eval()
    for names in frozen.conv_names:
        for name in names:
            getattr(frozen, name).fold()
    for p in frozen.parameters():
        p.requires_grad_(False)
    return frozen
