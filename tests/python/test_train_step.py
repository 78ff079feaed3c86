"""The training step's operator counts (scripts/profile_train_step.py --count-ops) and the equivalence of the
reduced-dispatch step with the plain per-parameter computation. Tiny configurations on the CPU."""
from __future__ import annotations

import contextlib
import copy
import re
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from pipeline import profile as P  # noqa: E402
from pipeline.levels import NUM_LEVELS  # noqa: E402
from pipeline.models import build_models  # noqa: E402
from pipeline.models.spectral_norm import SNConv2d, SNLinear, SpectralNormGroup, _SpectralNormMixin  # noqa: E402
from pipeline.models.vgg import folded_copy  # noqa: E402
from pipeline.train import augment as A  # noqa: E402
from pipeline.train import classifier as C  # noqa: E402
from pipeline.train import common  # noqa: E402
from pipeline.train import lag as L  # noqa: E402
from pipeline.train import sp as S  # noqa: E402
from pipeline.train.optim import NesterovSGD  # noqa: E402


@pytest.fixture(scope="module")
def tiny_counts():
    return P.count_ops(torch.device("cpu"), "tiny", batch=4, steps=1, amp=True, channels_last=True)


def test_op_counter_splits_every_stage_by_phase_and_part(tiny_counts):
    assert set(tiny_counts) == {"cls", "sp", "lag"}
    sp = tiny_counts["sp"]
    assert set(sp["phases"]) >= {"data", "d_step", "g_step", "ema"}
    for phase in ("d_step", "g_step"):
        parts = sp["phases"][phase]
        assert parts["forward"] > 0 and parts["backward"] > 0 and parts["optimizer"] > 0 and parts["spectral_norm"] > 0
    assert "spectral_norm" not in tiny_counts["lag"]["phases"]["d_step"], "LAG has no spectral norm"
    assert sum(sum(p.values()) for p in sp["phases"].values()) == sp["total"]
    assert 0 < sp["kernels"] < sp["total"], "views are told apart from kernels"
    assert sp["ops"]["aten.convolution.default"] > 0 and sp["ops"]["aten.convolution_backward.default"] > 0


# ----------------------------------------------------------------------------------------------------------------
# The plain per-parameter computation: the reference the reduced-dispatch step must equal.
# ----------------------------------------------------------------------------------------------------------------
def legacy_make_adam(params, lr, betas, device, capturable=False):
    return torch.optim.Adam(params, lr=lr, betas=betas, foreach=False)


def legacy_cls_optimizer(ctx, vgg):
    return torch.optim.SGD(
        vgg.parameters(), lr=ctx.args.lr_cls, momentum=0.9, nesterov=True, weight_decay=5e-4, foreach=False
    )


def legacy_ema_update(ema, model, decay):
    with torch.no_grad():
        for e, s in zip(ema.parameters(), model.parameters()):
            e.lerp_(s, 1 - decay)
        for e, s in zip(ema.buffers(), model.buffers()):
            e.copy_(s)


def legacy_normalized_weight(self):
    with torch.autocast(device_type=self.weight.device.type, enabled=False):
        w = self.weight.reshape(self.weight.shape[0], -1).float()
        if self.training:
            with torch.no_grad():
                v = torch.nn.functional.normalize(torch.mv(w.t(), self.sn_u), dim=0)
                self.sn_u.copy_(torch.nn.functional.normalize(torch.mv(w, v), dim=0))
        u = self.sn_u
        v = torch.nn.functional.normalize(torch.mv(w.t(), u), dim=0).detach()
        sigma = torch.dot(u, torch.mv(w, v))
        return self.weight / sigma


