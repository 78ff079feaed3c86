"""Where a training step's time goes, on random data (no data set needed): operator counts per step (OpCounter,
count_ops) and ms/step of the step variants (time_variants). The CLI is scripts/profile_train_step.py; the numbers
and what they mean are in docs/training.md.

Every dispatched operator is at least one host-side call, and every one that is not a view is at least one kernel
launch on a GPU, so the counts track the launch overhead that bounds a host-bound step; they do not depend on the
batch size and run on the CPU.
"""
from __future__ import annotations

import contextlib
import time
from collections import Counter, defaultdict

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from pipeline.models.spectral_norm import SpectralNormGroup, _SpectralNormMixin
from pipeline.models.vgg import folded_copy
from pipeline.train import classifier as C
from pipeline.train import lag as L
from pipeline.train import sp as S
from pipeline.train.common import GraphedStep, TrainContext, amp_feature_net, ema_update, training_models
from pipeline.train.options import parse_args

# The size of the random "data set" the profiled steps sample from.
RANDOM_IMAGES = 4096


def make_ctx(args, dev, amp=None, channels_last=None) -> TrainContext:
    """A training context on random images, with train.py's options plus `args`; amp and channels_last default
    to what a run on `dev` uses."""
    a = parse_args(["--out", "/tmp/profile-out", "--log-every", "1000000", "--ckpt-every", "1e9"] + args)
    x = torch.randint(0, 256, (RANDOM_IMAGES, 3, 32, 32), dtype=torch.uint8, device=dev)
    y = torch.randint(0, 10, (RANDOM_IMAGES,), device=dev)
    return TrainContext(
        args=a,
        device=dev,
        train_x=x,
        train_y=y,
        amp=dev.type == "cuda" if amp is None else amp,
        channels_last=dev.type == "cuda" if channels_last is None else channels_last,
        div_level_weight=torch.tensor(S.DIVERSITY_LEVEL_WEIGHT, device=dev),
    )


def fresh_models(dev, config="cifar10", channels_last=None):
    return training_models(config, dev, dev.type == "cuda" if channels_last is None else channels_last)


# --------------------------------------------------------------------------------------------------------------
# Operator counts per training step
# --------------------------------------------------------------------------------------------------------------
# Phases are the step functions of the training stages (labelled where the stage looks them up); parts are what
# runs inside them.
PHASES = {
    S: {
        "sp_draws": "data",
        "_sp_batch": "data",
        "_sp_real_batch": "data",
        "sp_d_step": "d_step",
        "sp_g_step": "g_step",
        "ema_update": "ema",
    },
    L: {"lag_draws": "data", "_lag_batch": "data", "lag_d_step": "d_step", "lag_g_step": "g_step"},
    C: {"cls_train_step": "step"},
}
PARTS = ("forward", "spectral_norm", "backward", "optimizer", "zero_grad")
NOT_KERNELS = {"aten.detach.default", "aten.lift_fresh.default", "aten._local_scalar_dense.default"}
# Operators that make the host wait for the device or copy host data to it on CUDA, so that a CUDA graph cannot
# capture them: a read of a value (.item(), and what branches on one), data-dependent output sizes, a tensor made
# from Python data (torch.tensor(list, device=...), seen here as lift_fresh of a tensor with dimensions; a 0-dim
# one is a number that a kernel takes by value, as autograd's mean backward makes).
HOST_SYNC_OPS = {
    "aten._local_scalar_dense.default",
    "aten.nonzero.default",
    "aten.masked_select.default",
    "aten.lift_fresh.default",
    "aten.unique_consecutive.default",
    "aten._unique2.default",
    "aten.repeat_interleave.Tensor",
    "aten.item.default",
}


def _is_host_sync(name: str, args) -> bool:
    if name == "aten.lift_fresh.default":
        return args[0].dim() > 0
    return name in HOST_SYNC_OPS


def _is_view(func) -> bool:
    """Views and other metadata-only ops: dispatched on the host, no kernel on the device."""
    if str(func) in NOT_KERNELS:
        return True
    return any(r.alias_info is not None and not r.alias_info.is_write for r in func._schema.returns)


