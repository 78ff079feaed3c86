"""Augmentation and masks, every random number drawn on the device (a CUDA graph replays the draws): flips, crops,
cutout for the classifier; blob masks for the Semantic Pyramid's painted regions."""
from __future__ import annotations

from typing import Dict

import torch
import torch.nn.functional as F


def flip_draw(n: int, device: torch.device, generator: torch.Generator | None = None) -> torch.Tensor:
    return torch.rand(n, device=device, generator=generator) < 0.5


CROP_PAD = 4


def crop_draw(n: int, device: torch.device, generator: torch.Generator | None = None) -> torch.Tensor:
    """Offsets [2, n] (dy, dx) of random crops from images reflect-padded by CROP_PAD."""
    dy = torch.randint(0, 2 * CROP_PAD + 1, (n,), device=device, generator=generator)
    dx = torch.randint(0, 2 * CROP_PAD + 1, (n,), device=device, generator=generator)
    return torch.stack([dy, dx])


def augment(
    batch_u8: torch.Tensor,
    crop: bool,
    generator: torch.Generator | None = None,
    flip: torch.Tensor | None = None,
    shift: torch.Tensor | None = None,
) -> torch.Tensor:
    """uint8 NCHW -> float [-1, 1] with random horizontal flips and (optionally) 4-pixel reflect-padded crops,
    drawn here or given (flip: bool [n] from flip_draw, shift: [2, n] from crop_draw)."""
    x = batch_u8.float().div_(127.5).sub_(1.0)
    n, _, h, w = x.shape
    dev = x.device
    flip = flip_draw(n, dev, generator) if flip is None else flip
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    if crop:
        pad = CROP_PAD
        xp = F.pad(x, (pad, pad, pad, pad), mode="reflect")
        dy, dx = crop_draw(n, dev, generator) if shift is None else shift
        rows = torch.arange(h, device=dev)[None, :] + dy[:, None]  # [n, h]
        cols = torch.arange(w, device=dev)[None, :] + dx[:, None]  # [n, w]
        idx_n = torch.arange(n, device=dev)[:, None, None]
        x = xp.permute(0, 2, 3, 1)[idx_n, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    return x.contiguous()


def cutout(x: torch.Tensor, centers: torch.Tensor | None, size: int) -> torch.Tensor:
    """Cutout (DeVries & Taylor 2017): rows and columns [c - size // 2, c - size // 2 + size) around each image's
    centre (centers [n, 2], row and column, anywhere in the image; the square is clipped at the border) set to 0,
    the mid-grey of [-1, 1]."""
    if size <= 0:
        return x
    rows = torch.arange(x.shape[2], device=x.device)[None, :] - centers[:, :1] + size // 2  # [n, h]
    cols = torch.arange(x.shape[3], device=x.device)[None, :] - centers[:, 1:] + size // 2  # [n, w]
    in_rows, in_cols = (rows >= 0) & (rows < size), (cols >= 0) & (cols < size)
    return x.masked_fill(in_rows[:, None, :, None] & in_cols[:, None, None, :], 0.0)


def blob_draws(n: int, device: torch.device) -> Dict[str, torch.Tensor]:
    """The random numbers of n blob masks: up to three blobs each, centres and widths as fractions of the size."""
    return dict(
        blob_centers=torch.rand(n, 3, 2, device=device),
        blob_sigmas=torch.rand(n, 3, device=device),
        blob_active=torch.rand(n, 3, device=device),
    )


def blob_masks_from(draws: Dict[str, torch.Tensor], size: int) -> torch.Tensor:
    """Blob-shaped binary masks [n, 1, size, size] from blob_draws: one to three Gaussian blobs, thresholded."""
    device = draws["blob_centers"].device
    coords = torch.arange(size, device=device, dtype=torch.float32) + 0.5
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    centers = draws["blob_centers"] * size
    sigmas = (0.12 + 0.22 * draws["blob_sigmas"]) * size
    # The first blob always, the others with probability 0.5 (as rand < [1.0, 0.5, 0.5], without making a tensor
    # from Python data on the device: a CUDA graph cannot capture that copy).
    active = (draws["blob_active"] < 0.5) | (torch.arange(3, device=device) == 0)
    d2 = (yy[None, None] - centers[..., 0, None, None]) ** 2 + (xx[None, None] - centers[..., 1, None, None]) ** 2
    g = torch.exp(-d2 / (2 * sigmas[..., None, None] ** 2)) * active[..., None, None]
    return (g.sum(1, keepdim=True) > 0.5).float()


def blob_masks(n: int, size: int, device: torch.device) -> torch.Tensor:
    """n random blob-shaped binary masks [n, 1, size, size]."""
    return blob_masks_from(blob_draws(n, device), size)