def _use_legacy(mp):
    for stage in (S, L):  # where the stages look them up
        mp.setattr(stage, "make_adam", legacy_make_adam)
        mp.setattr(stage, "frozen", lambda model: contextlib.nullcontext())  # D's weight gradients in the G step too
    mp.setattr(C, "cls_optimizer", legacy_cls_optimizer)
    mp.setattr(S, "ema_update", legacy_ema_update)
    mp.setattr(_SpectralNormMixin, "normalized_weight", legacy_normalized_weight)
    mp.setattr(SpectralNormGroup, "normalized_weights", lambda self: None)  # every layer computes its own
    mp.setattr(
        C,
        "smoothed_cross_entropy",
        lambda logits, y, s: torch.nn.functional.cross_entropy(logits, y, label_smoothing=s),
    )


def _tiny(args=(), amp: bool = False, channels_last: bool = False):
    """Seed 0, the tiny models in training mode, their feature VGG and a step context (batches of 8, random data)."""
    dev = torch.device("cpu")
    torch.manual_seed(0)
    models = P.fresh_models(dev, "tiny", channels_last)
    ctx = P.make_ctx(
        ["--config", "tiny", "--batch-cls", "8", "--batch-sp", "8", "--batch-lag", "8", *args], dev, amp, channels_last
    )
    for m in models.values():
        m.train()
    return models, folded_copy(models["vgg"]), ctx


def _train(stage: str, steps: int, amp: bool = False, channels_last: bool = False, args=()):
    """`steps` steps of one stage from seed 0 (tiny config, random data); returns every model's state."""
    models, vgg_f, ctx = _tiny(args, amp=amp, channels_last=channels_last)
    if stage == "cls":
        opt = C.cls_optimizer(ctx, models["vgg"])
        losses = [C.cls_train_step(ctx, models["vgg"], opt)[0] for _ in range(steps)]
    elif stage == "sp":
        opts = S.sp_optimizers(ctx, models)
        losses = [S.sp_train_step(ctx, models, vgg_f, *opts, step=i)["loss_d"] for i in range(steps)]
    else:
        opts = L.lag_optimizers(ctx, models)
        losses = [L.lag_train_step(ctx, models, *opts)["loss_d"] for _ in range(steps)]
    state = {f"{k}.{n}": t.detach().clone() for k, m in models.items() for n, t in m.state_dict().items()}
    return state, torch.stack(losses)


# The generator's conv biases (but out_conv's) only ever reach a BatchNorm, which removes them: their gradient is
# zero up to round-off, and Adam turns any round-off into steps of up to ~sqrt(10) lr (beta2 0.9). They and the
# running means that follow them can differ by that much; everything else must agree to float round-off.
GAUGE = re.compile(r"^sp(_ema)?\.(block\d+\.(conv1|conv2|skip)\.bias|.*bn\.running_mean)$")


def _assert_same_state(new, old, atol, gauge_atol):
    assert list(new) == list(old), "same weight names"
    for name in old:
        if old[name].is_floating_point():
            tol = gauge_atol if GAUGE.match(name) else atol
            assert torch.allclose(new[name], old[name], rtol=1e-5, atol=tol), (
                name,
                (new[name] - old[name]).abs().max(),
            )
        else:
            assert torch.equal(new[name], old[name]), name


