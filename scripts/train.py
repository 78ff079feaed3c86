"""Trains a whole pack in one command: the VGG classifier, then the Semantic Pyramid generator, then LAG.

    python3 scripts/train.py --data SOURCE --size 64 --out runs/mine            # one GPU (or the CPU)
    torchrun --nproc_per_node=4 scripts/train.py --data SOURCE --size 64 --out runs/mine   # four GPUs
    python3 scripts/train.py --data SOURCE --size 64 --out runs/try --smoke     # tiny widths, a few steps
    python3 scripts/export.py --run runs/mine --pack-dir models/mine

SOURCE is an image folder <class>/<image>, a zip of one, a folder with train/ and test/ (or train.zip and
test.zip), or CIFAR-10's cifar-10-python.tar.gz (pipeline/data). --size 32, 64 or 128 picks the recipe
(pipeline/config.py: widths, batches, stage budgets); any option overrides it.

Each stage has a wall-clock budget (--minutes-*) and an optional step cap (--steps-*); the learning-rate schedule of
the classifier follows the fraction of its budget that has elapsed, so a budget always ends with a finished schedule.
Outputs in --out: config.json (the pack configuration, class names, data report), vgg.npz, sp.npz (EMA generator),
lag.npz (float32 state dicts), train_log.jsonl, samples_sp.png, samples_lag.png, provenance.json; every file is
written whole or not at all. A resumable checkpoint goes to --ckpt-dir after every stage and every --ckpt-every
seconds. docs/training.md explains the training steps, the data-parallel runs and how to measure them.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline import data  # noqa: E402
from pipeline.config import named, with_classes  # noqa: E402
from pipeline.models.spectral_norm import SpectralNormGroup  # noqa: E402
from pipeline.models.vgg import folded_copy  # noqa: E402
from pipeline.train import classifier, lag, sp  # noqa: E402
from pipeline.train import distributed as D  # noqa: E402
from pipeline.train.common import Logger, TrainContext, amp_feature_net, atomic_write, save_npz  # noqa: E402
from pipeline.train.common import training_models  # noqa: E402
from pipeline.train.options import parse_args  # noqa: E402
from pipeline.train.samples import sample_grids  # noqa: E402
from pipeline.train.stages import StageRunner, StopRun  # noqa: E402

# Options that say where things go, not how the pack was trained: left out of the provenance's hyperparameters.
NOT_HYPERPARAMETERS = ("out", "ckpt_dir", "data", "data_cache", "resume", "git_commit", "stop_after", "rank_digests")


def write_json(path: Path, value: dict) -> None:
    atomic_write(path, lambda f: f.write((json.dumps(value, indent=2) + "\n").encode()))


def load_training_data(a, dist: D.Dist, log) -> data.Dataset:
    """The training split; with several ranks, rank 0 decodes (and caches) first, the others then read its cache."""
    source = a.data or os.environ.get("CIFAR10_DIR") or data.DEFAULT_ROOT
    cache = None if a.data_cache == "none" else a.data_cache
    kwargs = dict(
        cache_dir=cache,
        limit=a.train_limit,
        max_unpacked_bytes=int(a.max_unpacked_gb * 1024**3),
        workers=a.data_workers,
    )
    if dist.is_main:
        ds = data.load_dataset(source, "train", a.size, **kwargs)
    D.barrier(dist)
    if not dist.is_main:
        ds = data.load_dataset(source, "train", a.size, **kwargs)
    return ds


def main(argv=None) -> dict | None:
    a = parse_args(argv, __doc__)
    argv_used = sys.argv[1:] if argv is None else argv
    dist = D.init(a.device)
    try:
        return _train(a, argv_used, dist)
    finally:
        D.finish(dist)


def _train(a, argv_used, dist: D.Dist) -> dict | None:
    SpectralNormGroup.enabled = not a.sn_per_layer
    if a.threads:
        torch.set_num_threads(a.threads)
    t_start = time.time()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = Path(a.ckpt_dir or a.out) / "checkpoint.pt"
    ckpt_path.parent.mkdir(parents=True, exist_ok=True)

    # Device and precision: bf16 autocast, channels_last and TF32 on CUDA.
    dev = D.device_for(dist, a.device)
    amp = a.amp == "bf16" or (a.amp == "auto" and dev.type == "cuda")
    channels_last = a.channels_last == "on" or (a.channels_last == "auto" and dev.type == "cuda")
    if a.cuda_graph == "on" and dev.type != "cuda":
        raise SystemExit("--cuda-graph on needs a CUDA device")
    # Several ranks: eager steps, since the gradient all-reduce between backward and optimizer step sits inside
    # what a graph would capture.
    cuda_graph = dev.type == "cuda" and a.cuda_graph != "off" and not dist.active
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    device_name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or platform.machine()
    log = Logger(out / "train_log.jsonl") if dist.is_main else (lambda **record: None)
    log(event="start", device=str(dev), device_name=device_name, torch=torch.__version__, amp=amp, argv=argv_used)
    if dist.active:
        log(event="distributed", world_size=dist.world_size, backend=dist.backend, cuda_graph=cuda_graph)
    for name in ("batch_cls", "batch_sp", "batch_lag"):
        per_rank, rest = divmod(getattr(a, name), dist.world_size)
        if rest or per_rank < 2 or (name == "batch_sp" and per_rank % 2):
            raise SystemExit(
                f"--{name.replace('_', '-')} {getattr(a, name)} must split into {dist.world_size} "
                "equal per-rank batches of at least 2 (even for SP)"
            )

    # Data: the training images stay on the device as uint8.
    t0 = time.perf_counter()
    ds = load_training_data(a, dist, log)
    cfg = with_classes(named(a.config), len(ds.class_names))
    train_x = torch.from_numpy(ds.images).permute(0, 3, 1, 2).contiguous().to(dev)
    train_y = torch.from_numpy(ds.labels).to(dev)
    log(event="data", images=len(train_x), seconds=round(time.perf_counter() - t0, 1), report=ds.report)
    run_config = dict(
        configName=a.config,
        imageSize=a.size,
        smoke=a.smoke,
        classNames=ds.class_names,
        pack=dataclasses.asdict(cfg),
        data=ds.report,
    )
    if dist.is_main:
        write_json(out / "config.json", run_config)

    # The same initial weights on every rank (seed), then each rank's own data and noise stream (seed + rank).
    torch.manual_seed(a.seed)
    models = training_models(cfg, dev, channels_last)
    writer = dist.is_main
    runner = StageRunner(models, ckpt_path, log, a.stages.split(","), a.ckpt_every, writer, a.stop_after)
    if a.resume:
        runner.resume(dev)
    D.broadcast_state(dist, *models.values())
    steps_done = sum(s.get("steps", 0) for s in runner.state["stats"].values() if isinstance(s, dict))
    steps_done += sum(s.get("step", 0) for s in runner.state["stage_state"].values())
    # A resumed run continues the streams with new numbers instead of replaying the first part's.
    torch.manual_seed(a.seed + 1000 * dist.rank + 1_000_003 * steps_done)
    local_args = argparse.Namespace(**vars(a))  # each rank's shard of the global batches
    for name in ("batch_cls", "batch_sp", "batch_lag"):
        setattr(local_args, name, getattr(a, name) // dist.world_size)
    ctx = TrainContext(
        args=local_args,
        device=dev,
        train_x=train_x,
        train_y=train_y,
        amp=amp,
        channels_last=channels_last,
        log=log,
        maybe_checkpoint=runner.maybe_checkpoint,
        cuda_graph=cuda_graph,
        div_level_weight=torch.tensor(sp.DIVERSITY_LEVEL_WEIGHT, device=dev),
        grad_sync=D.GradientAverager(dist),
        agree=D.RankZeroDecision(dist, dev) if dist.active else None,
        buffer_sync=lambda *modules: D.average_buffers(dist, *modules),
        world_size=dist.world_size,
    )
    try:
        _stages(ctx, models, runner, out, writer)
    except StopRun as stop:
        log(event="stopped", at=str(stop), checkpoint=str(ckpt_path))
        return None
    if a.rank_digests:
        Path(a.rank_digests).mkdir(parents=True, exist_ok=True)
        write_json(Path(a.rank_digests) / f"rank{dist.rank}.json", D.state_digest(models))
    if not writer:
        return None

    provenance = dict(
        script="scripts/train.py",
        command="python3 scripts/train.py " + " ".join(argv_used),
        gitCommit=a.git_commit,
        config=a.config,
        imageSize=a.size,
        dataset=f"{ds.report['source']} ({ds.report['split']}: {ds.report['images']} images, "
        f"{ds.report['classes']} classes)",
        data=ds.report,
        device=(torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"CPU ({platform.machine()})")
        + (f" x {dist.world_size} ranks ({dist.backend})" if dist.active else "")
        + ("" if dev.type == "cuda" else f", {os.cpu_count()} cores"),
        worldSize=dist.world_size,
        torchVersion=torch.__version__,
        amp="bf16" if amp else "off",
        startedAt=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t_start)),
        stages=runner.state["stats"],
        minutes=round((time.time() - t_start) / 60, 2),
        hyperparameters={k: v for k, v in vars(a).items() if k not in NOT_HYPERPARAMETERS},
    )
    write_json(out / "provenance.json", provenance)
    log(event="done", minutes=provenance["minutes"])
    return provenance


def _stages(ctx: TrainContext, models, runner: StageRunner, out: Path, writer: bool) -> None:
    a = ctx.args
    # Stage 1: the classifier, whose frozen, BatchNorm-folded copy gives the SP stage its features.
    runner.run("cls", lambda st: classifier.train_classifier(ctx, models["vgg"], st))
    models["vgg"].eval()
    if writer:
        save_npz(out / "vgg.npz", models["vgg"])
    vgg_f = folded_copy(models["vgg"])

    # Stage 2: the Semantic Pyramid GAN; the exported generator is the EMA one, with standing statistics.
    def sp_stage(st: dict) -> dict:
        vgg_sp = amp_feature_net(vgg_f, ctx.amp)
        stats = sp.train_sp(ctx, models, vgg_sp, st)
        t = time.perf_counter()
        sp.standing_stats(ctx, models["sp_ema"], vgg_sp, a.standing_batches)
        stats["standingStatsSeconds"] = round(time.perf_counter() - t, 1)
        return stats

    runner.run("sp", sp_stage)
    models["sp_ema"].eval()
    if writer:
        save_npz(out / "sp.npz", models["sp_ema"])

    # Stage 3: LAG.
    runner.run("lag", lambda st: lag.train_lag(ctx, models, st))
    models["lag"].eval()
    if writer:
        save_npz(out / "lag.npz", models["lag"])
        sample_grids(ctx, models, vgg_f, out)


if __name__ == "__main__":
    main()
