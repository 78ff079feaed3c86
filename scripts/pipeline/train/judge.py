"""Training of the judge (scripts/pipeline/models/judge.py) on any `<class>/<image>` data set.

The recipe is the one of the fast CIFAR-10 trainings: a fixed patch-whitening stem, BN, label smoothing 0.2, Nesterov
SGD with a linear warm-up then linear decay to zero, random flip + translate (reflect-padded) augmentation, and flip
averaging at test time. Images are decoded once (PIL: centre crop to a square, antialiased resize) and kept in memory
as uint8 tensors; augmentation and normalisation run on whole batches.
"""
from __future__ import annotations

import io
import math
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from ..models.judge import JudgeNet

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def _decode(data: bytes, size: int) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        im = im.convert("RGB")
        w, h = im.size
        side = min(w, h)
        if (w, h) != (side, side):
            left, top = (w - side) // 2, (h - side) // 2
            im = im.crop((left, top, left + side, top + side))
        if side != size:
            # PIL widens the bicubic kernel by the scale factor when shrinking: this is an antialiased resize.
            im = im.resize((size, size), Image.BICUBIC)
        return np.asarray(im, dtype=np.uint8)


def read_image_folder(
    path, size: int, limit_per_class: Optional[int] = None
) -> Tuple[torch.Tensor, torch.Tensor, List[str]]:
    """Reads `<class>/<image>` from a .zip archive or a directory. Returns (uint8 [N, 3, size, size],
    int64 labels [N], class names). Classes are the sorted folder names (CIFAR-10's conventional order is sorted)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if path.is_dir():
        files = sorted(p for p in path.glob("*/*") if p.suffix.lower() in IMAGE_SUFFIXES)
        entries = [(p.parent.name, p) for p in files]
        reader: Callable = lambda p: p.read_bytes()
        archive = None
    else:
        archive = zipfile.ZipFile(path)
        names = sorted(n for n in archive.namelist() if n.lower().endswith(IMAGE_SUFFIXES))
        entries = [(n.split("/")[-2], n) for n in names if len(n.split("/")) >= 2]
        reader = archive.read
    try:
        class_names = sorted({c for c, _ in entries})
        if len(class_names) < 2:
            raise ValueError(f"{path}: expected images under at least two <class>/ folders, found {class_names}")
        if limit_per_class is not None:
            kept, seen = [], {}
            for c, e in entries:
                if seen.get(c, 0) < limit_per_class:
                    kept.append((c, e))
                    seen[c] = seen.get(c, 0) + 1
            entries = kept
        images = np.empty((len(entries), size, size, 3), dtype=np.uint8)
        for i, (_, e) in enumerate(entries):
            images[i] = _decode(reader(e), size)
    finally:
        if archive is not None:
            archive.close()
    labels = torch.tensor([class_names.index(c) for c, _ in entries], dtype=torch.int64)
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), labels, class_names


def to_signed_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 NCHW -> float32 in [-1, 1] (the packs' range and the judge's input range)."""
    return images.float().div_(127.5).sub_(1.0)


def augment(images: torch.Tensor, generator: torch.Generator, translate: int) -> torch.Tensor:
    """Random horizontal flip and random translation by up to `translate` pixels (reflect padding), per image."""
    n, _, h, w = images.shape
    flip = torch.rand(n, generator=generator) < 0.5
    out = torch.where(flip.view(n, 1, 1, 1), images.flip(3), images)
    if translate <= 0:
        return out
    padded = F.pad(out.float(), (translate,) * 4, mode="reflect").to(images.dtype)
    shifts = torch.randint(0, 2 * translate + 1, (n, 2), generator=generator)
    result = torch.empty_like(out)
    # Grouping by shift turns n small crops into at most (2t+1)^2 batched slices.
    codes = shifts[:, 0] * (2 * translate + 1) + shifts[:, 1]
    for code in torch.unique(codes).tolist():
        idx = torch.nonzero(codes == code).squeeze(1)
        dy, dx = divmod(code, 2 * translate + 1)
        result[idx] = padded[idx, :, dy : dy + h, dx : dx + w]
    return result


@dataclass
class JudgeConfig:
    epochs: float = 10.0
    batch_size: int = 512
    lr: float = 0.4
    momentum: float = 0.9
    weight_decay: float = 5e-4
    label_smoothing: float = 0.2
    warmup_fraction: float = 0.2
    translate: int = 2
    widths: Sequence[int] = field(default_factory=lambda: (64, 256, 256))
    seed: int = 12
    channels_last: bool = False  # faster only where oneDNN has AMX kernels; slower on AVX2 CPUs
    bf16: bool = False
    # Wall-clock budget in seconds (None: none). On a shared CPU the schedule then follows whichever of steps and
    # time is further along, and training stops when either is used up, so that the rate still decays to zero.
    time_budget_s: Optional[float] = None


