"""Stage 3: LAG. WGAN-GP for the discriminator; for the generator the adversarial loss plus the distance, in the
discriminator's latent space, between the noise-0 output and the real image (Berthelot et al. 2020)."""
from __future__ import annotations

from typing import Dict

import torch
import torch.nn as nn

from pipeline.models.lag import LAGDiscriminator, LAGGenerator, downscale
from pipeline.train.augment import augment, flip_draw
from pipeline.train.common import (
    GraphedStep,
    StageLog,
    TrainContext,
    adam_kind,
    frozen,
    load_stage_state,
    make_adam,
    stage_state,
    stage_stats,
    step_autocast,
    sync,
)


def gradient_penalty(
    d: LAGDiscriminator, real: torch.Tensor, fake: torch.Tensor, lr: torch.Tensor, eps: torch.Tensor
) -> torch.Tensor:
    """WGAN-GP at the points real + eps (fake - real), eps [B, 1, 1, 1] uniform in [0, 1)."""
    mix = (eps * real + (1 - eps) * fake).requires_grad_(True)
    out = d(mix, lr)
    (grad,) = torch.autograd.grad(out.sum(), mix, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def lag_optimizers(ctx: TrainContext, models: Dict[str, nn.Module]):
    a, dev, graph = ctx.args, ctx.device, ctx.cuda_graph
    return (
        make_adam(models["lag"].parameters(), a.lr_lag, (0.0, 0.99), dev, capturable=graph),
        make_adam(models["lag_d"].parameters(), a.lr_lag, (0.0, 0.99), dev, capturable=graph),
    )


def lag_d_step(ctx: TrainContext, g, d, opt_d, x, lr, noise, eps):
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
    ctx.grad_sync(opt_d)
    opt_d.step()
    return fake, dict(loss_d=loss_d.detach(), gp=gp.detach())


def lag_g_step(ctx: TrainContext, g, d, opt_g, fake, x, lr, noise) -> dict:
    with step_autocast(ctx), frozen(d):
        adv = -d(fake, lr).float().mean()
        fake0 = g(lr, torch.zeros_like(noise), 0.0)
        with torch.no_grad():
            latent_real = d.latent(x).float()
        latent_mse = ((d.latent(fake0).float() - latent_real) ** 2).mean()
        loss_g = adv + ctx.args.lambda_latent * latent_mse
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    ctx.grad_sync(opt_g)
    opt_g.step()
    return dict(adv=adv.detach(), latent_mse=latent_mse.detach())


def lag_draws(ctx: TrainContext, g: LAGGenerator) -> Dict[str, torch.Tensor]:
    """Every random number of a LAG step: images, their flips, noise, then the gradient penalty's mixing weights
    (last, so that the other draws do not depend on the penalty)."""
    dev, bs = ctx.device, ctx.args.batch_lag
    return dict(
        idx=torch.randint(0, len(ctx.train_x), (bs,), device=dev),
        flip=flip_draw(bs, dev),
        noise=torch.randn(bs, g.noise_channels, g.lr_size, g.lr_size, device=dev),
        eps=torch.rand(bs, 1, 1, 1, device=dev),
    )


def _lag_batch(ctx: TrainContext, g: LAGGenerator, draws: Dict[str, torch.Tensor]):
    x = augment(ctx.train_x[draws["idx"]], crop=False, flip=draws["flip"])
    return x, downscale(x, g.scale), draws["noise"], draws["eps"]


def lag_train_step(
    ctx: TrainContext, models: Dict[str, nn.Module], opt_g, opt_d, draws: Dict[str, torch.Tensor] | None = None
) -> dict:
    """One LAG step (data, D step, G step), with its random numbers drawn here or given (lag_draws)."""
    g, d = models["lag"], models["lag_d"]
    x, lr, noise, eps = _lag_batch(ctx, g, lag_draws(ctx, g) if draws is None else draws)
    fake, losses = lag_d_step(ctx, g, d, opt_d, x, lr, noise, eps)
    return dict(**losses, **lag_g_step(ctx, g, d, opt_g, fake, x, lr, noise))


def train_lag(ctx: TrainContext, models: Dict[str, nn.Module], state: dict) -> dict:
    a = ctx.args
    g, d = models["lag"], models["lag_d"]
    opt_g, opt_d = lag_optimizers(ctx, models)
    budget = load_stage_state(state, a.minutes_lag, a.steps_lag, ctx.agree, opt_g=opt_g, opt_d=opt_d)
    g.train(), d.train()
    update = GraphedStep(lambda: lag_train_step(ctx, models, opt_g, opt_d), ctx.cuda_graph, ctx.log, "lag")
    log = StageLog(ctx, "lag", a.batch_lag)
    while not budget.done():
        losses = update()
        budget.step += 1
        if log.due(budget):
            log.write(budget, **{k: round(v.item(), 4) for k, v in losses.items()})
        ctx.maybe_checkpoint("lag", lambda: stage_state(budget, opt_g=opt_g, opt_d=opt_d))
    sync(ctx.device)
    return dict(**stage_stats(budget, a.batch_lag * ctx.world_size, update), adam=adam_kind(opt_g))
