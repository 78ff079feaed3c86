"""Spectral norm (Miyato et al. 2018), written out so that the weight names stay `weight` + `sn_u` on every torch
version and the exporter can bake W / sigma with the same power-iteration vector the eval-mode forward uses.

Used by the Semantic Pyramid generator and discriminator (models/sp.py). The browser never sees it: the exporter
bakes the normalised weights (docs/pack-format.md).
"""
from __future__ import annotations

import contextlib
import math
from typing import Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


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
            # sigma = u . (W v) = (W^T u) . v with v = W^T u / |W^T u| held constant (gradient u v^T): one
            # matrix-vector product instead of two, and v made without autograd.
            t = torch.mv(w.t(), self.sn_u)
            with torch.no_grad():
                v = _unit(t)
            return self.weight / torch.dot(t, v)

    def _sn_weight(self) -> torch.Tensor:
        """The weight the forward uses: the one this model's SpectralNormGroup handed over for this forward (taken,
        so that a second call in the same forward computes its own), else this layer's own."""
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
    """ "rows" if the weight's memory holds its rows [O, ...] one after the other in its own dimension order, "ohwi"
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
    operators does not grow with the layers, except one or two views per layer to flatten its weight and to
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
        if (
            not ws
            or len({m.training for m in self.layers}) != 1
            or len({w.device for w in ws}) != 1
            or any(w.dtype != torch.float32 for w in ws)
            or any(kind is None for _, kind in layout)
        ):
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
            flats = [
                (m.weight.permute(0, 2, 3, 1) if kind == "ohwi" else m.weight).reshape(-1)
                for m, (_, kind) in zip(self.layers, layout[1:])
            ]
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
            raise RuntimeError(
                f"{len(unused)} spectrally-normalised layers did not run in this forward, but their "
                "power iteration advanced: the model must call every SN layer once per forward"
            )
