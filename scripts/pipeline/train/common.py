"""What the training stages share: the context, logging, autocast, optimizers, the CUDA-graph step runner, time
budgets, EMA and saving."""
from __future__ import annotations

import argparse
import collections
import contextlib
import copy
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np
import torch
import torch.nn as nn

from pipeline.config import PackConfig
from pipeline.models import build_models
from pipeline.models.vgg import VGGPyramid


def _no_checkpoint(stage: str, make_state: Callable[[], dict]) -> None:
    pass


def _no_grad_sync(opt: torch.optim.Optimizer) -> None:
    pass


def _no_buffer_sync(*modules: nn.Module) -> None:
    pass


@dataclass
class TrainContext:
    """Everything a training step reads besides the models and optimizers."""

    args: argparse.Namespace  # the options of scripts/train.py (pipeline/train/options.py)
    device: torch.device
    train_x: torch.Tensor  # uint8 NCHW training images, on the device
    train_y: torch.Tensor  # int64 labels, on the device
    amp: bool  # bf16 autocast
    channels_last: bool
    log: Callable[..., None] = field(default=lambda **record: None)
    # Called by a stage loop after each step with the stage and a function that makes its resumable state.
    maybe_checkpoint: Callable[[str, Callable[[], dict]], None] = _no_checkpoint
    cuda_graph: bool = False  # capture the steps as CUDA graphs (GraphedStep)
    # The SP diversity weight per level, made on the device once: a CUDA graph cannot capture a copy from the host.
    div_level_weight: Optional[torch.Tensor] = None
    # Between backward and optimizer.step: averages the gradients over the ranks (pipeline/train/distributed.py).
    grad_sync: Callable[[torch.optim.Optimizer], None] = _no_grad_sync
    # Rank 0's values of [done, fraction] of a budget, so that every rank stops at the same step (None: one rank).
    agree: Optional[Callable[[List[float]], List[float]]] = None
    # After each step: the models' BatchNorm statistics averaged over the ranks.
    buffer_sync: Callable[..., None] = _no_buffer_sync
    world_size: int = 1  # the global batch is world_size times args.batch_*


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


def step_autocast(ctx: TrainContext):
    """bf16 autocast of a training step, without the cast cache when the step is captured as a CUDA graph."""
    return autocast(ctx.device, ctx.amp, cache=not ctx.cuda_graph)


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
    """ "fused" or "foreach", for the provenance (make_adam falls back to foreach if fused Adam is refused)."""
    return "fused" if opt.defaults.get("fused") else "foreach"


@contextlib.contextmanager
def frozen(model: nn.Module):
    """The model's parameters without gradients inside the block: the generator step's pass through the
    discriminator then skips the discriminator's weight gradients (its convolutions' dW and its spectral norm's
    backward), which nothing uses: the next discriminator step sets them to None before its backward. The
    generator's gradients do not change."""
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


class Budget:
    """A stage's budget in seconds and steps; `fraction()` drives time-based schedules. With `agree` (several
    ranks), done() takes rank 0's clock for both, so that every rank stops at the same step with the same
    schedule."""

    def __init__(
        self,
        seconds: float,
        steps: int | None,
        spent_seconds: float = 0.0,
        done_steps: int = 0,
        agree: Optional[Callable[[List[float]], List[float]]] = None,
    ):
        self.seconds, self.steps = seconds, steps
        self.start = time.perf_counter() - spent_seconds
        self.step = done_steps
        self.agree, self.agreed_fraction = agree, None

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def fraction(self) -> float:
        if self.agreed_fraction is not None:
            return self.agreed_fraction
        return self._local_fraction()

    def _local_fraction(self) -> float:
        f = self.elapsed() / self.seconds if self.seconds > 0 else 0.0
        if self.steps:
            f = max(f, self.step / self.steps)
        return min(f, 1.0)

    def done(self) -> bool:
        done = self.elapsed() >= self.seconds or (self.steps is not None and self.step >= self.steps)
        if self.agree is None:
            return done
        done, self.agreed_fraction = self.agree([float(done), self._local_fraction()])
        return bool(done)


