"""The classifier, SP and LAG steps captured as CUDA graphs (pipeline.train.common.GraphedStep). These need a CUDA
device and are skipped without one (the CPU checks of what a capture needs are in test_train_step.py); run them
first on a GPU:

    python3 -m pytest -q tests/python/test_cuda_graph.py

A replay must equal an eager step from the same state with the same random numbers, step after step: weights,
BatchNorm statistics, spectral-norm vectors, EMA and optimizer step counts, in float32 and under bf16 autocast;
for the classifier also under a learning rate that changes at every step.
"""
from __future__ import annotations

import copy
import re
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from pipeline import profile as P  # noqa: E402
from pipeline.models.vgg import folded_copy  # noqa: E402
from pipeline.train import classifier as C  # noqa: E402
from pipeline.train import common  # noqa: E402
from pipeline.train import lag as L  # noqa: E402
from pipeline.train import sp as S  # noqa: E402

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a CUDA device")

# Conv biases in front of a BatchNorm get round-off gradients that Adam scales up (test_train_step.GAUGE).
GAUGE = re.compile(r"^sp(_ema)?\.(block\d+\.(conv1|conv2|skip)\.bias|.*bn\.running_mean)$")
BATCH = 16


@pytest.fixture
def deterministic_cuda():
    saved = (
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
        torch.backends.cuda.matmul.allow_tf32,
        torch.backends.cudnn.allow_tf32,
    )
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    (
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
        torch.backends.cuda.matmul.allow_tf32,
        torch.backends.cudnn.allow_tf32,
    ) = saved


DEVICE = "cuda"


def _twins(stage: str, amp: bool):
    """Two copies of the same models, optimizers and contexts (the same random training images): one to run
    eagerly, one to capture."""
    dev = torch.device(DEVICE)
    torch.manual_seed(0)
    models = P.fresh_models(dev, "tiny")
    data = P.make_ctx([], dev)
    runs = []
    for use_graph in (False, True):
        ms = copy.deepcopy(models)
        for m in ms.values():
            m.train()
        ctx = P.make_ctx(
            [
                "--config",
                "tiny",
                "--batch-sp",
                str(BATCH),
                "--batch-lag",
                str(BATCH),
                "--blob-p",
                "0.5",
                "--batch-cls",
                str(BATCH),
            ],
            dev,
            amp,
            True,
        )
        ctx.cuda_graph, ctx.train_x, ctx.train_y = use_graph, data.train_x, data.train_y
        vgg_f = common.amp_feature_net(folded_copy(ms["vgg"]), amp)
        opts = dict(sp=S.sp_optimizers, lag=L.lag_optimizers, cls=lambda c, m: (C.cls_optimizer(c, m["vgg"]),))[stage](
            ctx, ms
        )
        runs.append(dict(models=ms, ctx=ctx, vgg_f=vgg_f, opts=opts))
    return runs


def _draw(stage: str, run: dict):
    if stage == "sp":
        return S.sp_draws(run["ctx"], BATCH, run["models"]["sp"].z_dim)
    if stage == "cls":
        return C.cls_draws(run["ctx"])
    return L.lag_draws(run["ctx"], run["models"]["lag"])


def _step(stage: str, run: dict, draws: dict):
    if stage == "sp":
        return S.sp_update(run["ctx"], run["models"], run["vgg_f"], *run["opts"], draws=draws)
    if stage == "cls":
        loss, logits, _ = C.cls_train_step(run["ctx"], run["models"]["vgg"], run["opts"][0], draws=draws)
        return dict(loss=loss, logits=logits)
    return L.lag_train_step(run["ctx"], run["models"], *run["opts"], draws=draws)


def _state(run: dict) -> dict:
    return {f"{k}.{n}": t.detach().float().clone() for k, m in run["models"].items() for n, t in m.state_dict().items()}