# SP: three steps without the diversity term, and one with it. Its gradient reaches some generator weights (fc8_dense,
# z_dense) only at round-off level, and Adam scales any gradient to a step of about lr: after the first step those
# weights differ by up to ~lr per step between two computations that differ only in round-off (grouped or per-layer
# spectral norm), so the three-step comparison runs without the term and the term gets the one-step comparison.
@pytest.mark.parametrize(
    "stage, steps, args",
    [("cls", 3, ()), ("sp", 3, ("--lambda-div", "0")), ("sp", 1, ()), ("lag", 3, ())],
    ids=["cls", "sp-without-diversity", "sp-one-step", "lag"],
)
def test_a_few_steps_equal_the_per_parameter_computation(stage, steps, args, monkeypatch):
    """Same seed, same data: the reduced-dispatch step (foreach optimizers and EMA, grouped spectral norm) ends at
    the same weights, buffers (running stats, sn_u, EMA) and losses as the plain per-parameter code, up to float
    round-off."""
    new_state, new_losses = _train(stage, steps=steps, args=args)
    with monkeypatch.context() as mp:
        _use_legacy(mp)
        old_state, old_losses = _train(stage, steps=steps, args=args)
    assert torch.allclose(new_losses, old_losses, rtol=1e-5, atol=1e-6)
    _assert_same_state(new_state, old_state, atol=1e-6, gauge_atol=2 * 3 * 3.2 * 1.5e-4)
    torch.manual_seed(0)
    init = {
        f"{k}.{n}": t
        for k, m in P.fresh_models(torch.device("cpu"), "tiny", False).items()
        for n, t in m.state_dict().items()
    }
    prefix = {"cls": "vgg.", "sp": "sp.", "lag": "lag."}[stage]
    assert any(not torch.equal(t, init[n]) for n, t in old_state.items() if n.startswith(prefix)), "the steps train"


def test_sp_and_lag_steps_have_no_host_syncs_but_in_the_cpu_optimizer(tiny_counts):
    """What a CUDA graph cannot capture (reads of device values, tensors made from Python data, data-dependent
    sizes) appears nowhere in the SP and LAG steps but in the optimizer, whose foreach form on the CPU reads each
    step counter (.item()); on CUDA the step uses the fused Adam, whose counters stay on the device."""
    for stage in ("cls", "sp", "lag"):
        syncs = tiny_counts[stage]["hostSyncs"]
        outside = {k: n for k, n in syncs.items() if k.split("/")[1] != "optimizer"}
        assert not outside, f"{stage}: {outside}"
    assert any(k.split("/")[1] == "optimizer" for k in tiny_counts["sp"]["hostSyncs"]), "the counter sees .item()"
    assert not tiny_counts["cls"]["hostSyncs"], "NesterovSGD reads nothing back"


def test_an_item_in_the_step_would_be_counted_as_a_host_sync(monkeypatch):
    """The check above can fail: a loss read on the host inside the D step shows up as a host sync there."""
    original = S.sp_d_step

    def d_step_reading_its_loss(*args):
        fake, loss_d = original(*args)
        loss_d.item()
        return fake, loss_d

    monkeypatch.setattr(S, "sp_d_step", d_step_reading_its_loss)
    syncs = P.count_ops(torch.device("cpu"), "tiny", batch=4, steps=1)["sp"]["hostSyncs"]
    assert syncs.get("d_step/forward/aten._local_scalar_dense.default") == 1, syncs


@pytest.mark.parametrize("stage", ["sp", "lag"])
def test_generator_step_leaves_the_discriminator_gradients_alone(stage):
    """The G step runs D with its weights frozen: after a whole step D's gradients are still those of its own
    step (the G step does not add its own, which the next D step would throw away)."""
    models, vgg_f, ctx = _tiny()
    d = models[f"{stage}_d"]
    opts = S.sp_optimizers(ctx, models) if stage == "sp" else L.lag_optimizers(ctx, models)
    after_d_step = []
    original_step = opts[1].step

    def d_step_recording_its_gradients(*args, **kwargs):
        after_d_step.extend(p.grad.clone() for p in d.parameters())
        return original_step(*args, **kwargs)

    opts[1].step = d_step_recording_its_gradients
    if stage == "sp":
        S.sp_update(ctx, models, vgg_f, *opts)
    else:
        L.lag_train_step(ctx, models, *opts)
    assert len(after_d_step) == len(list(d.parameters()))
    for p, g in zip(d.parameters(), after_d_step):
        assert p.requires_grad and torch.equal(p.grad, g)
    g_params = list(models[stage].parameters())
    assert all(p.grad is not None for p in g_params if p.requires_grad), "the generator still gets its gradients"


