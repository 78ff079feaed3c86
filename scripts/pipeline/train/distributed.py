"""Data-parallel training over torch.distributed (torchrun): gloo on the CPU, NCCL on CUDA.

Every rank builds the same models from the same seed, then draws its data and noise from its own stream
(seed + rank): each rank's batch is its shard of the global batch. After each backward the gradients are averaged
over the ranks (one all-reduce per dtype, what DistributedDataParallel computes) before the optimizer steps, so
every rank takes the same step and the weights stay identical. The steps are not wrapped in
DistributedDataParallel because they do what its hooks do not support: a WGAN-GP penalty through autograd.grad
(LAG), a generator output whose backward comes after a discriminator step, discriminator passes with frozen weights
inside the generator step, and CUDA-graph capture. BatchNorm statistics (a rank's own batch) are averaged over the
ranks after every step; spectral-norm vectors follow from the weights and stay identical. Time budgets and the
classifier's time-based schedule are rank 0's, broadcast at every step, so that all ranks stop at the same step.
Rank 0 alone writes logs, checkpoints, weights and sample grids.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Dict, Iterable, List

import torch
import torch.distributed as dist
import torch.nn as nn


@dataclass
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str = ""

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init(device_arg: str) -> Dist:
    """Joins the process group that torchrun describes in the environment (WORLD_SIZE, RANK, LOCAL_RANK,
    MASTER_ADDR, MASTER_PORT); a plain `python3 scripts/train.py` is a world of one."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() and device_arg in ("auto", "cuda")
    backend = "nccl" if use_cuda else "gloo"
    if use_cuda:
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend)
    return Dist(rank, world, local_rank, backend)


def device_for(d: Dist, device_arg: str) -> torch.device:
    if device_arg != "auto":
        if device_arg == "cuda" and d.active:
            return torch.device("cuda", d.local_rank)
        return torch.device(device_arg)
    if torch.cuda.is_available():
        return torch.device("cuda", d.local_rank) if d.active else torch.device("cuda")
    return torch.device("cpu")


def _by_dtype(tensors: Iterable[torch.Tensor]) -> Dict[torch.dtype, List[torch.Tensor]]:
    groups: Dict[torch.dtype, List[torch.Tensor]] = {}
    for t in tensors:
        groups.setdefault(t.dtype, []).append(t)
    return groups


def _all_reduce_mean_(tensors: List[torch.Tensor], world_size: int) -> None:
    """Replaces each tensor by its mean over the ranks: one all-reduce per dtype on a flat copy."""
    for group in _by_dtype(tensors).values():
        flat = torch.cat([t.reshape(-1) for t in group])
        dist.all_reduce(flat)
        flat.div_(world_size)
        offset = 0
        for t in group:
            t.copy_(flat[offset : offset + t.numel()].view_as(t))
            offset += t.numel()


class GradientAverager:
    """Called between backward and optimizer.step: averages the gradients of the optimizer's parameters. A
    parameter without a gradient on this rank counts as a zero gradient (the ranks must agree on the layout)."""

    def __init__(self, d: Dist):
        self.d = d

    def __call__(self, opt: torch.optim.Optimizer) -> None:
        if not self.d.active:
            return
        params = [p for g in opt.param_groups for p in g["params"]]
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        _all_reduce_mean_([p.grad for p in params], self.d.world_size)


def average_buffers(d: Dist, *modules: nn.Module) -> None:
    """BatchNorm running statistics (and any float buffer) averaged over the ranks; integer buffers (step counts)
    are the same everywhere."""
    if not d.active:
        return
    with torch.no_grad():
        bufs = [b for m in modules for b in m.buffers() if b.is_floating_point()]
        if bufs:
            _all_reduce_mean_(bufs, d.world_size)


def broadcast_state(d: Dist, *modules: nn.Module) -> None:
    """Rank 0's parameters and buffers to every rank (after building or resuming: the same start everywhere)."""
    if not d.active:
        return
    with torch.no_grad():
        for m in modules:
            for t in list(m.parameters()) + list(m.buffers()):
                dist.broadcast(t.data, src=0)


class RankZeroDecision:
    """Rank 0's values of a few numbers (a budget's done flag and schedule fraction), sent to every rank."""

    def __init__(self, d: Dist, device: torch.device):
        self.d, self.device = d, device

    def __call__(self, values: List[float]) -> List[float]:
        if not self.d.active:
            return values
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.broadcast(t, src=0)
        return t.tolist()


def barrier(d: Dist) -> None:
    if d.active:
        dist.barrier()


def finish(d: Dist) -> None:
    if d.active:
        dist.barrier()
        dist.destroy_process_group()


def state_digest(models: Dict[str, nn.Module]) -> Dict[str, str]:
    """sha256 of every model's parameters and buffers, per model: equal digests, equal weights."""
    out = {}
    for name, m in sorted(models.items()):
        h = hashlib.sha256()
        for key, t in m.state_dict().items():
            h.update(key.encode())
            h.update(t.detach().cpu().contiguous().numpy().tobytes())
        out[name] = h.hexdigest()
    return out