class StageLog:
    """The log lines of a stage loop: every --log-every steps and after the last one, each with the images per
    second since the line before."""

    def __init__(self, ctx: TrainContext, stage: str, batch: int):
        self.ctx, self.stage, self.batch = ctx, stage, batch
        self.t_log, self.imgs = time.perf_counter(), 0

    def due(self, budget: Budget) -> bool:
        """Counts the step just done; True if a line is due (read device values, which syncs, only then)."""
        self.imgs += self.batch * self.ctx.world_size
        return budget.step % self.ctx.args.log_every == 0 or budget.done()

    def write(self, budget: Budget, **values) -> None:
        now = time.perf_counter()
        self.ctx.log(
            stage=self.stage,
            step=budget.step,
            **values,
            img_per_s=round(self.imgs / (now - self.t_log), 1),
            elapsed=round(budget.elapsed(), 1),
        )
        self.t_log, self.imgs = now, 0


def stage_state(budget: Budget, **optimizers: torch.optim.Optimizer) -> dict:
    """The resumable state of a stage in progress: its step, seconds spent and optimizers (by name)."""
    return dict(step=budget.step, seconds=budget.elapsed(), **{k: opt.state_dict() for k, opt in optimizers.items()})


def load_stage_state(state: dict, budget_minutes: float, budget_steps: int | None, agree=None, **optimizers) -> Budget:
    """Restores the optimizers from a stage's resumable state (if any) and returns its budget, minus what was
    spent."""
    for name, opt in optimizers.items():
        if name in state:
            opt.load_state_dict(state[name])
    return Budget(budget_minutes * 60, budget_steps, state.get("seconds", 0.0), state.get("step", 0), agree)


def stage_stats(budget: Budget, batch: int, update: GraphedStep) -> dict:
    """What a stage reports in provenance.json: steps, batch, seconds, images per second, whether it was graphed."""
    return dict(
        steps=budget.step,
        batch=batch,
        seconds=round(budget.elapsed(), 1),
        imgPerSec=round(budget.step * batch / max(budget.elapsed(), 1e-9), 1),
        cudaGraph=update.graph is not None,
    )


def sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


def amp_feature_net(vgg_f: VGGPyramid, amp: bool) -> VGGPyramid:
    """The frozen feature VGG of the SP stage: under bf16 autocast a bf16 copy, whose convs autocast runs as they
    are; it would otherwise cast every weight again at every call (it caches casts only of weights that require
    grad). Autocast casts the float32 weights to the same bf16 values, so the features are the same."""
    return copy.deepcopy(vgg_f).to(torch.bfloat16) if amp else vgg_f


def to_device_model(m: nn.Module, device: torch.device, channels_last: bool) -> nn.Module:
    m = m.to(device)
    return m.to(memory_format=torch.channels_last) if channels_last else m


def training_models(config: str | PackConfig, device: torch.device, channels_last: bool) -> Dict[str, nn.Module]:
    """Fresh models of a configuration plus `sp_ema`, the generator's EMA (a copy without gradients), on the
    device."""
    models = build_models(config)
    models["sp_ema"] = build_models(config)["sp"]
    models["sp_ema"].load_state_dict(models["sp"].state_dict())
    for p in models["sp_ema"].parameters():
        p.requires_grad_(False)
    return {k: to_device_model(m, device, channels_last) for k, m in models.items()}


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


def atomic_write(path: Path, write: Callable[[object], None]) -> None:
    """write(file) into a temporary file next to `path`, then renames it: a run stopped at any moment leaves the
    old file or the new one, never half of one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def save_npz(path: Path, module: nn.Module) -> None:
    state = {k: v.detach().float().cpu().numpy() for k, v in module.state_dict().items() if v.is_floating_point()}
    atomic_write(path, lambda f: np.savez(f, **state))


def save_grid(path: Path, rows: List[torch.Tensor]) -> None:
    """rows: list of [k, 3, h, w] tensors in [-1, 1] -> one PNG, a row per entry."""
    from PIL import Image

    grid = torch.cat([torch.cat(list(r), dim=2) for r in rows], dim=1)  # [3, H, W]
    arr = ((grid.float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()
    scale = max(1, 64 // rows[0].shape[-1])  # small images shown larger
    image = Image.fromarray(arr).resize((arr.shape[1] * scale, arr.shape[0] * scale), Image.NEAREST)
    atomic_write(path, lambda f: image.save(f, format="PNG"))
