"""Trains a whole pack in one command: the VGG classifier, then the Semantic Pyramid generator, then LAG.

Each stage has a wall-clock budget (--minutes-*) and an optional step cap (--steps-*); the learning-rate schedule of
the classifier follows the fraction of its budget that has elapsed, so a budget always ends with a finished schedule.
Outputs in --out: vgg.npz, sp.npz (EMA generator), lag.npz (float32 state dicts, framework-neutral), train_log.jsonl,
samples_sp.png, samples_lag.png, provenance.json. A resumable checkpoint goes to --ckpt-dir after every stage and
every --ckpt-every seconds. docs/training.md explains the training steps and how to measure them.

    /usr/bin/python3 scripts/train.py --config tiny --out runs/smoke --steps-cls 20 --steps-sp 20 --steps-lag 20
"""
from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline import data  # noqa: E402
from pipeline.models.spectral_norm import SpectralNormGroup  # noqa: E402
from pipeline.models.vgg import folded_copy  # noqa: E402
from pipeline.train import classifier, lag, sp  # noqa: E402
from pipeline.train.common import Logger, TrainContext, amp_feature_net, save_npz, training_models  # noqa: E402
from pipeline.train.options import parse_args  # noqa: E402
from pipeline.train.samples import sample_grids  # noqa: E402
from pipeline.train.stages import StageRunner  # noqa: E402

# Options that say where things go, not how the pack was trained: left out of the provenance's hyperparameters.
NOT_HYPERPARAMETERS = ("out", "ckpt_dir", "data_root", "resume", "git_commit")


def main(argv=None) -> dict:
    a = parse_args(argv, __doc__)
    argv_used = sys.argv[1:] if argv is None else argv
    SpectralNormGroup.enabled = not a.sn_per_layer
    t_start = time.time()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = Path(a.ckpt_dir or a.out) / "checkpoint.pt"
    ckpt_path.parent.mkdir(parents=True, exist_ok=True)

    # Device and precision: bf16 autocast, channels_last and TF32 on CUDA.
    dev = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if a.device == "auto" else a.device)
    amp = a.amp == "bf16" or (a.amp == "auto" and dev.type == "cuda")
    channels_last = dev.type == "cuda"
    if a.cuda_graph == "on" and dev.type != "cuda":
        raise SystemExit("--cuda-graph on needs a CUDA device")
    cuda_graph = dev.type == "cuda" and a.cuda_graph != "off"
    torch.manual_seed(a.seed)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    device_name = torch.cuda.get_device_name(0) if dev.type == "cuda" else platform.processor() or platform.machine()
    log = Logger(out / "train_log.jsonl")
    log(event="start", device=str(dev), device_name=device_name, torch=torch.__version__, amp=amp, argv=argv_used)

    # Data: the training images stay on the device as uint8.
    t0 = time.perf_counter()
    train_x, train_y = data.load_split("train", a.data_root, limit=a.train_limit)
    train_x = torch.from_numpy(train_x).permute(0, 3, 1, 2).contiguous().to(dev)
    train_y = torch.from_numpy(train_y).to(dev)
    log(event="data", images=len(train_x), seconds=round(time.perf_counter() - t0, 1))

    models = training_models(a.config, dev, channels_last)
    runner = StageRunner(models, ckpt_path, log, a.stages.split(","), a.ckpt_every)
    if a.resume:
        runner.resume(dev)
    ctx = TrainContext(
        args=a,
        device=dev,
        train_x=train_x,
        train_y=train_y,
        amp=amp,
        channels_last=channels_last,
        log=log,
        maybe_checkpoint=runner.maybe_checkpoint,
        cuda_graph=cuda_graph,
        div_level_weight=torch.tensor(sp.DIVERSITY_LEVEL_WEIGHT, device=dev),
    )

    # Stage 1: the classifier, whose frozen, BatchNorm-folded copy gives the SP stage its features.
    runner.run("cls", lambda st: classifier.train_classifier(ctx, models["vgg"], st))
    models["vgg"].eval()
    save_npz(out / "vgg.npz", models["vgg"])
    vgg_f = folded_copy(models["vgg"])

    # Stage 2: the Semantic Pyramid GAN; the exported generator is the EMA one, with standing statistics.
    def sp_stage(st: dict) -> dict:
        vgg_sp = amp_feature_net(vgg_f, amp)
        stats = sp.train_sp(ctx, models, vgg_sp, st)
        t = time.perf_counter()
        sp.standing_stats(ctx, models["sp_ema"], vgg_sp, a.standing_batches)
        stats["standingStatsSeconds"] = round(time.perf_counter() - t, 1)
        return stats

    runner.run("sp", sp_stage)
    models["sp_ema"].eval()
    save_npz(out / "sp.npz", models["sp_ema"])

    # Stage 3: LAG.
    runner.run("lag", lambda st: lag.train_lag(ctx, models, st))
    models["lag"].eval()
    save_npz(out / "lag.npz", models["lag"])
    sample_grids(ctx, models, vgg_f, out)

    provenance = dict(
        script="scripts/train.py",
        command="python3 scripts/train.py " + " ".join(argv_used),
        gitCommit=a.git_commit,
        config=a.config,
        dataset="CIFAR-10 train (50,000 JPEGs, shared/datasets/cifar10/train.zip)"
        if a.train_limit is None
        else f"CIFAR-10 train subset of {len(train_x)}",
        device=torch.cuda.get_device_name(0)
        if dev.type == "cuda"
        else f"CPU ({platform.machine()}, {os.cpu_count()} cores)",
        torchVersion=torch.__version__,
        amp="bf16" if amp else "off",
        startedAt=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t_start)),
        stages=runner.state["stats"],
        minutes=round((time.time() - t_start) / 60, 2),
        hyperparameters={k: v for k, v in vars(a).items() if k not in NOT_HYPERPARAMETERS},
    )
    (out / "provenance.json").write_text(json.dumps(provenance, indent=2))
    log(event="done", minutes=provenance["minutes"])
    return provenance


if __name__ == "__main__":
    main()
