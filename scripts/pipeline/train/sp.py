"""Stage 2: the Semantic Pyramid GAN. Hinge loss with a projection discriminator, a reconstruction loss in the
selected level's VGG features (inside the painted mask), a diversity term between two samples of the same
condition, an EMA of the generator, and BigGAN's standing statistics for the EMA generator at the end."""
from __future__ import annotations

from typing import Dict

import torch
import torch.nn as nn
import torch.nn.functional as F

from pipeline.levels import NUM_LEVELS, SPATIAL_LEVELS
from pipeline.models.sp import SPGenerator
from pipeline.models.vgg import VGGPyramid
from pipeline.train.augment import augment, blob_draws, blob_masks_from, flip_draw
from pipeline.train.common import (
    GraphedStep,
    StageLog,
    TrainContext,
    adam_kind,
    autocast,
    ema_update,
    frozen,
    load_stage_state,
    make_adam,
    stage_state,
    stage_stats,
    step_autocast,
    sync,
)

# Weight of the diversity term per conditioning level (pool1 .. fc8): less where near-copies are wanted.
DIVERSITY_LEVEL_WEIGHT = [0.0, 0.25, 0.5, 1.0, 1.0, 1.0, 1.0]


def condition_draws(b_half: int, n_levels: int, device: torch.device) -> Dict[str, torch.Tensor]:
    """The random numbers of SP conditions: a level per pair of samples, whether it gets a blob mask, the blobs."""
    return dict(
        level=torch.randint(0, n_levels, (b_half,), device=device),
        use_blob=torch.rand(b_half, device=device),
        **blob_draws(b_half, device),
    )


def conditions_from(draws: Dict[str, torch.Tensor], n_levels: int, image_size: int, blob_p: float):
    """(on [b, n_levels], mask [b, 1, size, size]) from condition_draws."""
    level = draws["level"]
    # F.one_hot's values; F.one_hot itself checks the indices' range with host reads on some devices (the CPU).
    on = (level[:, None] == torch.arange(n_levels, device=level.device)).float()
    mask = torch.ones(level.shape[0], 1, image_size, image_size, device=level.device)
    use_blob = (draws["use_blob"] < blob_p) & (level < SPATIAL_LEVELS)
    mask = torch.where(use_blob[:, None, None, None], blob_masks_from(draws, image_size), mask)
    return on, mask


def reconstruction_loss(fake_feats, real_feats, on: torch.Tensor, mask: torch.Tensor, sp: SPGenerator):
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


def sp_draws(ctx: TrainContext, batch: int, z_dim: int) -> Dict[str, torch.Tensor]:
    """Every random number of an SP step, in a fixed order (the same numbers from the same seed): half a batch of
    sources, their flips, their conditions, then a batch of real images, their flips, and the noise. The rest of
    the step is a function of these, so that a test can give a CUDA-graph replay and an eager step the same
    numbers."""
    dev, n_train = ctx.device, len(ctx.train_x)
    half = batch // 2
    draws = dict(idx=torch.randint(0, n_train, (half,), device=dev), flip=flip_draw(half, dev))
    draws.update(condition_draws(half, NUM_LEVELS, dev))
    draws.update(
        real_idx=torch.randint(0, n_train, (2 * half,), device=dev),
        real_flip=flip_draw(2 * half, dev),
        z=torch.randn(2 * half, z_dim, device=dev),
    )
    return draws


def _sp_batch(ctx: TrainContext, vgg_f: VGGPyramid, draws: Dict[str, torch.Tensor]):
    """Half a batch of source images with conditions, each duplicated for two noises (for the diversity term)."""
    idx = draws["idx"]
    x = augment(ctx.train_x[idx], crop=False, flip=draws["flip"])
    with torch.no_grad(), step_autocast(ctx):
        feats = [f.float() for f in vgg_f.pyramid(x)]
    on, mask = conditions_from(draws, NUM_LEVELS, x.shape[-1], ctx.args.blob_p)
    dup = lambda t: torch.cat([t, t])  # noqa: E731
    return dup(x), dup(ctx.train_y[idx]), [dup(f) for f in feats], dup(on), dup(mask)


def _sp_real_batch(ctx: TrainContext, draws: Dict[str, torch.Tensor]):
    real_idx = draws["real_idx"]
    return augment(ctx.train_x[real_idx], crop=False, flip=draws["real_flip"]), ctx.train_y[real_idx], draws["z"]


def sp_optimizers(ctx: TrainContext, models: Dict[str, nn.Module]):
    a, dev, graph = ctx.args, ctx.device, ctx.cuda_graph
    return (
        make_adam(models["sp"].parameters(), a.lr_g, (0.0, 0.9), dev, capturable=graph),
        make_adam(models["sp_d"].parameters(), a.lr_d, (0.0, 0.9), dev, capturable=graph),
    )


def sp_d_step(ctx: TrainContext, g, d, opt_d, x_real, y_real, z, y, feats, on, mask):
    """Generates the fake batch and takes one hinge-loss step of the discriminator; returns (fake, loss_d)."""
    b = x_real.shape[0]
    with step_autocast(ctx):
        fake = g(z, y, feats, on, mask)
        # Discriminator: one call on the concatenated real and fake batch.
        d_out = d(torch.cat([x_real, fake.detach()]), torch.cat([y_real, y])).float()
        loss_d = F.relu(1 - d_out[:b]).mean() + F.relu(1 + d_out[b:]).mean()
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    ctx.grad_sync(opt_d)
    opt_d.step()
    return fake, loss_d


