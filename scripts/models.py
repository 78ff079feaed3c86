"""PyTorch models of pyramid-playground.

These mirror the TypeScript models in src/engine/ (vgg.ts, sp.ts, lag.ts) one to one: module paths here are the
weight names there (with the model prefix vgg./sp./lag. and kernel/bias/scale/shift as the last part), see
docs/pack-format.md. Runs on torch 1.13 (CPU) and torch 2.x (CUDA).
"""
from __future__ import annotations

import contextlib
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

    def _sn_weight(self) -> torch.Tensor:
        """The weight the forward uses: the one this model's SpectralNormGroup handed over for this forward (taken,
        so that a second call in the same forward computes its own, as before), else this layer's own."""
        handed = self.__dict__.pop("_sn_handed", None)
        return self.normalized_weight() if handed is None else handed


class SNConv2d(nn.Conv2d, _SpectralNormMixin):
    def __init__(self, cin: int, cout: int, k: int):
        super().__init__(cin, cout, k, padding=k // 2)
        self._init_sn()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self._sn_weight(), self.bias, padding=self.padding)


class SNLinear(nn.Linear, _SpectralNormMixin):
    def __init__(self, cin: int, cout: int):
        super().__init__(cin, cout)
        self._init_sn()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self._sn_weight(), self.bias)


def _kernel_layout(w: torch.Tensor) -> Optional[str]:
    """"rows" if the weight's memory holds its rows [O, ...] one after the other in its own dimension order, "ohwi"
    if it is a channels_last kernel (strides exactly those, so that a 1x1 kernel keeps its strides too), else None."""
    if w.dim() == 4:
        o, i, h, kw = w.shape
        contiguous = w.is_contiguous() and w.stride() == (i * h * kw, h * kw, kw, 1)
        if w.stride() == (h * kw * i, 1, kw * i, i) and not contiguous:
            return "ohwi"
    return "rows" if w.is_contiguous() else None