def test_frozen_restores_requires_grad_also_after_an_error():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2))
    model[1].bias.requires_grad_(False)
    with pytest.raises(ValueError):
        with common.frozen(model):
            assert not any(p.requires_grad for p in model.parameters())
            raise ValueError
    assert [p.requires_grad for p in model.parameters()] == [True, True, True, False]


def test_given_draws_make_the_step_a_function_of_its_random_numbers():
    """sp_update and lag_train_step with their draws given (as a CUDA graph replay gets them) equal the steps
    that draw the same numbers themselves."""
    results = []
    for given in (False, True):
        models, vgg_f, ctx = _tiny(["--blob-p", "0.8"])
        sp_opts, lag_opts = S.sp_optimizers(ctx, models), L.lag_optimizers(ctx, models)
        torch.manual_seed(1)
        for _ in range(2):
            draws = S.sp_draws(ctx, 8, models["sp"].z_dim) if given else None
            S.sp_update(ctx, models, vgg_f, *sp_opts, draws=draws)
            draws = L.lag_draws(ctx, models["lag"]) if given else None
            L.lag_train_step(ctx, models, *lag_opts, draws=draws)
        results.append({f"{k}.{n}": t.clone() for k, m in models.items() for n, t in m.state_dict().items()})
    assert all(torch.equal(results[0][k], results[1][k]) for k in results[0])


def _sgd_models():
    torch.manual_seed(2)
    model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    return [copy.deepcopy(model) for _ in range(3)]


def _sgd_steps(model, opt, lrs, x):
    for lr in lrs:
        if isinstance(opt, NesterovSGD):
            opt.set_lr(lr)
        else:
            for g in opt.param_groups:
                g["lr"] = lr
        opt.zero_grad(set_to_none=True)
        model(x).square().mean().backward()
        opt.step()


def test_nesterov_sgd_follows_torch_sgd_with_the_rate_as_a_number_or_on_the_device():
    """The classifier's optimizer against torch.optim.SGD(nesterov, weight decay) under a changing learning
    rate: bit for bit with the rate as a number; to round-off with the rate in a device tensor (as graphed)."""
    torch.manual_seed(3)
    x = torch.randn(16, 6)
    ref, plain, on_device = _sgd_models()
    lrs = [0.02, 0.1, 0.05, 0.3, 0.01]
    _sgd_steps(ref, torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4), lrs, x)
    _sgd_steps(plain, NesterovSGD(plain.parameters(), 0.1, 0.9, 5e-4), lrs, x)
    opt = NesterovSGD(on_device.parameters(), 0.1, 0.9, 5e-4, lr_on_device=True)
    _sgd_steps(on_device, opt, lrs, x)
    assert float(opt.neg_lr) == pytest.approx(-lrs[-1], rel=1e-7)
    for a, b, c in zip(ref.parameters(), plain.parameters(), on_device.parameters()):
        assert torch.equal(a, b)
        assert torch.allclose(a, c, rtol=1e-6, atol=1e-7)


def test_nesterov_sgd_resumes_from_a_torch_sgd_checkpoint():
    torch.manual_seed(3)
    x = torch.randn(16, 6)
    ref, resumed, _ = _sgd_models()
    sgd = lambda m: torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)  # noqa
    ref_opt, first_opt = sgd(ref), sgd(resumed)
    _sgd_steps(ref, ref_opt, [0.1, 0.05, 0.02, 0.01], x)
    _sgd_steps(resumed, first_opt, [0.1, 0.05], x)
    opt = NesterovSGD(resumed.parameters(), 0.1, 0.9, 5e-4)
    opt.load_state_dict(first_opt.state_dict())
    _sgd_steps(resumed, opt, [0.02, 0.01], x)
    assert all(torch.equal(a, b) for a, b in zip(ref.parameters(), resumed.parameters()))


