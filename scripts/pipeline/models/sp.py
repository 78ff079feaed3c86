"""Semantic Pyramid generator and its projection discriminator; the generator is the twin of src/engine/sp.ts.

The generator (Shocher et al. 2020) maps noise, a class and the VGG features of chosen levels (gated per sample by
`on` and a painted mask) to an image; BigGAN-style residual up-blocks with class-conditional BatchNorm and spectral
norm. The discriminator is used in training only.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Dict, List

import torch
import torch.nn as nn
import torch.nn.functional as F

from pipeline.config import SpConfig, SpDConfig
from pipeline.levels import FC7, FC8, LEVEL_NAMES
from pipeline.models.common import up
from pipeline.models.spectral_norm import SNConv2d, SNLinear, SpectralNormGroup


class CCBN(nn.Module):
    """Class-conditional BatchNorm: plain BN statistics, per-class gain and bias (exported as scale/shift tables)."""

    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gamma = nn.Embedding(num_classes, channels)
        self.beta = nn.Embedding(num_classes, channels)
        nn.init.ones_(self.gamma.weight)
        nn.init.zeros_(self.beta.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.bn(x) * self.gamma(y)[:, :, None, None] + self.beta(y)[:, :, None, None]


class GBlock(nn.Module):
    """BigGAN-style residual up-block."""

    def __init__(self, cin: int, cout: int, num_classes: int):
        super().__init__()
        self.bn1 = CCBN(cin, num_classes)
        self.conv1 = SNConv2d(cin, cout, 3)
        self.bn2 = CCBN(cout, num_classes)
        self.conv2 = SNConv2d(cout, cout, 3)
        self.skip = SNConv2d(cin, cout, 1)

    def forward(self, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        t = self.conv1(up(F.relu(self.bn1(h, y)), 2))
        t = self.conv2(F.relu(self.bn2(t, y)))
        return t + self.skip(up(h, 2))


class SPGenerator(nn.Module):
    def __init__(self, cfg: SpConfig, levels: List[dict], image_size: int = 32):
        """`cfg` as PackConfig completes it (levelChannels, injections); `levels` the pack's level table."""
        super().__init__()
        channels, base_size = cfg.channels, cfg.baseSize
        assert image_size == base_size * 2 ** (len(channels) - 1), "channels must take baseSize to imageSize"
        self.cfg, self.levels = cfg, levels
        self.image_size, self.z_dim, self.base_size, self.channels = image_size, cfg.zDim, base_size, list(channels)
        c0 = channels[0]
        self.z_dense = SNLinear(cfg.zDim, base_size * base_size * c0)
        self.fc7_dense = SNLinear(levels[FC7]["channels"], base_size * base_size * c0)
        self.fc8_dense = SNLinear(levels[FC8]["channels"], base_size * base_size * c0)
        self.injections = [dict(inj, index=LEVEL_NAMES.index(inj["level"])) for inj in cfg.injections]
        for inj in self.injections:
            lv = levels[inj["index"]]
            self.add_module(f"inject_{lv['name']}", SNConv2d(lv["channels"], channels[inj["stage"]], 1))
        for k in range(1, len(channels)):
            self.add_module(f"block{k}", GBlock(channels[k - 1], channels[k], cfg.numClasses))
        self.out_bn = CCBN(channels[-1], cfg.numClasses)
        self.out_conv = SNConv2d(channels[-1], 3, 3)
        self.spectral_norm = SpectralNormGroup(self)  # after the last SN layer

    @property
    def arch(self) -> dict:
        return dataclasses.asdict(self.cfg)

    def level_mask(self, index: int, on: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Effective mask of one level: on[:, l] times the image mask average-pooled to the level's size."""
        size = self.levels[index]["size"]
        m = on[:, index].view(-1, 1, 1, 1)
        if size is None:
            return m.view(-1, 1)
        return m * F.avg_pool2d(mask, self.image_size // size)

    def forward(
        self, z: torch.Tensor, y: torch.Tensor, feats: List[torch.Tensor], on: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        with self.spectral_norm.handed_out():  # every SN layer's power iteration and sigma, all at once
            b, s0 = z.shape[0], self.base_size
            h = self.z_dense(z)
            h = h + self.level_mask(FC7, on, mask) * self.fc7_dense(feats[FC7])
            h = h + self.level_mask(FC8, on, mask) * self.fc8_dense(feats[FC8])
            h = h.view(b, s0, s0, self.channels[0]).permute(0, 3, 1, 2)  # dense output is in NHWC order
            by_stage: Dict[int, List[dict]] = {}
            for inj in self.injections:
                by_stage.setdefault(inj["stage"], []).append(inj)
            for stage in range(len(self.channels)):
                if stage > 0:
                    h = getattr(self, f"block{stage}")(h, y)
                for inj in by_stage.get(stage, []):
                    i = inj["index"]
                    injected = self.level_mask(i, on, mask) * getattr(self, f"inject_{inj['level']}")(feats[i])
                    h = h + up(injected, h.shape[-1] // injected.shape[-1])
            return torch.tanh(self.out_conv(F.relu(self.out_bn(h, y))))


class DBlock(nn.Module):
    def __init__(self, cin: int, cout: int, downsample: bool, preactivation: bool):
        super().__init__()
        self.conv1 = SNConv2d(cin, cout, 3)
        self.conv2 = SNConv2d(cout, cout, 3)
        self.skip = SNConv2d(cin, cout, 1) if (cin != cout or downsample) else None
        self.downsample, self.preactivation = downsample, preactivation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = F.relu(x) if self.preactivation else x
        t = self.conv2(F.relu(self.conv1(t)))
        s = x
        if self.preactivation:
            s = self.skip(s) if self.skip is not None else s
            s = F.avg_pool2d(s, 2) if self.downsample else s
        else:
            s = F.avg_pool2d(s, 2) if self.downsample else s
            s = self.skip(s) if self.skip is not None else s
        return (F.avg_pool2d(t, 2) if self.downsample else t) + s


class SPDiscriminator(nn.Module):
    """Projection discriminator (Miyato & Koyama 2018) with spectral norm. Not exported."""

    def __init__(self, cfg: SpDConfig, num_classes: int = 10, image_size: int = 32):
        super().__init__()
        ch = cfg.ch
        n_down = int(math.log2(image_size // 4))
        blocks, cin = [], 3
        for i in range(n_down):
            blocks.append(DBlock(cin, ch, downsample=True, preactivation=i > 0))
            cin = ch
        blocks.append(DBlock(ch, ch, downsample=False, preactivation=True))
        self.blocks = nn.Sequential(*blocks)
        self.linear = SNLinear(ch, 1)
        self.embed = nn.Embedding(num_classes, ch)
        nn.init.normal_(self.embed.weight, std=0.02)
        self.spectral_norm = SpectralNormGroup(self)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # Each call is one power iteration: twice per SP step (D step and G step).
        with self.spectral_norm.handed_out():
            h = F.relu(self.blocks(x)).sum(dim=(2, 3))
            return self.linear(h).squeeze(1) + (self.embed(y) * h).sum(dim=1)
