"""LAG generator and discriminator; the generator is the twin of src/engine/lag.ts.

Latent Adversarial Generator (Berthelot et al. 2020): a low-resolution image plus noise -> high-resolution
candidates; amplitude 0 gives the deterministic output. The discriminator is used in training only.

The arch's `upsample` ("nearest" when absent) picks how the image path (the input, then each stage's RGB) and the
back-projection's residual are upsampled. "nearest" replicates pixels: the learned residuals must hide a block grid
of `scale` x `scale` pixels. "bilinear" (half-pixel centres, edge pixels repeated: PyTorch's align_corners=False,
TF.js's halfPixelCenters=true) starts from a smooth image; its back-projection is then close to, not exactly,
consistent with the input (tests/python/test_lag_upsample.py measures how close).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from pipeline.config import LagConfig, LagDConfig
from pipeline.models.common import up

UPSAMPLE_MODES = ("nearest", "bilinear")


def upsample_image(x: torch.Tensor, factor: int, mode: str) -> torch.Tensor:
    """The image path's upsampling by an integer factor: `up` for "nearest", half-pixel bilinear for "bilinear"."""
    if factor == 1 or mode == "nearest":
        return up(x, factor)
    return F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)


def lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2)


def downscale(x: torch.Tensor, scale: int) -> torch.Tensor:
    """The low-res input of LAG: average pooling by the scale factor."""
    return F.avg_pool2d(x, scale)


class LAGResBlock(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.conv2(lrelu(self.conv1(h)))


class LAGStage(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv_a = nn.Conv2d(cin, cout, 3, padding=1)
        self.conv_b = nn.Conv2d(cout, cout, 3, padding=1)
        self.to_rgb = nn.Conv2d(cout, 3, 1)


class LAGGenerator(nn.Module):
    def __init__(self, cfg: LagConfig = LagConfig()):
        super().__init__()
        assert 2 ** len(cfg.stageChannels) == cfg.scale, "one stage per factor of two"
        self.cfg = cfg
        self.scale, self.lr_size, self.noise_channels = cfg.scale, cfg.lrSize, cfg.noiseChannels
        self.consistency = cfg.consistency
        self.upsample = cfg.upsample
        if self.upsample not in UPSAMPLE_MODES:
            raise ValueError(f"LAG upsample must be one of {UPSAMPLE_MODES}, got {self.upsample!r}")
        self.stem = nn.Conv2d(3 + cfg.noiseChannels, cfg.channels, 3, padding=1)
        for i in range(1, cfg.resBlocks + 1):
            self.add_module(f"res{i}", LAGResBlock(cfg.channels))
        self.res_blocks = cfg.resBlocks
        self.to_rgb0 = nn.Conv2d(cfg.channels, 3, 1)
        cin = cfg.channels
        for s, cout in enumerate(cfg.stageChannels, start=1):
            self.add_module(f"stage{s}", LAGStage(cin, cout))
            cin = cout
        self.num_stages = len(cfg.stageChannels)
        for m in self.modules():  # start near "upscale the input": small output convs
            if isinstance(m, nn.Conv2d) and m.out_channels == 3:
                nn.init.normal_(m.weight, std=1e-3)
                nn.init.zeros_(m.bias)

    @property
    def arch(self) -> dict:
        return dataclasses.asdict(self.cfg)

    def forward(
        self,
        lr: torch.Tensor,
        noise: torch.Tensor,
        amplitude: float | torch.Tensor = 1.0,
        project: Optional[bool] = None,
    ) -> torch.Tensor:
        h = lrelu(self.stem(torch.cat([lr, noise * amplitude], dim=1)))
        for i in range(1, self.res_blocks + 1):
            h = getattr(self, f"res{i}")(h)
        rgb = lr + self.to_rgb0(h)
        for s in range(1, self.num_stages + 1):
            stage = getattr(self, f"stage{s}")
            h = lrelu(stage.conv_a(up(h, 2)))
            h = lrelu(stage.conv_b(h))
            rgb = upsample_image(rgb, 2, self.upsample) + stage.to_rgb(h)
        if self.consistency if project is None else project:
            rgb = rgb + upsample_image(lr - F.avg_pool2d(rgb, self.scale), self.scale, self.upsample)
        return rgb.clamp(-1, 1)


class LAGDiscriminator(nn.Module):
    """Maps a high-res image to a latent at low resolution, then judges it together with the low-res input.
    `latent()` is the space in which LAG's generator loss compares the noise-0 output with the real image."""

    def __init__(self, cfg: LagDConfig = LagDConfig(), scale: int = 4):
        super().__init__()
        channels, latent_channels = cfg.channels, cfg.latentChannels
        self.from_rgb = nn.Conv2d(3, channels, 1)
        self.down = nn.ModuleList()
        for _ in range(int(math.log2(scale))):
            self.down.append(
                nn.ModuleList(
                    [nn.Conv2d(channels, channels, 3, padding=1), nn.Conv2d(channels, channels, 3, padding=1)]
                )
            )
        self.to_latent = nn.Conv2d(channels, latent_channels, 3, padding=1)
        self.judge1 = nn.Conv2d(latent_channels + 3, channels, 3, padding=1)
        self.judge2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.score = nn.Linear(channels, 1)

    def latent(self, hr: torch.Tensor) -> torch.Tensor:
        h = lrelu(self.from_rgb(hr))
        for conv_a, conv_b in self.down:
            h = F.avg_pool2d(lrelu(conv_b(lrelu(conv_a(h)))), 2)
        return self.to_latent(h)

    def forward(self, hr: torch.Tensor, lr: torch.Tensor, latent: Optional[torch.Tensor] = None) -> torch.Tensor:
        z = self.latent(hr) if latent is None else latent
        h = lrelu(self.judge1(torch.cat([lrelu(z), lr], dim=1)))
        h = lrelu(self.judge2(h))
        return self.score(h.mean(dim=(2, 3))).squeeze(1)