class SpectralNormGroup:
    """The spectral norm of all SN layers of one model, computed together once per forward of the model.

    Layer by layer, the power iteration and sigma are ~19 small operators (matrix-vector products, norms, copies),
    each a kernel launch on a GPU: ~780 per SP step, where the step is bound by the host. Here every weight matrix
    W_i [o_i, k_i] is one segment of a single flat vector w (its rows in memory order, as in _weight_matrix), and
    each layer's W^T u and W v become, for all layers at once, a gather of u (or v) to the entries of w, a product
    and a segment sum (index_add_). Per-layer vector norms and dot products are segment sums too. The number of
    operators no longer grows with the layers, except one or two views per layer to flatten its weight and to
    hand its normalised weight back in its own shape and memory format.

    The arithmetic is _SpectralNormMixin.normalized_weight's, per layer: in training one power iteration under
    no_grad that updates each layer's own `sn_u` (none in eval mode), then sigma = (W^T u) . v with v = W^T u /
    |W^T u| held constant, W / sigma, all in float32 under autocast. Sums are taken in a different order, so the
    results agree to float round-off (on CUDA index_add_ sums with atomics: not bitwise reproducible, like cuDNN).

    Use: the model's forward runs inside `with self.spectral_norm.handed_out():`; each SN layer then takes its
    weight from there instead of computing it. Every SN layer of the model must run once per forward (the power
    iteration of all of them has advanced): checked on exit. The group is a plain object, not a module, so that
    parameter and buffer names stay those of the layers (`weight`, `bias`, `sn_u`).
    """

    # False: every layer computes its own (the per-layer path), e.g. `--sn-per-layer` to A/B the two on a GPU.
    enabled = True

    def __init__(self, model: nn.Module):
        self.layers: List[nn.Module] = [m for m in model.modules() if isinstance(m, _SpectralNormMixin)]
        self._indices: Dict[tuple, tuple] = {}  # layout -> index tensors, built once per device and layout

    def _layout(self) -> Optional[tuple]:
        """Device and (shape, memory layout) of every weight; None where the layers cannot be grouped exactly as
        they would run alone (mixed train/eval modes or devices, weights not float32 or in an odd layout)."""
        ws = [m.weight for m in self.layers]
        layout = tuple((tuple(w.shape), _kernel_layout(w)) for w in ws)
        if not ws or len({m.training for m in self.layers}) != 1 or len({w.device for w in ws}) != 1 \
                or any(w.dtype != torch.float32 for w in ws) or any(kind is None for _, kind in layout):
            return None
        return (ws[0].device,) + layout

    def _index(self, layout: tuple):
        """For the flat weight vector (N entries), its row vector (R = sum o_i) and column vector (C = sum k_i):
        the row and the column of each entry, the layer of each row and of each column. int32 (index_select and
        index_add_ take it) to halve the two N-long tensors."""
        if layout not in self._indices:
            dev, shapes = layout[0], [s for s, _ in layout[1:]]
            rows, cols, row_layer, col_layer = [], [], [], []
            r0 = c0 = 0
            for i, shape in enumerate(shapes):
                o, k = shape[0], math.prod(shape[1:])
                rows.append(torch.arange(r0, r0 + o, dtype=torch.int32).repeat_interleave(k))
                cols.append(torch.arange(c0, c0 + k, dtype=torch.int32).repeat(o))
                row_layer.append(torch.full((o,), i, dtype=torch.int32))
                col_layer.append(torch.full((k,), i, dtype=torch.int32))
                r0, c0 = r0 + o, c0 + k
            self._indices[layout] = tuple(torch.cat(t).to(dev) for t in (rows, cols, row_layer, col_layer))
        return self._indices[layout]

    def normalized_weights(self) -> Optional[List[torch.Tensor]]:
        """W_i / sigma_i for every layer (after one power iteration in training), or None if not groupable."""
        layout = self._layout() if SpectralNormGroup.enabled else None
        if layout is None:
            return None
        rows, cols, row_layer, col_layer = self._index(layout)
        n_layers, n_rows, n_cols = len(self.layers), row_layer.shape[0], col_layer.shape[0]

        def seg_sum(x: torch.Tensor, index: torch.Tensor, n: int) -> torch.Tensor:
            return x.new_zeros(n).index_add_(0, index, x)

        def seg_unit(x: torch.Tensor, seg: torch.Tensor) -> torch.Tensor:
            """_unit of each layer's segment of x (no_grad only: in-place on the norms)."""
            norm = seg_sum(x * x, seg, n_layers).sqrt_().clamp_min_(1e-12)
            return x / norm.index_select(0, seg)

        # sigma in float32 even under bf16 autocast: it scales every weight of the layer.
        with torch.autocast(device_type=layout[0].type, enabled=False):
            # Each weight as its rows in memory order, without a copy (channels_last kernels as O, H, W, I).
            flats = [(m.weight.permute(0, 2, 3, 1) if kind == "ohwi" else m.weight).reshape(-1)
                     for m, (_, kind) in zip(self.layers, layout[1:])]
            w = torch.cat(flats)
            us = [m.sn_u for m in self.layers]
            with torch.no_grad():
                u = torch.cat(us)
                if self.layers[0].training:  # one power iteration per training forward, as in Miyato et al. 2018
                    v = seg_unit(seg_sum(w * u.index_select(0, rows), cols, n_cols), col_layer)  # W^T u
                    u = seg_unit(seg_sum(w * v.index_select(0, cols), rows, n_rows), row_layer)  # W v
                    torch._foreach_zero_(us)  # zero + add: an exact copy into each layer's own buffer
                    torch._foreach_add_(us, list(u.split([m.sn_u.shape[0] for m in self.layers])))
            # sigma = (W^T u) . v with v = W^T u / |W^T u| held constant: gradient u v^T, as per layer.
            t = seg_sum(w * u.index_select(0, rows), cols, n_cols)
            with torch.no_grad():
                v = seg_unit(t, col_layer)
            sigma = seg_sum(t * v, col_layer, n_layers)
            normalized = w / sigma.index_select(0, row_layer).index_select(0, rows)
            out = []
            for chunk, (shape, kind) in zip(normalized.split([f.shape[0] for f in flats]), layout[1:]):
                if kind == "ohwi":  # back to [O, I, H, W] with the weight's strides, as W / sigma would have
                    o, i, kh, kw = shape
                    out.append(chunk.view(o, kh, kw, i).permute(0, 3, 1, 2))
                else:
                    out.append(chunk.view(shape))
            return out

    @contextlib.contextmanager
    def handed_out(self):
        """Hands every SN layer its normalised weight for the forward run inside this block."""
        weights = self.normalized_weights()
        if weights is None:  # each layer computes its own, as when used alone
            yield
            return
        for m, w in zip(self.layers, weights):
            m._sn_handed = w
        try:
            yield
        finally:  # drop what was not taken (also on an exception), so that no graph outlives the forward
            unused = [m for m in self.layers if m.__dict__.pop("_sn_handed", None) is not None]
        if unused:
            raise RuntimeError(f"{len(unused)} spectrally-normalised layers did not run in this forward, but their "
                               "power iteration advanced: the model must call every SN layer once per forward")


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
        self.spectral_norm = SpectralNormGroup(self)  # after the last SN layer

    def level_mask(self, index: int, on: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Effective mask of one level: on[:, l] times the image mask average-pooled to the level's size."""
        size = self.levels[index]["size"]
        m = on[:, index].view(-1, 1, 1, 1)
        if size is None:
            return m.view(-1, 1)
        return m * F.avg_pool2d(mask, self.image_size // size)

    def forward(self, z: torch.Tensor, y: torch.Tensor, feats: List[torch.Tensor], on: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        with self.spectral_norm.handed_out():  # every SN layer's power iteration and sigma, all at once
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
        self.spectral_norm = SpectralNormGroup(self)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # Once per call, so twice per SP step (D step and G step) as before: each call is one power iteration.
        with self.spectral_norm.handed_out():
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