def test_smoothed_cross_entropy_is_label_smoothing():
    torch.manual_seed(4)
    logits, y = torch.randn(32, 10) * 3, torch.randint(0, 10, (32,))
    expected = torch.nn.functional.cross_entropy(logits, y, label_smoothing=0.1)
    assert torch.allclose(C.smoothed_cross_entropy(logits, y, 0.1), expected, rtol=1e-6, atol=1e-7)


def test_cutout_greys_one_square_per_image_clipped_at_the_border():
    x = torch.ones(3, 3, 32, 32)
    centers = torch.tensor([[16, 16], [0, 0], [31, 5]])
    out = A.cutout(x, centers, 16)
    holes = (out == 0).all(dim=1)  # [n, h, w]: grey in every channel
    assert (out[~holes[:, None].expand_as(out)] == 1).all(), "nothing else changes"
    assert holes[0].sum() == 256 and holes[0, 8:24, 8:24].all()
    assert holes[1].sum() == 64 and holes[1, :8, :8].all(), "clipped at the top left"
    assert holes[2].sum() == 9 * 13 and holes[2, 23:32, 0:13].all(), "clipped at the bottom and the left"
    assert torch.equal(A.cutout(x, None, 0), x)


def test_optimizers_and_ema_are_multi_tensor(tiny_counts):
    """Per step, the optimizers and the EMA dispatch a fixed handful of ops however many parameters there are
    (foreach Adam still reads each step counter with .item(): 2 host-side reads per parameter, no kernel)."""
    models = build_models("tiny")
    n_sp, n_d = len(list(models["sp"].parameters())), len(list(models["sp_d"].parameters()))
    sp = tiny_counts["sp"]["phases"]
    assert sp["d_step"]["optimizer"] <= 2 * n_d + 12 and sp["g_step"]["optimizer"] <= 2 * n_sp + 12
    assert sp["ema"]["forward"] <= 6
    assert tiny_counts["cls"]["phases"]["step"]["optimizer"] <= 8


@pytest.mark.parametrize("kind", ["conv", "conv_channels_last", "linear"])
def test_spectral_norm_equals_the_old_formula_in_value_gradient_and_power_iteration(kind):
    torch.manual_seed(3)
    layer = SNLinear(24, 10) if kind == "linear" else SNConv2d(6, 10, 3)
    if kind == "conv_channels_last":
        layer = layer.to(memory_format=torch.channels_last)
    twin = SNLinear(24, 10) if kind == "linear" else SNConv2d(6, 10, 3)
    twin.load_state_dict(layer.state_dict())
    for mode in ("train", "train", "eval"):  # two power iterations, then the frozen-u forward the exporter uses
        layer.train(mode == "train"), twin.train(mode == "train")
        new, old = layer.normalized_weight(), legacy_normalized_weight(twin)
        assert new.shape == old.shape and torch.allclose(new, old, rtol=1e-6, atol=1e-7)
        assert torch.allclose(layer.sn_u, twin.sn_u, rtol=1e-6, atol=1e-7)
        g = torch.randn_like(old)
        (gn,) = torch.autograd.grad((new * g).sum(), layer.weight)
        (go,) = torch.autograd.grad((old * g).sum(), twin.weight)
        assert torch.allclose(gn, go, rtol=1e-5, atol=1e-6), (gn - go).abs().max()
    sigma = torch.linalg.matrix_norm(twin.weight.detach().reshape(10, -1), ord=2)
    assert (
        abs(float((twin.weight / new).flatten()[0]) - float(sigma)) / float(sigma) < 0.5
    ), "a power-iteration estimate"


# ----------------------------------------------------------------------------------------------------------------
# Spectral norm of all layers of a model at once (SpectralNormGroup) against each layer's own normalized_weight
# ----------------------------------------------------------------------------------------------------------------
def _sn_models(name: str, channels_last: bool):
    torch.manual_seed(5)
    model = build_models("tiny")[name]
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    twin = copy.deepcopy(model)
    twin.spectral_norm.normalized_weights = lambda: None  # the twin's layers compute their own, one by one
    return model, twin


