"""PyTorch models of pyramid-playground.

These mirror the TypeScript models in src/engine/ (vgg.ts, sp.ts, lag.ts) one to one: module paths here are the
weight names there (with the model prefix vgg./sp./lag. and kernel/bias/scale/shift as the last part), see
docs/pack-format.md. Runs on torch 1.13 (CPU) and torch 2.x (CUDA).
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

LEVEL_NAMES = ["pool1", "pool2", "pool3", "pool4", "pool5", "fc7", "fc8"]
NUM_LEVELS = len(LEVEL_NAMES)
SPATIAL_LEVELS = 5  # pool1..pool5


def level_table(image_size: int, widths: Sequence[int], fc_width: int, num_classes: int) -> List[dict]:
    """The level table of docs/pack-format.md: name, stride, channels, spatial size (None for fc levels)."""
    table = []
    for b in range(5):
        stride = 2 ** (b + 1)
        table.append(dict(index=b, name=LEVEL_NAMES[b], stride=stride, channels=widths[b], size=image_size // stride))
    table.append(dict(index=5, name="fc7", stride=None, channels=fc_width, size=None))
    table.append(dict(index=6, name="fc8", stride=None, channels=num_classes, size=None))
    return table


# --------------------------------------------------------------------------------------------------------------
# Spectral norm, written out so that the weight names stay `weight` + `sn_u` on every torch version and the
# exporter can bake W / sigma with the same power-iteration vector the eval-mode forward uses.
# --------------------------------------------------------------------------------------------------------------
def _unit(x: torch.Tensor) -> torch.Tensor:
    """F.normalize(x, dim=0) for a vector, without its expand: x / max(|x|, 1e-12)."""
    return x / torch.linalg.vector_norm(x).clamp_min(1e-12)


class _SpectralNormMixin:
    weight: torch.Tensor

    def _init_sn(self) -> None:
        out_features = self.weight.shape[0]
        self.register_buffer("sn_u", F.normalize(torch.randn(out_features), dim=0))

    def _weight_matrix(self) -> torch.Tensor:
        """The weight as [out, rest] without a copy. A channels_last conv kernel is flattened in its memory order
        (O, H, W, I): sigma does not depend on the order of the columns, and v never leaves this layer."""
        w = self.weight
        if w.dim() == 4 and not w.is_contiguous() and w.is_contiguous(memory_format=torch.channels_last):
            w = w.permute(0, 2, 3, 1)
        return w.reshape(w.shape[0], -1)

    def normalized_weight(self) -> torch.Tensor:
        # sigma is computed in float32 even under bf16 autocast: it scales every weight of the layer.
        with torch.autocast(device_type=self.weight.device.type, enabled=False):
            w = self._weight_matrix().float()
            if self.training:
                with torch.no_grad():  # one power iteration per training step, as in Miyato et al. 2018
                    self.sn_u.copy_(_unit(torch.mv(w, _unit(torch.mv(w.t(), self.sn_u)))))
            # sigma = u . (W v) = (W^T u) . v with v = W^T u / |W^T u| held constant (gradient u v^T): the same
            # value as before, with one matrix-vector product instead of two, and v made without autograd.
            t = torch.mv(w.t(), self.sn_u)
            with torch.no_grad():
                v = _unit(t)
            return self.weight / torch.dot(t, v)


class SNConv2d(nn.Conv2d, _SpectralNormMixin):
    def __init__(self, cin: int, cout: int, k: int):
        super().__init__(cin, cout, k, padding=k // 2)
        self._init_sn()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.normalized_weight(), self.bias, padding=self.padding)


class SNLinear(nn.Linear, _SpectralNormMixin):
    def __init__(self, cin: int, cout: int):
        super().__init__(cin, cout)
        self._init_sn()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.normalized_weight(), self.bias)


def up(x: torch.Tensor, factor: int) -> torch.Tensor:
    return x if factor == 1 else F.interpolate(x, scale_factor=factor, mode="nearest")


# --------------------------------------------------------------------------------------------------------------
# VGG-16 pyramid
# --------------------------------------------------------------------------------------------------------------
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


class VGGPyramid(nn.Module):
    """VGG-16 (13 convs in 5 blocks, FC6, FC7, FC8) for small images; `pyramid()` returns the 7 levels."""

    def __init__(self, image_size: int = 32, widths: Sequence[int] = (32, 64, 128, 256, 256),
                 convs_per_block: Sequence[int] = (2, 2, 3, 3, 3), fc_width: int = 256, num_classes: int = 10,
                 dropout: float = 0.3):
        super().__init__()
        self.arch = dict(imageSize=image_size, widths=list(widths), convsPerBlock=list(convs_per_block),
                         fcWidth=fc_width, numClasses=num_classes)
        self.conv_names: List[List[str]] = []
        cin = 3
        for b, (width, n) in enumerate(zip(widths, convs_per_block), start=1):
            names = []
            for i in range(1, n + 1):
                name = f"conv{b}_{i}"
                self.add_module(name, ConvBNReLU(cin, width))
                names.append(name)
                cin = width
            self.conv_names.append(names)
        pool5_size = image_size // 32
        self.fc6 = nn.Linear(cin * pool5_size * pool5_size, fc_width)
        self.fc7 = nn.Linear(fc_width, fc_width)
        self.fc8 = nn.Linear(fc_width, num_classes)
        self.dropout = nn.Dropout(dropout)

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
    import copy

    frozen = copy.deepcopy(vgg).eval()
    for names in frozen.conv_names:
        for name in names:
            getattr(frozen, name).fold()
    for p in frozen.parameters():
        p.requires_grad_(False)
    return frozen


# --------------------------------------------------------------------------------------------------------------
# Semantic Pyramid generator
# --------------------------------------------------------------------------------------------------------------
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
    def __init__(self, levels: List[dict], image_size: int = 32, z_dim: int = 128, num_classes: int = 10,
                 base_size: int = 4, channels: Sequence[int] = (256, 256, 128, 64)):
        super().__init__()
        assert image_size == base_size * 2 ** (len(channels) - 1), "channels must take baseSize to imageSize"
        self.levels = levels
        self.image_size, self.z_dim, self.base_size, self.channels = image_size, z_dim, base_size, list(channels)
        c0 = channels[0]
        self.z_dense = SNLinear(z_dim, base_size * base_size * c0)
        self.fc7_dense = SNLinear(levels[5]["channels"], base_size * base_size * c0)
        self.fc8_dense = SNLinear(levels[6]["channels"], base_size * base_size * c0)
        # Each spatial level is injected at the first stage whose size is >= its own (stage 0 = base tensor).
        self.injections = []
        for lv in levels[:SPATIAL_LEVELS]:
            stage = 0 if lv["size"] <= base_size else int(round(math.log2(lv["size"] / base_size)))
            if stage >= len(channels) - 1:
                continue  # a level at full image resolution would be a copy of the input: not used
            self.add_module(f"inject_{lv['name']}", SNConv2d(lv["channels"], channels[stage], 1))
            self.injections.append(dict(level=lv["name"], index=lv["index"], stage=stage))
        for k in range(1, len(channels)):
            self.add_module(f"block{k}", GBlock(channels[k - 1], channels[k], num_classes))
        self.out_bn = CCBN(channels[-1], num_classes)
        self.out_conv = SNConv2d(channels[-1], 3, 3)
        self.arch = dict(zDim=z_dim, numClasses=num_classes, baseSize=base_size, channels=list(channels),
                         levelChannels=[lv["channels"] for lv in levels],
                         injections=[dict(level=i["level"], stage=i["stage"]) for i in self.injections])

    def level_mask(self, index: int, on: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Effective mask of one level: on[:, l] times the image mask average-pooled to the level's size."""
        size = self.levels[index]["size"]
        m = on[:, index].view(-1, 1, 1, 1)
        if size is None:
            return m.view(-1, 1)
        return m * F.avg_pool2d(mask, self.image_size // size)

    def forward(self, z: torch.Tensor, y: torch.Tensor, feats: List[torch.Tensor], on: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        b, s0 = z.shape[0], self.base_size
        h = self.z_dense(z)
        h = h + self.level_mask(5, on, mask) * self.fc7_dense(feats[5])
        h = h + self.level_mask(6, on, mask) * self.fc8_dense(feats[6])
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

    def __init__(self, num_classes: int = 10, ch: int = 128, image_size: int = 32):
        super().__init__()
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

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.blocks(x)).sum(dim=(2, 3))
        return self.linear(h).squeeze(1) + (self.embed(y) * h).sum(dim=1)


# --------------------------------------------------------------------------------------------------------------
# LAG
# --------------------------------------------------------------------------------------------------------------
def lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2)


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
    """Latent Adversarial Generator (Berthelot et al. 2020): low-res image + noise -> high-res candidates."""

    def __init__(self, scale: int = 4, lr_size: int = 8, noise_channels: int = 16, channels: int = 64,
                 res_blocks: int = 4, stage_channels: Sequence[int] = (64, 32), consistency: bool = True):
        super().__init__()
        assert 2 ** len(stage_channels) == scale, "one stage per factor of two"
        self.scale, self.lr_size, self.noise_channels, self.consistency = scale, lr_size, noise_channels, consistency
        self.stem = nn.Conv2d(3 + noise_channels, channels, 3, padding=1)
        for i in range(1, res_blocks + 1):
            self.add_module(f"res{i}", LAGResBlock(channels))
        self.res_blocks = res_blocks
        self.to_rgb0 = nn.Conv2d(channels, 3, 1)
        cin = channels
        for s, cout in enumerate(stage_channels, start=1):
            self.add_module(f"stage{s}", LAGStage(cin, cout))
            cin = cout
        self.num_stages = len(stage_channels)
        for m in self.modules():  # start near "upscale the input": small output convs
            if isinstance(m, nn.Conv2d) and m.out_channels == 3:
                nn.init.normal_(m.weight, std=1e-3)
                nn.init.zeros_(m.bias)
        self.arch = dict(scale=scale, lrSize=lr_size, noiseChannels=noise_channels, channels=channels,
                         resBlocks=res_blocks, stageChannels=list(stage_channels), consistency=consistency)

    def forward(self, lr: torch.Tensor, noise: torch.Tensor, amplitude: float | torch.Tensor = 1.0,
                project: Optional[bool] = None) -> torch.Tensor:
        h = lrelu(self.stem(torch.cat([lr, noise * amplitude], dim=1)))
        for i in range(1, self.res_blocks + 1):
            h = getattr(self, f"res{i}")(h)
        rgb = lr + self.to_rgb0(h)
        for s in range(1, self.num_stages + 1):
            stage = getattr(self, f"stage{s}")
            h = lrelu(stage.conv_a(up(h, 2)))
            h = lrelu(stage.conv_b(h))
            rgb = up(rgb, 2) + stage.to_rgb(h)
        if self.consistency if project is None else project:
            rgb = rgb + up(lr - F.avg_pool2d(rgb, self.scale), self.scale)
        return rgb.clamp(-1, 1)


