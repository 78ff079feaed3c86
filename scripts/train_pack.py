"""Trains a whole pack in one command: the VGG classifier, then the Semantic Pyramid generator, then LAG.

Each stage has a wall-clock budget (--minutes-*) and an optional step cap (--steps-*); the learning-rate schedule of
the classifier follows the fraction of its budget that has elapsed, so a budget always ends with a finished schedule.
Outputs in --out: vgg.npz, sp.npz (EMA generator), lag.npz (float32 state dicts, framework-neutral), train_log.jsonl,
samples_sp.png, samples_lag.png, provenance.json. A resumable checkpoint goes to --ckpt-dir after every stage and
every --ckpt-every seconds.

    /usr/bin/python3 scripts/train_pack.py --config tiny --out runs/smoke --steps-cls 20 --steps-sp 20 --steps-lag 20
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import copy
import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import data as D  # noqa: E402
import models as M  # noqa: E402


# --------------------------------------------------------------------------------------------------------------
# Utilities
# --------------------------------------------------------------------------------------------------------------
class Logger:
    def __init__(self, path: Path):
        self.file = open(path, "a")

    def __call__(self, **record) -> None:
        record["time"] = round(time.time(), 2)
        line = json.dumps(record)
        print(line, flush=True)
        self.file.write(line + "\n")
        self.file.flush()


def autocast(device: torch.device, enabled: bool, cache: bool = True):
    if not enabled:
        return contextlib.nullcontext()
    # A CUDA graph must not capture autocast's cache of weight casts (PyTorch's CUDA graphs notes): cache=False there.
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, cache_enabled=cache)


def step_autocast(ctx):
    """bf16 autocast of a training step, without the cast cache when the step is captured as a CUDA graph."""
    return autocast(ctx["device"], ctx["amp"], cache=not ctx.get("cuda_graph", False))


FUSED_ADAM = int(torch.__version__.split(".")[0]) >= 2  # torch.optim.Adam(fused=True) on CUDA: torch >= 2.0


def make_adam(params, lr: float, betas, device: torch.device, capturable: bool = False) -> torch.optim.Optimizer:
    """On CUDA (torch >= 2) the fused Adam: one kernel for all parameters, its step counts on the device (no
    `.item()` per parameter), and with capturable=True safe to capture in a CUDA graph. Elsewhere multi-tensor
    (foreach) Adam, a handful of ops for all parameters instead of ~10 per parameter."""
    params = list(params)
    if device.type == "cuda" and FUSED_ADAM:
        try:
            return torch.optim.Adam(params, lr=lr, betas=betas, fused=True, capturable=capturable)
        except (RuntimeError, TypeError, ValueError):  # not yet run on a GPU here: keep a long run alive
            pass
    return torch.optim.Adam(params, lr=lr, betas=betas, foreach=True, capturable=capturable)


def adam_kind(opt: torch.optim.Optimizer) -> str:
    """"fused" or "foreach", for the provenance (make_adam falls back to foreach if fused Adam is refused)."""
    return "fused" if opt.defaults.get("fused") else "foreach"


@contextlib.contextmanager
def frozen(model: nn.Module):
    """The model's parameters without gradients inside the block: the generator step's pass through the
    discriminator then skips the discriminator's weight gradients (its convolutions' dW and its spectral norm's
    backward). Those gradients were never used: the next discriminator step sets them to None before its
    backward. The generator's gradients do not change."""
    params = [p for p in model.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


class GraphedStep:
    """Runs a training step (a function of no arguments that samples its own batch on the device) eagerly, or,
    with use_graph, as one CUDA graph: `warmup` eager steps on a side stream (cuDNN autotuning, optimizer state),
    then one capture, then a replay per call (PyTorch's "whole network capture"). A replay launches the step's
    thousand-odd kernels with one host call, so a host-bound step runs at the GPU's speed.

    Every call is a real training step, the capture's too (capture records without running, so it is replayed at
    once). What the graph needs of the step: no host reads of device values and no tensors made from Python data
    (both checked on the CPU, tests/python/test_train_step.py), optimizers with device-side step counts (fused or
    capturable Adam) and learning rates that are constant or live on the device (NesterovSGD), autocast without
    its cache (step_autocast), and every state it updates (weights, BatchNorm statistics, spectral-norm vectors)
    updated in place (replays against eager steps: tests/python/test_cuda_graph.py, on a GPU). Random numbers come
    from the CUDA generator, which hands each replay fresh offsets. If the capture fails, the error goes to the log
    and the step runs eagerly from then on.

    A replay returns at once, so the host could queue hundreds of steps ahead of the GPU, and a stage's time budget
    and the classifier's time-based schedule would run ahead of the training. With use_graph the host waits
    whenever it is `max_ahead` steps ahead: still enough to keep the GPU busy."""

    def __init__(self, fn, use_graph: bool, log=None, name: str = "step", warmup: int = 3, max_ahead: int = 8):
        self.fn, self.use_graph, self.log, self.name, self.warmup = fn, use_graph, log, name, warmup
        self.graph, self.outputs, self.calls = None, None, 0
        self.bounded, self.max_ahead, self.in_flight = use_graph, max_ahead, collections.deque()

    def __call__(self):
        out = self._run()
        if self.bounded:
            done = torch.cuda.Event()
            done.record()
            self.in_flight.append(done)
            if len(self.in_flight) > self.max_ahead:
                self.in_flight.popleft().synchronize()
        return out

    def _run(self):
        self.calls += 1
        if not self.use_graph:
            return self.fn()
        if self.graph is not None:
            self.graph.replay()
            return self.outputs  # overwritten by the next replay: read (or clone) before calling again
        if self.calls <= self.warmup:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                out = self.fn()
            torch.cuda.current_stream().wait_stream(side)
            return out
        stream = torch.cuda.current_stream()
        try:
            torch.cuda.synchronize()
            graph = torch.cuda.CUDAGraph()
            t = time.perf_counter()
            with torch.cuda.graph(graph):
                outputs = self.fn()
        except Exception as exc:  # nothing ran during the failed capture: run the step eagerly, now and later
            # An error out of the capture can leave the capture's side stream current: go back to the step's own.
            torch.cuda.set_stream(stream)
            self.use_graph = False
            if self.log:
                self.log(event="cuda_graph_failed", stage=self.name, error=repr(exc)[:500])
            return self.fn()
        self.graph, self.outputs = graph, outputs
        if self.log:
            self.log(event="cuda_graph_captured", stage=self.name, seconds=round(time.perf_counter() - t, 2))
        graph.replay()
        return outputs


def amp_feature_net(vgg_f: M.VGGPyramid, amp: bool) -> M.VGGPyramid:
    """The frozen feature VGG of the SP stage: under bf16 autocast a bf16 copy, whose convs autocast runs as they
    are; it would otherwise cast every weight again at every call (it caches casts only of weights that require
    grad). Autocast casts the float32 weights to the same bf16 values, so the features are the same."""
    return copy.deepcopy(vgg_f).to(torch.bfloat16) if amp else vgg_f


def to_device_model(m: nn.Module, device: torch.device, channels_last: bool) -> nn.Module:
    m = m.to(device)
    return m.to(memory_format=torch.channels_last) if channels_last else m


def flip_draw(n: int, device: torch.device, generator: torch.Generator | None = None) -> torch.Tensor:
    return torch.rand(n, device=device, generator=generator) < 0.5


CROP_PAD = 4


def crop_draw(n: int, device: torch.device, generator: torch.Generator | None = None) -> torch.Tensor:
    """Offsets [2, n] (dy, dx) of random crops from images reflect-padded by CROP_PAD."""
    dy = torch.randint(0, 2 * CROP_PAD + 1, (n,), device=device, generator=generator)
    dx = torch.randint(0, 2 * CROP_PAD + 1, (n,), device=device, generator=generator)
    return torch.stack([dy, dx])


def augment(batch_u8: torch.Tensor, crop: bool, generator: torch.Generator | None = None,
            flip: torch.Tensor | None = None, shift: torch.Tensor | None = None) -> torch.Tensor:
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
        rows = (torch.arange(h, device=dev)[None, :] + dy[:, None])  # [n, h]
        cols = (torch.arange(w, device=dev)[None, :] + dx[:, None])  # [n, w]
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
    return dict(blob_centers=torch.rand(n, 3, 2, device=device), blob_sigmas=torch.rand(n, 3, device=device),
                blob_active=torch.rand(n, 3, device=device))


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


def save_npz(path: Path, module: nn.Module) -> None:
    state = {k: v.detach().float().cpu().numpy() for k, v in module.state_dict().items() if v.is_floating_point()}
    np.savez(path, **state)


def save_grid(path: Path, rows: List[torch.Tensor]) -> None:
    """rows: list of [k, 3, h, w] tensors in [-1, 1] -> one PNG, a row per entry."""
    from PIL import Image

    grid = torch.cat([torch.cat(list(r), dim=2) for r in rows], dim=1)  # [3, H, W]
    arr = ((grid.float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()
    Image.fromarray(arr).resize((arr.shape[1] * 2, arr.shape[0] * 2), Image.NEAREST).save(path)


class Budget:
    """A stage's budget in seconds and steps; `fraction()` drives time-based schedules."""

    def __init__(self, seconds: float, steps: int | None, spent_seconds: float = 0.0, done_steps: int = 0):
        self.seconds, self.steps = seconds, steps
        self.start = time.perf_counter() - spent_seconds
        self.step = done_steps

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def fraction(self) -> float:
        f = self.elapsed() / self.seconds if self.seconds > 0 else 0.0
        if self.steps:
            f = max(f, self.step / self.steps)
        return min(f, 1.0)

    def done(self) -> bool:
        return self.elapsed() >= self.seconds or (self.steps is not None and self.step >= self.steps)


# --------------------------------------------------------------------------------------------------------------
# Stages
# --------------------------------------------------------------------------------------------------------------
_FOREACH_MUL_BY_TENSOR = hasattr(torch.ops.aten._foreach_mul_, "Tensor")  # torch >= 2.1


class NesterovSGD(torch.optim.Optimizer):
    """torch.optim.SGD(momentum, nesterov=True, weight_decay)'s update in foreach ops, with `set_lr` to change the
    learning rate between steps. With lr_on_device (for a CUDA graph) the rate lives in a device tensor that
    set_lr overwrites without a host sync, and the captured update reads it at every replay; otherwise it is
    the plain number of param_groups, as in SGD. Momentum buffers start at zero (the first update equals SGD's,
    which starts them at the first gradient) and keep SGD's state name, so either optimizer's checkpoint loads."""

    def __init__(self, params, lr: float, momentum: float, weight_decay: float, lr_on_device: bool = False):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))
        first = self.param_groups[0]["params"][0]
        self.neg_lr = torch.full((), -lr, device=first.device) if lr_on_device else None

    def set_lr(self, lr: float) -> None:
        for group in self.param_groups:
            group["lr"] = lr
        if self.neg_lr is not None:
            self.neg_lr.fill_(-lr)

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            for p in params:
                if "momentum_buffer" not in self.state[p]:
                    self.state[p]["momentum_buffer"] = torch.zeros_like(p)
            bufs = [self.state[p]["momentum_buffer"] for p in params]
            d_p = torch._foreach_add([p.grad for p in params], params, alpha=group["weight_decay"])
            torch._foreach_mul_(bufs, group["momentum"])
            torch._foreach_add_(bufs, d_p)
            torch._foreach_add_(d_p, bufs, alpha=group["momentum"])  # Nesterov: g + momentum * buf
            if self.neg_lr is None:
                torch._foreach_add_(params, d_p, alpha=-group["lr"])
            elif _FOREACH_MUL_BY_TENSOR:
                torch._foreach_mul_(d_p, self.neg_lr)
                torch._foreach_add_(params, d_p)
            else:
                for p, u in zip(params, d_p):
                    p.addcmul_(u, self.neg_lr)


def cls_optimizer(ctx, vgg: M.VGGPyramid) -> torch.optim.Optimizer:
    return NesterovSGD(vgg.parameters(), lr=ctx["args"].lr_cls, momentum=0.9, weight_decay=5e-4,
                       lr_on_device=ctx.get("cuda_graph", False))


def smoothed_cross_entropy(logits: torch.Tensor, y: torch.Tensor, smoothing: float) -> torch.Tensor:
    """F.cross_entropy(logits, y, label_smoothing=smoothing), written out: F.cross_entropy's label smoothing
    selects the entries that are not ignore_index with a data-dependent size (a host sync, no CUDA graph)."""
    logp = F.log_softmax(logits, dim=1)
    nll = -logp.gather(1, y[:, None]).squeeze(1)
    return ((1 - smoothing) * nll - smoothing * logp.mean(dim=1)).mean()


def cls_draws(ctx) -> Dict[str, torch.Tensor]:
    """Every random number of a classifier step but dropout's: images, flips, crops (in the order the step drew
    them before cutout), then the cutout centres (none with --cutout 0: the same numbers as before cutout)."""
    dev, n, size = ctx["device"], ctx["args"].batch_cls, ctx["train_x"].shape[-1]
    draws = dict(idx=torch.randint(0, len(ctx["train_x"]), (n,), device=dev), flip=flip_draw(n, dev),
                 shift=crop_draw(n, dev))
    if ctx["args"].cutout > 0:
        draws["cutout"] = torch.randint(0, size, (n, 2), device=dev)
    return draws


def cls_train_step(ctx, vgg: M.VGGPyramid, opt: torch.optim.Optimizer, draws: Dict[str, torch.Tensor] | None = None):
    """One classifier step on an augmented batch; returns (loss, logits, labels) without syncing the device."""
    a = ctx["args"]
    draws = cls_draws(ctx) if draws is None else draws
    idx = draws["idx"]
    x = augment(ctx["train_x"][idx], crop=True, flip=draws["flip"], shift=draws["shift"])
    x = cutout(x, draws.get("cutout"), a.cutout)
    if ctx["channels_last"]:
        x = x.contiguous(memory_format=torch.channels_last)
    y = ctx["train_y"][idx]
    with step_autocast(ctx):
        logits = vgg(x)
        loss = smoothed_cross_entropy(logits.float(), y, 0.1)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach(), logits.detach(), y


def train_classifier(ctx, vgg: M.VGGPyramid, state: dict) -> dict:
    a, dev, log = ctx["args"], ctx["device"], ctx["log"]
    opt = cls_optimizer(ctx, vgg)
    if "opt" in state:
        opt.load_state_dict(state["opt"])
    budget = Budget(a.minutes_cls * 60, a.steps_cls, state.get("seconds", 0.0), state.get("step", 0))
    vgg.train()
    update = GraphedStep(lambda: cls_train_step(ctx, vgg, opt), ctx.get("cuda_graph", False), log, "cls")
    bs, correct, seen, t_log, imgs = a.batch_cls, 0, 0, time.perf_counter(), 0
    while not budget.done():
        f = budget.fraction()
        lr = a.lr_cls * (f / 0.15 if f < 0.15 else max(0.0, (1 - f) / 0.85))  # one-cycle, linear, by time
        opt.set_lr(max(lr, a.lr_cls * 1e-3))
        loss, logits, y = update()
        budget.step += 1
        imgs += bs
        if budget.step % a.log_every == 0 or budget.done():
            correct += (logits.argmax(1) == y).sum().item()
            seen += bs
            now = time.perf_counter()
            log(stage="cls", step=budget.step, loss=round(loss.item(), 4), lr=round(lr, 5),
                train_acc_sampled=round(correct / max(seen, 1), 4), img_per_s=round(imgs / (now - t_log), 1),
                elapsed=round(budget.elapsed(), 1))
            t_log, imgs = now, 0
        ctx["maybe_checkpoint"]("cls", lambda: dict(step=budget.step, seconds=budget.elapsed(), opt=opt.state_dict()))
    _sync(dev)
    return dict(steps=budget.step, batch=bs, seconds=round(budget.elapsed(), 1),
                imgPerSec=round(budget.step * bs / max(budget.elapsed(), 1e-9), 1), cudaGraph=update.graph is not None)


# Weight of the diversity term per conditioning level (pool1 .. fc8).
DIVERSITY_LEVEL_WEIGHT = [0.0, 0.25, 0.5, 1.0, 1.0, 1.0, 1.0]


def condition_draws(b_half: int, n_levels: int, device: torch.device) -> Dict[str, torch.Tensor]:
    """The random numbers of SP conditions: a level per pair of samples, whether it gets a blob mask, the blobs."""
    return dict(level=torch.randint(0, n_levels, (b_half,), device=device),
                use_blob=torch.rand(b_half, device=device), **blob_draws(b_half, device))


def conditions_from(draws: Dict[str, torch.Tensor], n_levels: int, image_size: int, blob_p: float):
    """(on [b, n_levels], mask [b, 1, size, size]) from condition_draws."""
    level = draws["level"]
    # F.one_hot's values; F.one_hot itself checks the indices' range with host reads on some devices (the CPU).
    on = (level[:, None] == torch.arange(n_levels, device=level.device)).float()
    mask = torch.ones(level.shape[0], 1, image_size, image_size, device=level.device)
    use_blob = (draws["use_blob"] < blob_p) & (level < M.SPATIAL_LEVELS)
    mask = torch.where(use_blob[:, None, None, None], blob_masks_from(draws, image_size), mask)
    return on, mask


def reconstruction_loss(fake_feats, real_feats, on: torch.Tensor, mask: torch.Tensor, sp: M.SPGenerator):
    """Per-sample L1 distance in the selected level's VGG features, inside its mask, normalised per level."""
    total = torch.zeros(on.shape[0], device=on.device)
    for i, (ff, rf) in enumerate(zip(fake_feats, real_feats)):
        ff, rf = ff.float(), rf.float()
        scale = rf.abs().mean().clamp_min(1e-6)
        m = sp.level_mask(i, on, mask)  # [B,1,s,s] or [B,1], zero unless level i is selected
        diff = (ff - rf).abs()
        if diff.dim() == 4:
            per = (diff * m).sum(dim=(1, 2, 3)) / (m.sum(dim=(1, 2, 3)) * diff.shape[1] + 1e-6)
        else:
            per = diff.mean(dim=1) * m.view(-1)
        total = total + per / scale
    return total.mean()


def _by_dtype(pairs):
    """(dst, src) tensor pairs grouped by dtype: a foreach op runs as one multi-tensor kernel only on one dtype."""
    groups: Dict[torch.dtype, tuple] = {}
    for dst, src in pairs:
        groups.setdefault(dst.dtype, ([], []))
        groups[dst.dtype][0].append(dst)
        groups[dst.dtype][1].append(src)
    return list(groups.values())


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema = decay * ema + (1 - decay) * model for the parameters, a copy of the buffers (BatchNorm statistics,
    spectral-norm vectors); four multi-tensor ops in all instead of one op per tensor."""
    for dst, src in _by_dtype(zip(ema.parameters(), model.parameters())):
        torch._foreach_mul_(dst, decay)
        torch._foreach_add_(dst, src, alpha=1 - decay)
    for dst, src in _by_dtype(zip(ema.buffers(), model.buffers())):
        torch._foreach_zero_(dst)  # zero + add is an exact copy (there is no _foreach_copy_ in torch 1.13)
        torch._foreach_add_(dst, src)


@torch.no_grad()
def standing_stats(ctx, g: M.SPGenerator, vgg_f: M.VGGPyramid, batches: int) -> None:
    """Recomputes the EMA generator's BatchNorm statistics under its own weights (BigGAN's 'standing stats')."""
    dev, a = ctx["device"], ctx["args"]
    for m in g.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # cumulative average
    g.train()
    for _ in range(batches):
        draws = sp_draws(ctx, a.batch_sp, g.z_dim)
        x, y, feats, on, mask = _sp_batch(ctx, vgg_f, draws)
        with autocast(dev, ctx["amp"]):
            g(draws["z"], y, feats, on, mask)
    for m in g.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = 0.1
    g.eval()


def sp_draws(ctx, batch: int, z_dim: int) -> Dict[str, torch.Tensor]:
    """Every random number of an SP step, drawn in the order in which the step once drew them itself (the same
    numbers from the same seed): half a batch of sources, their flips, their conditions, then a batch of real
    images, their flips, and the noise. The rest of the step is a function of these, so that a test can give a
    CUDA-graph replay and an eager step the same numbers."""
    dev, n_train = ctx["device"], len(ctx["train_x"])
    half = batch // 2
    draws = dict(idx=torch.randint(0, n_train, (half,), device=dev), flip=flip_draw(half, dev))
    draws.update(condition_draws(half, M.NUM_LEVELS, dev))
    draws.update(real_idx=torch.randint(0, n_train, (2 * half,), device=dev), real_flip=flip_draw(2 * half, dev),
                 z=torch.randn(2 * half, z_dim, device=dev))
    return draws


def _sp_batch(ctx, vgg_f, draws: Dict[str, torch.Tensor]):
    """Half a batch of source images with conditions, each duplicated for two noises (for the diversity term)."""
    x_all, y_all = ctx["train_x"], ctx["train_y"]
    idx = draws["idx"]
    x = augment(x_all[idx], crop=False, flip=draws["flip"])
    with torch.no_grad(), step_autocast(ctx):
        feats = [f.float() for f in vgg_f.pyramid(x)]
    on, mask = conditions_from(draws, M.NUM_LEVELS, x.shape[-1], ctx["args"].blob_p)
    dup = lambda t: torch.cat([t, t])  # noqa: E731
    return dup(x), dup(y_all[idx]), [dup(f) for f in feats], dup(on), dup(mask)


def sp_optimizers(ctx, models: Dict[str, nn.Module]):
    a, dev, graph = ctx["args"], ctx["device"], ctx.get("cuda_graph", False)
    return (make_adam(models["sp"].parameters(), a.lr_g, (0.0, 0.9), dev, capturable=graph),
            make_adam(models["sp_d"].parameters(), a.lr_d, (0.0, 0.9), dev, capturable=graph))


def sp_d_step(ctx, g, d, opt_d, x_real, y_real, z, y, feats, on, mask):
    """Generates the fake batch and takes one hinge-loss step of the discriminator; returns (fake, loss_d)."""
    b = x_real.shape[0]
    with step_autocast(ctx):
        fake = g(z, y, feats, on, mask)
        # Discriminator: one call on the concatenated real and fake batch.
        d_out = d(torch.cat([x_real, fake.detach()]), torch.cat([y_real, y])).float()
        loss_d = F.relu(1 - d_out[:b]).mean() + F.relu(1 + d_out[b:]).mean()
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    return fake, loss_d


def sp_g_step(ctx, g, d, vgg_f, opt_g, fake, y, feats, on, mask) -> dict:
    a = ctx["args"]
    b = fake.shape[0]
    with step_autocast(ctx):
        with frozen(d):
            adv = -d(fake, y).float().mean()
        rec = reconstruction_loss(vgg_f.pyramid(fake), feats, on, mask, g)
        pair_dist = (fake[: b // 2] - fake[b // 2:]).float().abs().mean(dim=(1, 2, 3))
        # Diversity is pushed less where near-copies are wanted (stride 2 and 4).
        div_weight = (on[: b // 2] * ctx["div_level_weight"]).sum(1)
        div = -(div_weight * pair_dist.clamp(max=a.div_cap)).mean()
        loss_g = adv + a.lambda_rec * rec + a.lambda_div * div
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    return dict(adv=adv.detach(), rec=rec.detach(), pair_dist=pair_dist.detach().mean())


def sp_update(ctx, models: Dict[str, nn.Module], vgg_f: M.VGGPyramid, opt_g, opt_d,
              draws: Dict[str, torch.Tensor] | None = None) -> dict:
    """The part of an SP step that a CUDA graph captures: data, D step, G step, with its random numbers drawn
    here (or given, as sp_draws makes them). Returns the losses as tensors, so that nothing waits for the device
    unless the caller logs."""
    g, d = models["sp"], models["sp_d"]
    draws = sp_draws(ctx, ctx["args"].batch_sp, g.z_dim) if draws is None else draws
    x, y, feats, on, mask = _sp_batch(ctx, vgg_f, draws)
    x_real, y_real, z = _sp_real_batch(ctx, draws)
    fake, loss_d = sp_d_step(ctx, g, d, opt_d, x_real, y_real, z, y, feats, on, mask)
    losses = sp_g_step(ctx, g, d, vgg_f, opt_g, fake, y, feats, on, mask)
    return dict(loss_d=loss_d.detach(), **losses)


def sp_ema_decay(ctx, step: int) -> float:
    """EMA decay after `step` earlier steps: short memory at first, then args.ema (it changes for ~9,000 steps,
    which is why the EMA runs outside the CUDA graph, with its decay a plain number)."""
    return min(ctx["args"].ema, (2 + step) / (11 + step))


def sp_train_step(ctx, models: Dict[str, nn.Module], vgg_f: M.VGGPyramid, opt_g, opt_d, step: int) -> dict:
    """One eager SP step (data, D step, G step, EMA); `step` counts the steps done before it."""
    losses = sp_update(ctx, models, vgg_f, opt_g, opt_d)
    ema_update(models["sp_ema"], models["sp"], sp_ema_decay(ctx, step))
    return losses


def _sp_real_batch(ctx, draws: Dict[str, torch.Tensor]):
    real_idx = draws["real_idx"]
    return augment(ctx["train_x"][real_idx], crop=False, flip=draws["real_flip"]), ctx["train_y"][real_idx], draws["z"]


def train_sp(ctx, models: Dict[str, nn.Module], vgg_f: M.VGGPyramid, state: dict) -> dict:
    a, dev, log = ctx["args"], ctx["device"], ctx["log"]
    g, d = models["sp"], models["sp_d"]
    opt_g, opt_d = sp_optimizers(ctx, models)
    if "opt_g" in state:
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
    budget = Budget(a.minutes_sp * 60, a.steps_sp, state.get("seconds", 0.0), state.get("step", 0))
    g.train(), d.train()
    update = GraphedStep(lambda: sp_update(ctx, models, vgg_f, opt_g, opt_d), ctx.get("cuda_graph", False), log, "sp")
    t_log, imgs = time.perf_counter(), 0
    while not budget.done():
        losses = update()
        ema_update(models["sp_ema"], g, sp_ema_decay(ctx, budget.step))
        budget.step += 1
        imgs += a.batch_sp
        if budget.step % a.log_every == 0 or budget.done():  # .item() syncs the device: only when logging
            now = time.perf_counter()
            log(stage="sp", step=budget.step, **{k: round(v.item(), 4) for k, v in losses.items()},
                img_per_s=round(imgs / (now - t_log), 1), elapsed=round(budget.elapsed(), 1))
            t_log, imgs = now, 0
        ctx["maybe_checkpoint"]("sp", lambda: dict(step=budget.step, seconds=budget.elapsed(), opt_g=opt_g.state_dict(),
                                           opt_d=opt_d.state_dict()))
    _sync(dev)
    return dict(steps=budget.step, batch=a.batch_sp, seconds=round(budget.elapsed(), 1),
                imgPerSec=round(budget.step * a.batch_sp / max(budget.elapsed(), 1e-9), 1),
                cudaGraph=update.graph is not None,
                adam=adam_kind(opt_g))


def gradient_penalty(d: M.LAGDiscriminator, real: torch.Tensor, fake: torch.Tensor, lr: torch.Tensor,
                     eps: torch.Tensor) -> torch.Tensor:
    """WGAN-GP at the points real + eps (fake - real), eps [B, 1, 1, 1] uniform in [0, 1)."""
    mix = (eps * real + (1 - eps) * fake).requires_grad_(True)
    out = d(mix, lr)
    (grad,) = torch.autograd.grad(out.sum(), mix, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def lag_optimizers(ctx, models: Dict[str, nn.Module]):
    a, dev, graph = ctx["args"], ctx["device"], ctx.get("cuda_graph", False)
    return (make_adam(models["lag"].parameters(), a.lr_lag, (0.0, 0.99), dev, capturable=graph),
            make_adam(models["lag_d"].parameters(), a.lr_lag, (0.0, 0.99), dev, capturable=graph))


def lag_d_step(ctx, g, d, opt_d, x, lr, noise, eps):
    """Generates the candidates and takes one WGAN-GP step of the discriminator; returns (fake, losses)."""
    bs = x.shape[0]
    with step_autocast(ctx):
        fake = g(lr, noise, 1.0)
        d_out = d(torch.cat([x, fake.detach()]), torch.cat([lr, lr])).float()
    # Gradient penalty in float32: bf16 second derivatives are too coarse for WGAN-GP.
    gp = gradient_penalty(d, x, fake.detach().float(), lr, eps)
    loss_d = d_out[bs:].mean() - d_out[:bs].mean() + 10 * gp + 1e-3 * (d_out[:bs] ** 2).mean()
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    return fake, dict(loss_d=loss_d.detach(), gp=gp.detach())


def lag_g_step(ctx, g, d, opt_g, fake, x, lr, noise) -> dict:
    with step_autocast(ctx), frozen(d):
        adv = -d(fake, lr).float().mean()
        fake0 = g(lr, torch.zeros_like(noise), 0.0)
        with torch.no_grad():
            latent_real = d.latent(x).float()
        latent_mse = ((d.latent(fake0).float() - latent_real) ** 2).mean()
        loss_g = adv + ctx["args"].lambda_latent * latent_mse
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    return dict(adv=adv.detach(), latent_mse=latent_mse.detach())


def lag_draws(ctx, g: M.LAGGenerator) -> Dict[str, torch.Tensor]:
    """Every random number of a LAG step: images, their flips, noise, then the gradient penalty's mixing weights
    (last, as when the penalty drew them itself: the same numbers from the same seed)."""
    dev, bs = ctx["device"], ctx["args"].batch_lag
    return dict(idx=torch.randint(0, len(ctx["train_x"]), (bs,), device=dev), flip=flip_draw(bs, dev),
                noise=torch.randn(bs, g.noise_channels, g.lr_size, g.lr_size, device=dev),
                eps=torch.rand(bs, 1, 1, 1, device=dev))


def _lag_batch(ctx, g: M.LAGGenerator, draws: Dict[str, torch.Tensor]):
    x = augment(ctx["train_x"][draws["idx"]], crop=False, flip=draws["flip"])
    return x, M.downscale(x, g.scale), draws["noise"], draws["eps"]


def lag_train_step(ctx, models: Dict[str, nn.Module], opt_g, opt_d,
                   draws: Dict[str, torch.Tensor] | None = None) -> dict:
    """One LAG step (data, D step, G step), with its random numbers drawn here or given (lag_draws)."""
    g, d = models["lag"], models["lag_d"]
    x, lr, noise, eps = _lag_batch(ctx, g, lag_draws(ctx, g) if draws is None else draws)
    fake, losses = lag_d_step(ctx, g, d, opt_d, x, lr, noise, eps)
    return dict(**losses, **lag_g_step(ctx, g, d, opt_g, fake, x, lr, noise))


def train_lag(ctx, models: Dict[str, nn.Module], state: dict) -> dict:
    a, dev, log = ctx["args"], ctx["device"], ctx["log"]
    g, d = models["lag"], models["lag_d"]
    opt_g, opt_d = lag_optimizers(ctx, models)
    if "opt_g" in state:
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
    budget = Budget(a.minutes_lag * 60, a.steps_lag, state.get("seconds", 0.0), state.get("step", 0))
    g.train(), d.train()
    update = GraphedStep(lambda: lag_train_step(ctx, models, opt_g, opt_d), ctx.get("cuda_graph", False), log, "lag")
    t_log, imgs, bs = time.perf_counter(), 0, a.batch_lag
    while not budget.done():
        losses = update()
        budget.step += 1
        imgs += bs
        if budget.step % a.log_every == 0 or budget.done():  # .item() syncs the device: only when logging
            now = time.perf_counter()
            log(stage="lag", step=budget.step, **{k: round(v.item(), 4) for k, v in losses.items()},
                img_per_s=round(imgs / (now - t_log), 1), elapsed=round(budget.elapsed(), 1))
            t_log, imgs = now, 0
        ctx["maybe_checkpoint"]("lag", lambda: dict(step=budget.step, seconds=budget.elapsed(), opt_g=opt_g.state_dict(),
                                            opt_d=opt_d.state_dict()))
    _sync(dev)
    return dict(steps=budget.step, batch=bs, seconds=round(budget.elapsed(), 1),
                imgPerSec=round(budget.step * bs / max(budget.elapsed(), 1e-9), 1), cudaGraph=update.graph is not None,
                adam=adam_kind(opt_g))


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


# --------------------------------------------------------------------------------------------------------------
# Sample grids (for the log; the README's figures come from scripts/evaluate.py)
# --------------------------------------------------------------------------------------------------------------
@torch.no_grad()
def sample_grids(ctx, models, vgg_f, out: Path) -> None:
    dev = ctx["device"]
    x_all, y_all = ctx["train_x"], ctx["train_y"]
    idx = torch.arange(0, len(x_all), max(1, len(x_all) // 4), device=dev)[:4]
    x = x_all[idx].float().div(127.5).sub(1.0)
    y = y_all[idx]
    g = models["sp_ema"].eval()
    feats = [f.float() for f in vgg_f.pyramid(x)]
    rows = []
    for i in range(len(idx)):
        for level in range(M.NUM_LEVELS):
            k = 5
            on = F.one_hot(torch.full((k,), level, device=dev), M.NUM_LEVELS).float()
            mask = torch.ones(k, 1, x.shape[-1], x.shape[-1], device=dev)
            fake = g(torch.randn(k, g.z_dim, device=dev), y[i:i + 1].repeat(k), [f[i:i + 1].repeat(k, *[1] * (f.dim() - 1)) for f in feats], on, mask)
            rows.append(torch.cat([x[i:i + 1], fake]).float())
    save_grid(out / "samples_sp.png", rows)
    lag = models["lag"].eval()
    lr = M.downscale(x, lag.scale)
    rows = []
    for i in range(len(idx)):
        k = 5
        noise = torch.randn(k, lag.noise_channels, lag.lr_size, lag.lr_size, device=dev)
        cands = lag(lr[i:i + 1].repeat(k, 1, 1, 1), noise, 1.0)
        rows.append(torch.cat([x[i:i + 1], M.up(lr[i:i + 1], lag.scale), lag(lr[i:i + 1], noise[:1] * 0, 0.0), cands]).float())
    save_grid(out / "samples_lag.png", rows)


# --------------------------------------------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="cifar10", choices=sorted(M.CONFIGS))
    p.add_argument("--out", required=True)
    p.add_argument("--ckpt-dir", default=None, help="where the resumable checkpoint goes (default: --out)")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--data-root", default=None)
    p.add_argument("--train-limit", type=int, default=None, help="use a class-balanced subset (smoke tests)")
    p.add_argument("--device", default="auto")
    p.add_argument("--amp", choices=["auto", "bf16", "off"], default="auto", help="bf16 autocast (auto: on CUDA)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stages", default="cls,sp,lag")
    p.add_argument("--minutes-cls", type=float, default=1.7)
    p.add_argument("--minutes-sp", type=float, default=5.0)
    p.add_argument("--minutes-lag", type=float, default=1.5)
    p.add_argument("--steps-cls", type=int, default=None)
    p.add_argument("--steps-sp", type=int, default=None)
    p.add_argument("--steps-lag", type=int, default=None)
    p.add_argument("--batch-cls", type=int, default=512)
    p.add_argument("--batch-sp", type=int, default=128)
    p.add_argument("--batch-lag", type=int, default=128)
    p.add_argument("--lr-cls", type=float, default=0.1)
    p.add_argument("--cutout", type=int, default=16,
                   help="classifier: side of the cutout square (0: none); the pack's VGG had 99.9%% train accuracy "
                        "against 89.1%% on test without it")
    p.add_argument("--lr-g", type=float, default=1.5e-4)
    p.add_argument("--lr-d", type=float, default=3e-4)
    p.add_argument("--lr-lag", type=float, default=5e-4)
    p.add_argument("--lambda-rec", type=float, default=3.0)
    p.add_argument("--lambda-div", type=float, default=0.5)
    p.add_argument("--div-cap", type=float, default=0.2, help="pixel distance beyond which diversity is not pushed")
    p.add_argument("--lambda-latent", type=float, default=10.0)
    p.add_argument("--blob-p", type=float, default=0.3)
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--standing-batches", type=int, default=40)
    p.add_argument("--log-every", type=int, default=200)
    p.add_argument("--ckpt-every", type=float, default=120.0, help="seconds between mid-stage checkpoints")
    p.add_argument("--git-commit", default=None)
    p.add_argument("--cuda-graph", choices=["auto", "on", "off"], default="auto",
                   help="capture the SP and LAG steps as CUDA graphs (auto: on CUDA; eager if a capture fails)")
    p.add_argument("--sn-per-layer", action="store_true",
                   help="spectral norm layer by layer instead of per model at once (same math; to compare speeds)")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    a = parse_args(argv)
    M.SpectralNormGroup.enabled = not a.sn_per_layer
    t_start = time.time()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = Path(a.ckpt_dir or a.out) / "checkpoint.pt"
    ckpt_path.parent.mkdir(parents=True, exist_ok=True)
    dev = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if a.device == "auto" else a.device)
    amp = a.amp == "bf16" or (a.amp == "auto" and dev.type == "cuda")
    channels_last = dev.type == "cuda"
    torch.manual_seed(a.seed)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    log = Logger(out / "train_log.jsonl")
    log(event="start", device=str(dev), device_name=torch.cuda.get_device_name(0) if dev.type == "cuda" else platform.processor() or platform.machine(),
        torch=torch.__version__, amp=amp, argv=sys.argv[1:] if argv is None else argv)

    t0 = time.perf_counter()
    train_x, train_y = D.load_split("train", a.data_root, limit=a.train_limit)
    train_x = torch.from_numpy(train_x).permute(0, 3, 1, 2).contiguous().to(dev)
    train_y = torch.from_numpy(train_y).to(dev)
    log(event="data", images=len(train_x), seconds=round(time.perf_counter() - t0, 1))

    models = M.build_models(a.config)
    models["sp_ema"] = M.build_models(a.config)["sp"]
    models["sp_ema"].load_state_dict(models["sp"].state_dict())
    for p in models["sp_ema"].parameters():
        p.requires_grad_(False)
    for k in list(models):
        models[k] = to_device_model(models[k], dev, channels_last)

    state = {"done": [], "stage_state": {}, "stats": {}}
    if a.resume and ckpt_path.exists():
        ck = torch.load(ckpt_path, map_location=dev)
        for k, sd in ck["models"].items():
            models[k].load_state_dict(sd)
        state = ck["state"]
        log(event="resume", done=state["done"], current=list(state["stage_state"]))

    last_ckpt = [time.perf_counter()]

    def checkpoint(stage: str | None = None, stage_state: dict | None = None) -> None:
        if stage is not None:
            state["stage_state"] = {stage: stage_state}
        torch.save(dict(models={k: m.state_dict() for k, m in models.items()}, state=state), ckpt_path)
        last_ckpt[0] = time.perf_counter()

    def maybe_checkpoint(stage: str, make_state) -> None:
        if time.perf_counter() - last_ckpt[0] >= a.ckpt_every:
            checkpoint(stage, make_state())

    cuda_graph = dev.type == "cuda" and a.cuda_graph != "off"
    if a.cuda_graph == "on" and dev.type != "cuda":
        raise SystemExit("--cuda-graph on needs a CUDA device")
    ctx = dict(args=a, device=dev, log=log, train_x=train_x, train_y=train_y, amp=amp, channels_last=channels_last,
               maybe_checkpoint=maybe_checkpoint, cuda_graph=cuda_graph,
               div_level_weight=torch.tensor(DIVERSITY_LEVEL_WEIGHT, device=dev))
    stages = a.stages.split(",")

    def run_stage(name: str, fn) -> None:
        if name not in stages or name in state["done"]:
            return
        try:
            stats = fn(state["stage_state"].get(name, {}))
        except Exception as exc:  # keep what the other stages produce; the log says what broke
            import traceback

            log(event="stage_failed", stage=name, error=repr(exc), traceback=traceback.format_exc())
            state["stats"][name] = dict(failed=repr(exc))
            return
        state["stats"][name] = stats
        state["done"].append(name)
        state["stage_state"] = {}
        checkpoint()
        log(event="stage_done", stage=name, **stats)

    run_stage("cls", lambda st: train_classifier(ctx, models["vgg"], st))
    models["vgg"].eval()
    save_npz(out / "vgg.npz", models["vgg"])
    vgg_f = M.folded_copy(models["vgg"])

    def sp_stage(st):
        vgg_sp = amp_feature_net(vgg_f, amp)
        stats = train_sp(ctx, models, vgg_sp, st)
        t = time.perf_counter()
        standing_stats(ctx, models["sp_ema"], vgg_sp, a.standing_batches)
        stats["standingStatsSeconds"] = round(time.perf_counter() - t, 1)
        return stats

    run_stage("sp", sp_stage)
    models["sp_ema"].eval()
    save_npz(out / "sp.npz", models["sp_ema"])
    run_stage("lag", lambda st: train_lag(ctx, models, st))
    models["lag"].eval()
    save_npz(out / "lag.npz", models["lag"])
    sample_grids(ctx, models, vgg_f, out)

    provenance = dict(
        script="scripts/train_pack.py", command="python3 scripts/train_pack.py " + " ".join(sys.argv[1:] if argv is None else argv),
        gitCommit=a.git_commit, config=a.config, dataset="CIFAR-10 train (50,000 JPEGs, shared/datasets/cifar10/train.zip)"
        if a.train_limit is None else f"CIFAR-10 train subset of {len(train_x)}",
        device=torch.cuda.get_device_name(0) if dev.type == "cuda" else f"CPU ({platform.machine()}, {os.cpu_count()} cores)",
        torchVersion=torch.__version__, amp="bf16" if amp else "off", startedAt=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t_start)),
        stages=state["stats"], minutes=round((time.time() - t_start) / 60, 2),
        hyperparameters={k: v for k, v in vars(a).items() if k not in ("out", "ckpt_dir", "data_root", "resume", "git_commit")},
    )
    (out / "provenance.json").write_text(json.dumps(provenance, indent=2))
    log(event="done", minutes=provenance["minutes"])
    return provenance


if __name__ == "__main__":
    main()
