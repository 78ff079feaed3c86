"""Reference forward passes over EXPORTED weights, written from docs/pack-format.md alone.

This is what the TypeScript engine implements, op for op: NHWC tensors at the boundary, HWIO kernels, folded
BatchNorm, baked spectral norm. The tests check it against the training modules of pipeline/models (so the document
is right), and pipeline/fixtures.py computes the parity fixtures with it from the float16-rounded weights (so TS can
be checked).
"""
from __future__ import annotations

from typing import List, Mapping

import numpy as np
import torch
import torch.nn.functional as F

from pipeline.levels import FC7, FC8, LEVEL_NAMES

Weights = Mapping[str, np.ndarray]


def _t(w: Weights, name: str) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(w[name], dtype=np.float32))


def _nchw(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 3, 1, 2)


def _nhwc(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1).contiguous()


def conv(x: torch.Tensor, w: Weights, name: str) -> torch.Tensor:
    """NCHW conv with an HWIO kernel, stride 1, same padding."""
    k = _t(w, f"{name}.kernel").permute(3, 2, 0, 1)
    padding = w[f"{name}.kernel"].shape[0] // 2  # from the array, a plain int even when traced for ONNX export
    return F.conv2d(x, k, _t(w, f"{name}.bias") if f"{name}.bias" in w else None, padding=padding)


def dense(x: torch.Tensor, w: Weights, name: str) -> torch.Tensor:
    return x @ _t(w, f"{name}.kernel") + _t(w, f"{name}.bias")