def _sn_inputs(name: str, model, b: int = 4):
    torch.manual_seed(6)
    y = torch.randint(0, 10, (b,))
    if name == "sp_d":
        return torch.rand(b, 3, 32, 32) * 2 - 1, y
    feats = build_models("tiny")["vgg"].eval().pyramid(torch.rand(b, 3, 32, 32) * 2 - 1)
    on = torch.nn.functional.one_hot(torch.randint(0, NUM_LEVELS, (b,)), NUM_LEVELS).float()
    return torch.randn(b, model.z_dim), y, [f.detach() for f in feats], on, (torch.rand(b, 1, 32, 32) > 0.5).float()


def _sn_state(model):
    return [(m.weight, m.sn_u) for m in model.spectral_norm.layers]


def test_lag_models_have_no_spectral_norm_to_group():
    models = build_models("tiny")
    for name in ("lag", "lag_d"):
        assert not any(isinstance(m, _SpectralNormMixin) for m in models[name].modules())
        assert not hasattr(models[name], "spectral_norm")
    for name in ("sp", "sp_d"):  # the models that have SN layers group all of them
        layers = [m for m in models[name].modules() if isinstance(m, _SpectralNormMixin)]
        assert len(layers) > 10 and models[name].spectral_norm.layers == layers


@pytest.mark.parametrize("name", ["sp_d", "sp"])
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("amp", [False, True])
def test_grouped_spectral_norm_equals_the_per_layer_one(name, channels_last, amp):
    """Value (dtype and strides too), each weight's gradient and every `sn_u` after the power iteration: two
    training calls (two power iterations), then eval (u frozen), with and without bf16 autocast."""
    model, twin = _sn_models(name, channels_last)
    for mode in ("train", "train", "eval"):
        model.train(mode == "train"), twin.train(mode == "train")
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
            new = model.spectral_norm.normalized_weights()
            old = [m.normalized_weight() for m in twin.spectral_norm.layers]
        assert len(new) == len(old) == len(model.spectral_norm.layers)
        for a, b in zip(new, old):
            assert a.dtype == b.dtype == torch.float32 and a.shape == b.shape and a.stride() == b.stride()
            assert torch.allclose(a, b, rtol=1e-6, atol=1e-7), (a - b).abs().max()
        for (_, u_new), (_, u_old) in zip(_sn_state(model), _sn_state(twin)):
            assert torch.allclose(u_new, u_old, rtol=1e-6, atol=2e-7), (u_new - u_old).abs().max()
        gs = [torch.randn_like(b) for b in old]
        grads_new = torch.autograd.grad(sum((a * g).sum() for a, g in zip(new, gs)), [w for w, _ in _sn_state(model)])
        grads_old = torch.autograd.grad(sum((b * g).sum() for b, g in zip(old, gs)), [w for w, _ in _sn_state(twin)])
        for a, b in zip(grads_new, grads_old):
            assert torch.allclose(a, b, rtol=1e-5, atol=1e-5 * float(b.abs().max())), (a - b).abs().max()