class OpCounter(TorchDispatchMode):
    """Counts every aten operator dispatched below autograd (forward, backward and optimizer alike) under the
    current (phase, part) labels. profiler.* ops (record_function markers) are not counted."""

    def __init__(self):
        super().__init__()
        self.phase, self.parts = ["other"], ["forward"]
        self.counts = Counter()  # (phase, part, op) -> calls
        self.host_syncs = Counter()  # (phase, part, op) -> calls, of the ops a CUDA graph cannot capture
        self.recording = True

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = str(func)
        if self.recording and not name.startswith("profiler."):
            self.counts[(self.phase[-1], self.parts[-1], name)] += 1
            if _is_host_sync(name, args):
                self.host_syncs[(self.phase[-1], self.parts[-1], name)] += 1
        return func(*args, **(kwargs or {}))

    @contextlib.contextmanager
    def label(self, stack, name):
        stack.append(name)
        try:
            yield
        finally:
            stack.pop()

    def wrap(self, fn, phase=None, part=None):
        def wrapped(*args, **kwargs):
            with self.label(self.phase, phase) if phase else contextlib.nullcontext(), self.label(
                self.parts, part
            ) if part else contextlib.nullcontext():
                return fn(*args, **kwargs)

        return wrapped


@contextlib.contextmanager
def _patched(counter: OpCounter):
    """Labels the stages' step functions, backward passes and spectral norm for the counter; restores them after."""
    saved = []

    def patch(obj, attr, **labels):
        saved.append((obj, attr, obj.__dict__[attr]))
        setattr(obj, attr, counter.wrap(getattr(obj, attr), **labels))

    for module, phases in PHASES.items():
        for fn, phase in phases.items():
            patch(module, fn, phase=phase)
    patch(torch.Tensor, "backward", part="backward")
    patch(torch.autograd, "grad", part="backward")
    patch(_SpectralNormMixin, "normalized_weight", part="spectral_norm")
    patch(SpectralNormGroup, "normalized_weights", part="spectral_norm")  # all SN layers of a model at once
    try:
        yield
    finally:
        for obj, attr, fn in reversed(saved):
            setattr(obj, attr, fn)


def _label_optimizer(counter: OpCounter, opt: torch.optim.Optimizer) -> torch.optim.Optimizer:
    opt.step = counter.wrap(opt.step, part="optimizer")
    opt.zero_grad = counter.wrap(opt.zero_grad, part="zero_grad")
    return opt


def count_ops(dev, config="cifar10", batch=8, steps=2, amp=True, channels_last=True, seed=0) -> dict:
    """Operator dispatches per training step of each stage, after one warm-up step (the optimizers create their
    state on their first step). Returns {stage: {"total", "kernels", "phases": {phase: {part: n}}, "ops"}}."""
    torch.manual_seed(seed)
    models = fresh_models(dev, config, channels_last)
    vgg_f = amp_feature_net(folded_copy(models["vgg"]), amp)
    b = str(batch)
    ctx = make_ctx(["--config", config, "--batch-cls", b, "--batch-sp", b, "--batch-lag", b], dev, amp, channels_last)
    counter = OpCounter()
    opts = dict(
        cls=C.cls_optimizer(ctx, models["vgg"]), sp=S.sp_optimizers(ctx, models), lag=L.lag_optimizers(ctx, models)
    )
    for k in ("sp", "lag"):
        opts[k] = tuple(_label_optimizer(counter, o) for o in opts[k])
    opts["cls"] = _label_optimizer(counter, opts["cls"])
    runs = {
        "cls": lambda: C.cls_train_step(ctx, models["vgg"], opts["cls"]),
        "sp": lambda: S.sp_train_step(ctx, models, vgg_f, *opts["sp"], step=0),
        "lag": lambda: L.lag_train_step(ctx, models, *opts["lag"]),
    }
    models["vgg"].train(), models["sp"].train(), models["sp_d"].train(), models["lag"].train(), models["lag_d"].train()
    result = {}
    with _patched(counter), counter:
        for stage, run in runs.items():
            counter.recording = False
            run()  # warm-up
            counter.counts.clear()
            counter.host_syncs.clear()
            counter.recording = True
            for _ in range(steps):
                run()
            counter.recording = False
            phases, ops = defaultdict(dict), Counter()
            total = kernels = 0
            for (phase, part, op), n in counter.counts.items():
                phases[phase][part] = phases[phase].get(part, 0) + n / steps
                ops[op] += n / steps
                total += n / steps
                kernels += 0 if _is_view_name(op) else n / steps
            result[stage] = dict(
                total=round(total),
                kernels=round(kernels),
                phases={ph: {pt: round(v) for pt, v in parts.items()} for ph, parts in phases.items()},
                ops={op: round(n, 1) for op, n in ops.most_common()},
                hostSyncs={"/".join(k): round(n / steps, 1) for k, n in sorted(counter.host_syncs.items())},
            )
    return result


_VIEW_NAMES: dict = {}