@pytest.mark.parametrize("amp", [False, True], ids=["fp32", "bf16"])
@pytest.mark.parametrize("stage", ["cls", "sp", "lag"])
def test_replays_equal_eager_steps_with_the_same_random_numbers(stage, amp, deterministic_cuda):
    eager, graphed = _twins(stage, amp)
    for run in (eager, graphed):  # dropout draws its own numbers inside the step: off for the comparison
        run["models"]["vgg"].dropout.p = 0.0
    static = _draw(stage, graphed)  # the replay reads its random numbers from these buffers
    runner = common.GraphedStep(lambda: _step(stage, graphed, static), True, name=stage, warmup=2)
    tol = 2e-2 if amp else 1e-4
    for i in range(6):  # 2 warm-up steps, the capture (replayed at once), 3 replays
        if stage == "cls":  # a new learning rate at every step, as the one-cycle schedule sets it
            for run in (eager, graphed):
                run["opts"][0].set_lr(0.02 * (i + 1))
        draws = _draw(stage, eager)
        for k, t in draws.items():
            static[k].copy_(t)
        out_eager, out_graph = _step(stage, eager, draws), runner()
        if stage == "sp":  # the EMA runs outside the graph, as in train_sp
            for run in (eager, graphed):
                common.ema_update(run["models"]["sp_ema"], run["models"]["sp"], S.sp_ema_decay(run["ctx"], i))
        torch.cuda.synchronize()
        for k in out_eager:
            assert torch.allclose(out_graph[k].float(), out_eager[k].float(), rtol=tol, atol=tol), (i, k)
        a, b = _state(graphed), _state(eager)
        for name in b:
            scale = float(b[name].abs().max()) + 1e-6
            limit = (20 if GAUGE.match(name) else 1) * tol * scale
            assert (a[name] - b[name]).abs().max() <= limit, (i, name, float((a[name] - b[name]).abs().max()))
    assert runner.graph is not None, "captured"
    if stage == "cls":
        return
    for opt_e, opt_g in zip(eager["opts"], graphed["opts"]):
        steps_e = [float(s["step"]) for s in opt_e.state_dict()["state"].values()]
        steps_g = [float(s["step"]) for s in opt_g.state_dict()["state"].values()]
        assert steps_e == steps_g and set(steps_g) == {6.0}


def test_each_replay_draws_new_random_numbers_and_trains():
    """Drawing inside the graph (as training does): every replay gets new numbers (the losses differ) and moves
    the weights, the spectral-norm vectors and the BatchNorm statistics."""
    _, graphed = _twins("sp", True)
    runner = common.GraphedStep(
        lambda: S.sp_update(graphed["ctx"], graphed["models"], graphed["vgg_f"], *graphed["opts"]),
        True,
        name="sp",
        warmup=2,
    )
    seen = []
    for _ in range(6):
        out = runner()
        g = graphed["models"]["sp"]
        seen.append(
            dict(
                loss_d=float(out["loss_d"]),
                w=g.block1.conv1.weight.detach().clone(),
                u=g.block1.conv1.sn_u.clone(),
                mean=g.block1.bn2.bn.running_mean.clone(),
            )
        )
    assert runner.graph is not None
    for before, after in zip(seen[2:], seen[3:]):  # capture, then replays
        assert before["loss_d"] != after["loss_d"]
        for k in ("w", "u", "mean"):
            assert not torch.equal(before[k], after[k]), k


def test_stage_loops_report_the_capture():
    """The three stage loops capture their step when the context asks for it, and say so in their stats."""
    _, graphed = _twins("sp", True)
    events = []
    ctx, models = graphed["ctx"], graphed["models"]
    ctx.log = lambda **r: events.append(r)
    ctx.args.steps_cls = ctx.args.steps_sp = ctx.args.steps_lag = 6
    cls = C.train_classifier(ctx, models["vgg"], {})
    sp = S.train_sp(ctx, models, graphed["vgg_f"], {})
    lag = L.train_lag(ctx, models, {})
    assert cls["cudaGraph"] and sp["cudaGraph"] and lag["cudaGraph"]
    assert cls["steps"] == sp["steps"] == lag["steps"] == 6
    assert [e["stage"] for e in events if e.get("event") == "cuda_graph_captured"] == ["cls", "sp", "lag"]


def test_the_host_waits_when_it_is_max_ahead_steps_ahead():
    """With max_ahead=1, when a call returns, the previous call's step has run, and with it a marker recorded
    before that step. The step (a chain of large matrix products, milliseconds on the GPU and microseconds to
    launch) would otherwise leave the marker pending: without the bound the host runs steps ahead."""
    a = torch.randn(2048, 2048, device=DEVICE)

    def step():
        x = a
        for _ in range(20):
            x = torch.tanh(x @ a)
        return x

    runner = common.GraphedStep(step, True, name="probe", warmup=1, max_ahead=1)
    markers = []
    for _ in range(8):
        markers.append(torch.cuda.Event())
        markers[-1].record()
        runner()
        if len(markers) >= 2:
            assert markers[-2].query(), "the previous step had run when the call returned"
    assert runner.graph is not None


def test_a_step_that_cannot_be_captured_runs_eagerly_and_says_why():
    x = torch.zeros(4, device=DEVICE)
    events = []

    def step():
        x.add_(1)
        return x.sum().item()  # a host read: not capturable

    runner = common.GraphedStep(step, True, log=lambda **r: events.append(r), name="probe", warmup=1)
    assert [runner() for _ in range(3)] == [4.0, 8.0, 12.0]
    assert runner.graph is None and not runner.use_graph
    assert [e["event"] for e in events] == ["cuda_graph_failed"]
    assert torch.cuda.current_stream() == torch.cuda.default_stream()