def lr_at(progress: float, config: JudgeConfig) -> float:
    """Linear warm-up from 0 to config.lr over warmup_fraction of the run, then linear decay to 0 at progress 1."""
    warm = max(1e-6, config.warmup_fraction)
    if progress < warm:
        return config.lr * max(progress, 0.01 * warm) / warm
    return config.lr * max(0.0, (1.0 - progress) / max(1e-6, 1.0 - warm))


def make_optimizer(net: JudgeNet, config: JudgeConfig) -> torch.optim.Optimizer:
    # Weight decay on conv/linear kernels only: decaying BN scales and biases only fights the normalisation.
    decay = [p for n, p in net.named_parameters() if p.requires_grad and p.dim() > 1]
    no_decay = [p for n, p in net.named_parameters() if p.requires_grad and p.dim() <= 1]
    return torch.optim.SGD(
        [dict(params=decay, weight_decay=config.weight_decay), dict(params=no_decay, weight_decay=0.0)],
        lr=config.lr,
        momentum=config.momentum,
        nesterov=True,
    )


def build_judge(train_images: torch.Tensor, num_classes: int, config: JudgeConfig) -> JudgeNet:
    torch.manual_seed(config.seed)
    net = JudgeNet(num_classes, config.widths)
    g = torch.Generator().manual_seed(config.seed)
    sample = train_images[torch.randperm(train_images.shape[0], generator=g)[:5000]]
    net.init_whitening(to_signed_unit(sample))
    return net


def _prepare(x: torch.Tensor, config: JudgeConfig) -> torch.Tensor:
    x = to_signed_unit(x)
    return x.contiguous(memory_format=torch.channels_last) if config.channels_last else x


@torch.no_grad()
def evaluate(
    net: JudgeNet, images: torch.Tensor, labels: torch.Tensor, config: JudgeConfig, batch_size: int = 500
) -> Tuple[float, float]:
    """Returns (accuracy, accuracy with flip TTA) of `net` on uint8 images."""
    net.eval()
    plain = flipped = 0
    for i in range(0, images.shape[0], batch_size):
        x = _prepare(images[i : i + batch_size], config)
        y = labels[i : i + batch_size]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16):
            a = net(x).float()
            b = net(x.flip(3)).float()
        plain += (a.argmax(1) == y).sum().item()
        flipped += ((a + b).argmax(1) == y).sum().item()
    n = max(1, images.shape[0])
    return plain / n, flipped / n


def train_judge(
    net: JudgeNet,
    images: torch.Tensor,
    labels: torch.Tensor,
    config: JudgeConfig,
    log: Callable[[str], None] = print,
    max_steps: Optional[int] = None,
) -> List[float]:
    """Trains `net` in place on uint8 images; returns the per-step losses. `max_steps` cuts the run short (tests)."""
    if config.channels_last:
        net.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(net, config)
    g = torch.Generator().manual_seed(config.seed + 1)
    n = images.shape[0]
    steps_per_epoch = max(1, n // config.batch_size)  # the last partial batch is dropped: BN wants full batches
    total_steps = max(1, int(math.ceil(config.epochs * steps_per_epoch)))
    if max_steps is not None:
        total_steps = min(total_steps, max_steps)
    losses: List[float] = []
    step, start = 0, time.time()
    while step < total_steps:
        net.train()
        order = torch.randperm(n, generator=g)
        epoch_start = time.time()
        for b in range(steps_per_epoch):
            progress = step / total_steps
            if config.time_budget_s:
                progress = max(progress, (time.time() - start) / config.time_budget_s)
            if progress >= 1.0:
                break
            idx = order[b * config.batch_size : (b + 1) * config.batch_size]
            x = _prepare(augment(images[idx], g, config.translate), config)
            for group in optimizer.param_groups:
                group["lr"] = lr_at(progress, config)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16):
                logits = net(x)
            loss = F.cross_entropy(logits.float(), labels[idx], label_smoothing=config.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            step += 1
            if step % 20 == 0:
                log(
                    f"step {step}/{total_steps} loss {np.mean(losses[-20:]):.4f} "
                    f"lr {optimizer.param_groups[0]['lr']:.4f} elapsed {time.time() - start:.0f}s"
                )
        log(f"epoch pass ended at step {step}: {time.time() - epoch_start:.0f}s, total {time.time() - start:.0f}s")
        if config.time_budget_s and time.time() - start >= config.time_budget_s:
            break
    net.eval()
    return losses