class LAGDiscriminator(nn.Module):
    """Maps a high-res image to a latent at low resolution, then judges it together with the low-res input.
    `latent()` is the space in which LAG's generator loss compares the noise-0 output with the real image."""

    def __init__(self, scale: int = 4, channels: int = 64, latent_channels: int = 64):
        super().__init__()
        self.from_rgb = nn.Conv2d(3, channels, 1)
        self.down = nn.ModuleList()
        for _ in range(int(math.log2(scale))):
            self.down.append(nn.ModuleList([nn.Conv2d(channels, channels, 3, padding=1),
                                            nn.Conv2d(channels, channels, 3, padding=1)]))
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


def downscale(x: torch.Tensor, scale: int) -> torch.Tensor:
    """The low-res input of LAG: average pooling by the scale factor."""
    return F.avg_pool2d(x, scale)


# --------------------------------------------------------------------------------------------------------------
# Configurations
# --------------------------------------------------------------------------------------------------------------
CONFIGS = {
    # The default browser pack: VGG-16 at half width, ~3.5M-parameter SP generator, small LAG.
    "cifar10": dict(
        vgg=dict(image_size=32, widths=(32, 64, 128, 256, 256), convs_per_block=(2, 2, 3, 3, 3), fc_width=256),
        sp=dict(z_dim=128, base_size=4, channels=(256, 256, 128, 64)),
        sp_d=dict(ch=128),
        lag=dict(scale=4, lr_size=8, noise_channels=16, channels=64, res_blocks=4, stage_channels=(64, 32)),
        lag_d=dict(channels=64, latent_channels=64),
    ),
    # Tests and parity fixtures: same code paths, tiny widths.
    "tiny": dict(
        vgg=dict(image_size=32, widths=(4, 8, 8, 8, 8), convs_per_block=(2, 2, 3, 3, 3), fc_width=16),
        sp=dict(z_dim=8, base_size=4, channels=(16, 16, 8, 8)),
        sp_d=dict(ch=16),
        lag=dict(scale=4, lr_size=8, noise_channels=2, channels=8, res_blocks=1, stage_channels=(8, 4)),
        lag_d=dict(channels=8, latent_channels=8),
    ),
}


def build_models(config: str | dict, num_classes: int = 10) -> Dict[str, nn.Module]:
    cfg = CONFIGS[config] if isinstance(config, str) else config
    vgg = VGGPyramid(num_classes=num_classes, **cfg["vgg"])
    image_size = cfg["vgg"]["image_size"]
    levels = level_table(image_size, cfg["vgg"]["widths"], cfg["vgg"]["fc_width"], num_classes)
    return dict(
        vgg=vgg,
        sp=SPGenerator(levels, image_size=image_size, num_classes=num_classes, **cfg["sp"]),
        sp_d=SPDiscriminator(num_classes=num_classes, image_size=image_size, **cfg["sp_d"]),
        lag=LAGGenerator(**cfg["lag"]),
        lag_d=LAGDiscriminator(scale=cfg["lag"]["scale"], **cfg["lag_d"]),
    )


def param_count(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