@pytest.mark.parametrize("name", ["sp_d", "sp"])
def test_model_forward_hands_every_layer_its_grouped_weight_once_per_call(name):
    """Through the model: the same output and gradients as layer-by-layer spectral norm, one power iteration per
    forward (the discriminator runs twice per SP step, so its u advances twice), none in eval mode."""
    model, twin = _sn_models(name, channels_last=True)
    calls = []
    group = model.spectral_norm
    group.normalized_weights = lambda f=group.normalized_weights: calls.append(1) or f()
    inputs = _sn_inputs(name, model)
    for mode in ("train", "train", "eval"):
        model.train(mode == "train"), twin.train(mode == "train")
        out_new, out_old = model(*inputs), twin(*inputs)
        assert torch.allclose(out_new, out_old, rtol=1e-5, atol=1e-5), (out_new - out_old).abs().max()
        params = [p for p in model.parameters()]
        grads_new = torch.autograd.grad(out_new.square().sum(), params, allow_unused=True)
        grads_old = torch.autograd.grad(out_old.square().sum(), list(twin.parameters()), allow_unused=True)
        # Against the largest gradient: the generator's conv biases before a BatchNorm get only round-off (GAUGE).
        scale = max(float(b.abs().max()) for b in grads_old if b is not None)
        for a, b in zip(grads_new, grads_old):
            assert (a is None) == (b is None)
            assert a is None or torch.allclose(a, b, rtol=1e-4, atol=1e-6 * scale), (a - b).abs().max()
        for (_, u_new), (_, u_old) in zip(_sn_state(model), _sn_state(twin)):
            assert torch.allclose(u_new, u_old, rtol=1e-6, atol=2e-7)
        assert all("_sn_handed" not in m.__dict__ for m in group.layers), "nothing handed out outlives the forward"
    assert len(calls) == 3


def test_a_layer_left_out_of_the_forward_is_an_error_and_a_lone_layer_computes_its_own():
    model, _ = _sn_models("sp_d", channels_last=False)
    layer = model.spectral_norm.layers[-1]
    with pytest.raises(RuntimeError, match="did not run"):
        with model.spectral_norm.handed_out():
            layer(torch.randn(2, layer.in_features))
    assert all("_sn_handed" not in m.__dict__ for m in model.spectral_norm.layers)
    model.eval()
    assert torch.allclose(
        layer(torch.ones(1, layer.in_features)),
        torch.nn.functional.linear(torch.ones(1, layer.in_features), layer.normalized_weight(), layer.bias),
    )


def test_spectral_norm_dispatches_do_not_grow_with_the_layers(tiny_counts):
    """Per model call a constant ~45 operators plus the views that flatten each weight and hand it back (2 to 4
    per layer, no kernel); layer by layer it is ~19 operators per layer, most of them kernels."""
    sp = tiny_counts["sp"]["phases"]
    n_d = len(build_models("tiny")["sp_d"].spectral_norm.layers)
    assert sp["g_step"]["spectral_norm"] <= 50 + 4 * n_d  # the discriminator's one call in the G step


def test_bf16_feature_net_gives_the_features_autocast_gave():
    torch.manual_seed(4)
    vgg_f = folded_copy(build_models("tiny")["vgg"])
    assert common.amp_feature_net(vgg_f, False) is vgg_f
    vgg_bf16 = common.amp_feature_net(vgg_f, True)
    assert all(p.dtype == torch.bfloat16 for p in vgg_bf16.parameters())
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        for a, b in zip(vgg_f.pyramid(x), vgg_bf16.pyramid(x)):
            assert a.dtype == b.dtype and torch.equal(a, b)


def test_sn_per_layer_switch_turns_the_group_off_with_the_same_forward(monkeypatch):
    """`--sn-per-layer` (SpectralNormGroup.enabled = False): nothing is grouped, each layer computes its own, and the
    model's output and power iteration are those of the grouped path."""
    model, twin = _sn_models("sp_d", channels_last=False)
    inputs = _sn_inputs("sp_d", model)
    grouped = model(*inputs)
    monkeypatch.setattr(SpectralNormGroup, "enabled", False)
    assert SpectralNormGroup(twin).normalized_weights() is None, "switched off: nothing is grouped"
    per_layer = build_models("tiny")["sp_d"]
    per_layer.load_state_dict(twin.state_dict())
    out = per_layer(*inputs)
    assert torch.allclose(grouped, out, rtol=1e-5, atol=1e-5), (grouped - out).abs().max()
    for (_, u_grouped), (_, u_alone) in zip(_sn_state(model), _sn_state(per_layer)):
        assert torch.allclose(u_grouped, u_alone, rtol=1e-6, atol=2e-7)