def _is_view_name(name: str) -> bool:
    if name not in _VIEW_NAMES:
        namespace, packet, overload = name.split(".")
        func = getattr(getattr(getattr(torch.ops, namespace), packet), overload)
        _VIEW_NAMES[name] = _is_view(func)
    return _VIEW_NAMES[name]


def print_counts(result: dict, top: int) -> None:
    for stage, r in result.items():
        print(f"{stage}: {r['total']} operator dispatches per step, {r['kernels']} of them not views")
        print(f"  {'phase':<8}" + "".join(f"{p:>14}" for p in PARTS) + f"{'all':>8}")
        for phase, parts in r["phases"].items():
            print(f"  {phase:<8}" + "".join(f"{parts.get(p, 0):>14}" for p in PARTS) + f"{sum(parts.values()):>8}")
        if top:
            print("  top ops: " + ", ".join(f"{op[len('aten.'):]} {n:g}" for op, n in list(r["ops"].items())[:top]))
        if r["hostSyncs"]:
            print("  host syncs (phase/part/op): " + ", ".join(f"{k} {n:g}" for k, n in r["hostSyncs"].items()))


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def time_steps(step, use_graph: bool, steps: int, warmup: int = 10) -> float:
    """ms per call of `step` run by GraphedStep (eager, or captured after its own warm-up)."""
    runner = GraphedStep(step, use_graph, log=lambda **r: print("   ", r, flush=True), name="profile")
    for _ in range(warmup):  # cuDNN autotuning, optimizer state, the capture
        runner()
    sync()
    t = time.perf_counter()
    for _ in range(steps):
        runner()
    sync()
    return 1000 * (time.perf_counter() - t) / steps


VARIANTS = {  # name -> (CUDA graph, grouped spectral norm)
    "eager": (False, True),
    "eager, SN per layer": (False, False),
    "cuda graph": (True, True),
    "cuda graph, SN per layer": (True, False),
}


def time_variants(dev, steps: int, batch: int, names, config: str = "cifar10") -> dict:
    """ms/step and img/s of the classifier step (batch 512, as train.py), the SP step (update + EMA) and the
    LAG step, per variant, each from fresh models."""
    results = {}
    for name in names:
        use_graph, grouped = VARIANTS[name]
        if use_graph and dev.type != "cuda":
            continue
        SpectralNormGroup.enabled = grouped
        torch.manual_seed(0)
        models = fresh_models(dev, config)
        vgg_f = amp_feature_net(folded_copy(models["vgg"]), dev.type == "cuda")
        b = str(batch)
        ctx = make_ctx(["--config", config, "--batch-sp", b, "--batch-lag", b], dev)
        ctx.cuda_graph = use_graph
        for k in ("sp", "sp_d", "lag", "lag_d"):
            models[k].train()
        models["vgg"].train()
        opt_cls, opt_sp, opt_lag = (
            C.cls_optimizer(ctx, models["vgg"]),
            S.sp_optimizers(ctx, models),
            L.lag_optimizers(ctx, models),
        )
        runner_sp = GraphedStep(
            lambda: S.sp_update(ctx, models, vgg_f, *opt_sp),
            use_graph,
            log=lambda **r: print("   ", r, flush=True),
            name="sp",
        )

        def sp_with_ema():  # as train_sp runs it
            out = runner_sp()
            ema_update(models["sp_ema"], models["sp"], S.sp_ema_decay(ctx, runner_sp.calls))
            return out

        ms_sp = time_steps(sp_with_ema, False, steps)  # the runner inside captures; the EMA stays eager
        ms_lag = time_steps(lambda: L.lag_train_step(ctx, models, *opt_lag), use_graph, steps)
        ms_cls = time_steps(lambda: C.cls_train_step(ctx, models["vgg"], opt_cls), use_graph, steps)
        b_cls = ctx.args.batch_cls
        results[name] = dict(
            sp_ms=round(ms_sp, 2),
            sp_img_s=round(batch * 1000 / ms_sp),
            lag_ms=round(ms_lag, 2),
            lag_img_s=round(batch * 1000 / ms_lag),
            cls_ms=round(ms_cls, 2),
            cls_img_s=round(b_cls * 1000 / ms_cls),
            cls_batch=b_cls,
            sp_captured=runner_sp.graph is not None,
        )
        print(
            f"{name:<26} SP {ms_sp:7.2f} ms/step ({batch * 1000 / ms_sp:7.0f} img/s)   "
            f"LAG {ms_lag:7.2f} ms/step ({batch * 1000 / ms_lag:7.0f} img/s)   "
            f"classifier {ms_cls:7.2f} ms/step ({b_cls * 1000 / ms_cls:7.0f} img/s)",
            flush=True,
        )
    SpectralNormGroup.enabled = True
    return results
