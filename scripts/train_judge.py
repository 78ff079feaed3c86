#!/usr/bin/env python3
"""Trains an independent judge classifier (scripts/pipeline/models/judge.py) for grading generated images.

    python3 scripts/train_judge.py --data ../shared/datasets/cifar10 --size 32 --out models/judges/cifar10

--data is a folder holding train.zip and test.zip (or train/ and test/ folders), each of `<class>/<image>`. The judge
sees the train split only; the test split is used once at the end for the accuracy written into judge.json.
"""
from __future__ import annotations

import argparse
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pipeline.models.judge import save_judge  # noqa: E402
from pipeline.train.judge import JudgeConfig, build_judge, evaluate, read_image_folder, train_judge  # noqa: E402


def _split_path(data: Path, split: str) -> Path:
    for candidate in (data / f"{split}.zip", data / split):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{data}: neither {split}.zip nor {split}/ exists")


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, type=Path, help="folder with train.zip/test.zip (or train/, test/)")
    p.add_argument("--size", type=int, default=32, help="square image size the judge works at")
    p.add_argument("--out", required=True, type=Path, help="output folder for judge.npz + judge.json")
    p.add_argument("--epochs", type=float, default=JudgeConfig.epochs)
    p.add_argument("--seed", type=int, default=JudgeConfig.seed)
    p.add_argument("--batch-size", type=int, default=JudgeConfig.batch_size)
    p.add_argument("--lr", type=float, default=JudgeConfig.lr)
    p.add_argument("--widths", default="64,256,256", help="channels of the three residual stages")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--time-budget",
        type=float,
        default=None,
        help="seconds of training at most; the rate schedule then follows elapsed time as well as steps",
    )
    p.add_argument("--bf16", action="store_true", help="bf16 autocast (only faster on CPUs with AMX/AVX512-BF16)")
    p.add_argument("--channels-last", action="store_true", help="channels_last memory format (faster with AMX)")
    p.add_argument(
        "--limit-per-class", type=int, default=None, help="read only this many images per class (smoke runs)"
    )
    args = p.parse_args(argv)
    if args.size < 16:
        p.error("--size must be at least 16 (three 2x poolings after a 2x2 stem)")
    torch.set_num_threads(args.threads)
    config = JudgeConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        widths=tuple(int(w) for w in args.widths.split(",")),
        bf16=args.bf16,
        channels_last=args.channels_last,
        time_budget_s=args.time_budget,
    )

    t0 = time.time()
    train_x, train_y, classes = read_image_folder(_split_path(args.data, "train"), args.size, args.limit_per_class)
    test_x, test_y, test_classes = read_image_folder(_split_path(args.data, "test"), args.size, args.limit_per_class)
    if test_classes != classes:
        raise SystemExit(f"train classes {classes} differ from test classes {test_classes}")
    decode_s = time.time() - t0
    print(f"decoded {len(train_y)} train + {len(test_y)} test images in {decode_s:.0f}s", flush=True)

    net = build_judge(train_x, len(classes), config)
    t1 = time.time()
    losses = train_judge(net, train_x, train_y, config, log=lambda s: print(s, flush=True))
    train_s = time.time() - t1
    acc, acc_flip = evaluate(net, test_x, test_y, config)
    print(f"test accuracy {acc:.4f}, with flip TTA {acc_flip:.4f}; training {train_s:.0f}s", flush=True)

    meta = dict(
        class_names=classes,
        image_size=args.size,
        input_range=[-1.0, 1.0],
        test_accuracy=round(acc, 4),
        test_accuracy_flip_tta=round(acc_flip, 4),
        test_images=int(len(test_y)),
        train_images=int(len(train_y)),
        train_seconds=round(train_s, 1),
        decode_seconds=round(decode_s, 1),
        epochs=config.epochs,
        steps_done=len(losses),
        epochs_done=round(len(losses) * config.batch_size / len(train_y), 3),
        time_budget_s=config.time_budget_s,
        seed=config.seed,
        batch_size=config.batch_size,
        lr=config.lr,
        weight_decay=config.weight_decay,
        label_smoothing=config.label_smoothing,
        translate=config.translate,
        bf16=config.bf16,
        channels_last=config.channels_last,
        threads=args.threads,
        widths=list(config.widths),
        limit_per_class=args.limit_per_class,
        command=" ".join(shlex.quote(a) for a in ["python3", "scripts/train_judge.py", *(argv or sys.argv[1:])]),
        git_commit=_git_commit(),
        torch_version=torch.__version__,
        cpu=_cpu_name(),
        cpu_count=os.cpu_count(),
        weights_dtype="float16",
    )
    save_judge(args.out, net, meta)
    print(f"wrote {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