def sp_g_step(ctx: TrainContext, g, d, vgg_f, opt_g, fake, y, feats, on, mask) -> dict:
    a = ctx.args
    b = fake.shape[0]
    with step_autocast(ctx):
        with frozen(d):
            adv = -d(fake, y).float().mean()
        rec = reconstruction_loss(vgg_f.pyramid(fake), feats, on, mask, g)
        pair_dist = (fake[: b // 2] - fake[b // 2 :]).float().abs().mean(dim=(1, 2, 3))
        # Diversity is pushed less where near-copies are wanted (stride 2 and 4).
        div_weight = (on[: b // 2] * ctx.div_level_weight).sum(1)
        div = -(div_weight * pair_dist.clamp(max=a.div_cap)).mean()
        loss_g = adv + a.lambda_rec * rec + a.lambda_div * div
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    ctx.grad_sync(opt_g)
    opt_g.step()
    return dict(adv=adv.detach(), rec=rec.detach(), pair_dist=pair_dist.detach().mean())


def sp_update(
    ctx: TrainContext,
    models: Dict[str, nn.Module],
    vgg_f: VGGPyramid,
    opt_g,
    opt_d,
    draws: Dict[str, torch.Tensor] | None = None,
) -> dict:
    """The part of an SP step that a CUDA graph captures: data, D step, G step, with its random numbers drawn
    here (or given, as sp_draws makes them). Returns the losses as tensors, so that nothing waits for the device
    unless the caller logs."""
    g, d = models["sp"], models["sp_d"]
    draws = sp_draws(ctx, ctx.args.batch_sp, g.z_dim) if draws is None else draws
    x, y, feats, on, mask = _sp_batch(ctx, vgg_f, draws)
    x_real, y_real, z = _sp_real_batch(ctx, draws)
    fake, loss_d = sp_d_step(ctx, g, d, opt_d, x_real, y_real, z, y, feats, on, mask)
    losses = sp_g_step(ctx, g, d, vgg_f, opt_g, fake, y, feats, on, mask)
    return dict(loss_d=loss_d.detach(), **losses)


def sp_ema_decay(ctx: TrainContext, step: int) -> float:
    """EMA decay after `step` earlier steps: short memory at first, then args.ema (it changes for ~9,000 steps,
    which is why the EMA runs outside the CUDA graph, with its decay a plain number)."""
    return min(ctx.args.ema, (2 + step) / (11 + step))


def sp_train_step(ctx: TrainContext, models: Dict[str, nn.Module], vgg_f: VGGPyramid, opt_g, opt_d, step: int) -> dict:
    """One eager SP step (data, D step, G step, EMA); `step` counts the steps done before it."""
    losses = sp_update(ctx, models, vgg_f, opt_g, opt_d)
    ema_update(models["sp_ema"], models["sp"], sp_ema_decay(ctx, step))
    return losses


def train_sp(ctx: TrainContext, models: Dict[str, nn.Module], vgg_f: VGGPyramid, state: dict) -> dict:
    a = ctx.args
    g, d = models["sp"], models["sp_d"]
    opt_g, opt_d = sp_optimizers(ctx, models)
    budget = load_stage_state(state, a.minutes_sp, a.steps_sp, ctx.agree, opt_g=opt_g, opt_d=opt_d)
    g.train(), d.train()
    update = GraphedStep(lambda: sp_update(ctx, models, vgg_f, opt_g, opt_d), ctx.cuda_graph, ctx.log, "sp")
    log = StageLog(ctx, "sp", a.batch_sp)
    while not budget.done():
        losses = update()
        ctx.buffer_sync(g, d)
        ema_update(models["sp_ema"], g, sp_ema_decay(ctx, budget.step))
        budget.step += 1
        if log.due(budget):
            log.write(budget, **{k: round(v.item(), 4) for k, v in losses.items()})
        ctx.maybe_checkpoint("sp", lambda: stage_state(budget, opt_g=opt_g, opt_d=opt_d))
    sync(ctx.device)
    return dict(**stage_stats(budget, a.batch_sp * ctx.world_size, update), adam=adam_kind(opt_g))


@torch.no_grad()
def standing_stats(ctx: TrainContext, g: SPGenerator, vgg_f: VGGPyramid, batches: int) -> None:
    """Recomputes the EMA generator's BatchNorm statistics under its own weights (BigGAN's 'standing stats')."""
    for m in g.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # cumulative average
    g.train()
    for _ in range(batches):
        draws = sp_draws(ctx, ctx.args.batch_sp, g.z_dim)
        x, y, feats, on, mask = _sp_batch(ctx, vgg_f, draws)
        with autocast(ctx.device, ctx.amp):
            g(draws["z"], y, feats, on, mask)
    for m in g.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = 0.1
    ctx.buffer_sync(g)  # the mean over all ranks' batches
    g.eval()