def class_rows(table: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Rows of a [numClasses, C] table per batch entry: y is [B] class indices, or [B, numClasses] weights that
    blend the rows (a one-hot row is the same as its index)."""
    return y.float() @ table if y.dim() == 2 else table[y.long()]


def ccbn(x: torch.Tensor, y: torch.Tensor, w: Weights, name: str) -> torch.Tensor:
    scale = class_rows(_t(w, f"{name}.scale"), y)
    shift = class_rows(_t(w, f"{name}.shift"), y)
    return x * scale[:, :, None, None] + shift[:, :, None, None]


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation of two noise vectors (float64 math, float32 result), as src/engine/interpolation.ts:
    t = 0 and 1 give the endpoints; nearly parallel vectors (angle below 1e-6) are blended linearly."""
    a64, b64 = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    if t == 0 or t == 1:
        return (a if t == 0 else b).astype(np.float32).copy()
    norms = np.linalg.norm(a64) * np.linalg.norm(b64)
    theta = float(np.arccos(np.clip(a64 @ b64 / norms, -1, 1))) if norms > 0 else 0.0
    wa, wb = 1 - t, t
    if theta > 1e-6:
        wa, wb = np.sin((1 - t) * theta) / np.sin(theta), np.sin(t * theta) / np.sin(theta)
    return (wa * a64 + wb * b64).astype(np.float32).reshape(a.shape)


def class_weights(class_a: int, class_b: int, t: float, num_classes: int) -> np.ndarray:
    """(1 - t) on class_a plus t on class_b: the class of an interpolation frame."""
    row = np.zeros(num_classes, dtype=np.float32)
    row[class_a] += 1 - t
    row[class_b] += t
    return row


def up(x: torch.Tensor, factor: int) -> torch.Tensor:
    return x if factor == 1 else F.interpolate(x, scale_factor=factor, mode="nearest")


@torch.no_grad()
def vgg_pyramid(w: Weights, arch: dict, image_nhwc: torch.Tensor) -> List[torch.Tensor]:
    """Returns the 7 levels, spatial ones NHWC."""
    x = _nchw(image_nhwc)
    levels = []
    for b, n in enumerate(arch["convsPerBlock"], start=1):
        for i in range(1, n + 1):
            x = F.relu(conv(x, w, f"vgg.conv{b}_{i}"))
        x = F.max_pool2d(x, 2)
        levels.append(_nhwc(x))
    h = F.relu(dense(levels[-1].flatten(1), w, "vgg.fc6"))  # NHWC flatten order
    fc7 = F.relu(dense(h, w, "vgg.fc7"))
    return levels + [fc7, dense(fc7, w, "vgg.fc8")]


@torch.no_grad()
def sp_generate(
    w: Weights,
    arch: dict,
    levels: List[dict],
    z: torch.Tensor,
    y: torch.Tensor,
    feats: List[torch.Tensor],
    on: torch.Tensor,
    mask_nhwc: torch.Tensor,
) -> torch.Tensor:
    # Sizes from the architecture, as plain ints: traced for ONNX export (export_onnx.py), tensor shapes would turn
    # into tensors that avg_pool2d and interpolate refuse. The pack schema makes them equal to the mask's size.
    s0, c0 = arch["baseSize"], arch["channels"][0]
    image_size = s0 * 2 ** (len(arch["channels"]) - 1)
    mask = _nchw(mask_nhwc)
    y = y.float() if y.dim() == 2 else y.long()  # [B, numClasses] weights blend classes (ccbn)

    def level_mask(i: int) -> torch.Tensor:
        m = on[:, i].view(-1, 1, 1, 1)
        size = levels[i]["size"]
        return m.view(-1, 1) if size is None else m * F.avg_pool2d(mask, image_size // size)

    h = dense(z, w, "sp.z_dense")
    h = (
        h
        + level_mask(FC7) * dense(feats[FC7], w, "sp.fc7_dense")
        + level_mask(FC8) * dense(feats[FC8], w, "sp.fc8_dense")
    )
    h = _nchw(h.view(-1, s0, s0, c0))
    for stage in range(len(arch["channels"])):
        if stage > 0:
            p = f"sp.block{stage}"
            t = conv(up(F.relu(ccbn(h, y, w, f"{p}.bn1")), 2), w, f"{p}.conv1")
            t = conv(F.relu(ccbn(t, y, w, f"{p}.bn2")), w, f"{p}.conv2")
            h = t + conv(up(h, 2), w, f"{p}.skip")
        for inj in arch["injections"]:
            if inj["stage"] != stage:
                continue
            i = LEVEL_NAMES.index(inj["level"])
            injected = level_mask(i) * conv(_nchw(feats[i]), w, f"sp.inject_{inj['level']}")
            h = h + up(injected, s0 * 2**stage // levels[i]["size"])
    out = torch.tanh(conv(F.relu(ccbn(h, y, w, "sp.out_bn")), w, "sp.out_conv"))
    return _nhwc(out)


def up_image(x: torch.Tensor, factor: int, mode: str) -> torch.Tensor:
    """LAG's image-path upsampling: nearest, or bilinear with half-pixel centres and edge pixels repeated."""
    if factor == 1 or mode == "nearest":
        return up(x, factor)
    return F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)


@torch.no_grad()
def lag_generate(
    w: Weights, arch: dict, lr_nhwc: torch.Tensor, noise_nhwc: torch.Tensor, amplitude: float
) -> torch.Tensor:
    lrelu = lambda t: F.leaky_relu(t, 0.2)  # noqa: E731
    mode = arch.get("upsample", "nearest")
    lr = _nchw(lr_nhwc)
    h = lrelu(conv(torch.cat([lr, _nchw(noise_nhwc) * amplitude], 1), w, "lag.stem"))
    for i in range(1, arch["resBlocks"] + 1):
        h = h + conv(lrelu(conv(h, w, f"lag.res{i}.conv1")), w, f"lag.res{i}.conv2")
    rgb = lr + conv(h, w, "lag.to_rgb0")
    for s in range(1, len(arch["stageChannels"]) + 1):
        h = lrelu(conv(up(h, 2), w, f"lag.stage{s}.conv_a"))
        h = lrelu(conv(h, w, f"lag.stage{s}.conv_b"))
        rgb = up_image(rgb, 2, mode) + conv(h, w, f"lag.stage{s}.to_rgb")
    if arch["consistency"]:
        rgb = rgb + up_image(lr - F.avg_pool2d(rgb, arch["scale"]), arch["scale"], mode)
    return _nhwc(rgb.clamp(-1, 1))
