"""Stage 1: the VGG classifier, whose features condition the Semantic Pyramid generator. Nesterov SGD with a
one-cycle learning rate that follows the fraction of the stage's time budget, label smoothing, flips, crops, cutout."""
from __future__ import annotations

from typing import Dict

import torch
import torch.nn.functional as F

from pipeline.models.vgg import VGGPyramid
from pipeline.train.augment import augment, crop_draw, cutout, flip_draw
from pipeline.train.common import (
    GraphedStep,
    StageLog,
    TrainContext,
    load_stage_state,
    stage_state,
    stage_stats,
    step_autocast,
    sync,
)
from pipeline.train.optim import NesterovSGD


def cls_optimizer(ctx: TrainContext, vgg: VGGPyramid) -> torch.optim.Optimizer:
    return NesterovSGD(
        vgg.parameters(), lr=ctx.args.lr_cls, momentum=0.9, weight_decay=5e-4, lr_on_device=ctx.cuda_graph
    )


def smoothed_cross_entropy(logits: torch.Tensor, y: torch.Tensor, smoothing: float) -> torch.Tensor:
    """F.cross_entropy(logits, y, label_smoothing=smoothing), written out: F.cross_entropy's label smoothing
    selects the entries that are not ignore_index with a data-dependent size (a host sync, no CUDA graph)."""
    logp = F.log_softmax(logits, dim=1)
    nll = -logp.gather(1, y[:, None]).squeeze(1)
    return ((1 - smoothing) * nll - smoothing * logp.mean(dim=1)).mean()


def cls_draws(ctx: TrainContext) -> Dict[str, torch.Tensor]:
    """Every random number of a classifier step but dropout's: images, flips, crops, then the cutout centres (none
    with --cutout 0, so that the other draws do not depend on it)."""
    dev, n, size = ctx.device, ctx.args.batch_cls, ctx.train_x.shape[-1]
    draws = dict(
        idx=torch.randint(0, len(ctx.train_x), (n,), device=dev), flip=flip_draw(n, dev), shift=crop_draw(n, dev)
    )
    if ctx.args.cutout > 0:
        draws["cutout"] = torch.randint(0, size, (n, 2), device=dev)
    return draws


def cls_train_step(
    ctx: TrainContext, vgg: VGGPyramid, opt: torch.optim.Optimizer, draws: Dict[str, torch.Tensor] | None = None
):
    """One classifier step on an augmented batch; returns (loss, logits, labels) without syncing the device."""
    draws = cls_draws(ctx) if draws is None else draws
    idx = draws["idx"]
    x = augment(ctx.train_x[idx], crop=True, flip=draws["flip"], shift=draws["shift"])
    x = cutout(x, draws.get("cutout"), ctx.args.cutout)
    if ctx.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    y = ctx.train_y[idx]
    with step_autocast(ctx):
        logits = vgg(x)
        loss = smoothed_cross_entropy(logits.float(), y, 0.1)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    ctx.grad_sync(opt)
    opt.step()
    return loss.detach(), logits.detach(), y


def train_classifier(ctx: TrainContext, vgg: VGGPyramid, state: dict) -> dict:
    a = ctx.args
    opt = cls_optimizer(ctx, vgg)
    budget = load_stage_state(state, a.minutes_cls, a.steps_cls, ctx.agree, opt=opt)
    vgg.train()
    update = GraphedStep(lambda: cls_train_step(ctx, vgg, opt), ctx.cuda_graph, ctx.log, "cls")
    log = StageLog(ctx, "cls", a.batch_cls)
    correct, seen = 0, 0
    while not budget.done():
        f = budget.fraction()
        lr = a.lr_cls * (f / 0.15 if f < 0.15 else max(0.0, (1 - f) / 0.85))  # one-cycle, linear, by time
        opt.set_lr(max(lr, a.lr_cls * 1e-3))
        loss, logits, y = update()
        ctx.buffer_sync(vgg)
        budget.step += 1
        if log.due(budget):
            correct += (logits.argmax(1) == y).sum().item()
            seen += a.batch_cls
            log.write(budget, loss=round(loss.item(), 4), lr=round(lr, 5), train_acc_sampled=round(correct / seen, 4))
        ctx.maybe_checkpoint("cls", lambda: stage_state(budget, opt=opt))
    sync(ctx.device)
    return stage_stats(budget, a.batch_cls * ctx.world_size, update)
