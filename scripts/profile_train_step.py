"""Measures where a training step's time goes (classifier, SP and LAG stages), on random data: no data set needed.

    python3 scripts/profile_train_step.py --steps 40 [--json times.json]
    /usr/bin/python3 scripts/profile_train_step.py --count-ops [--device cpu] [--batch 8] [--json ops.json]

The first form prints ms/step of the classifier, SP and LAG steps of scripts/train.py, eager and captured as a CUDA
graph, each with the grouped and the per-layer spectral norm, then the top CUDA kernels of a profiled SP stage
(docs/training.md).

`--count-ops` counts the aten operators dispatched per training step of each stage (classifier, SP, LAG), split by
phase (data, D step, G step, EMA) and by part (forward, spectral norm, backward, optimizer, zero_grad). Every
dispatched operator is at least one host-side call, and every one that is not a view is at least one kernel launch
on a GPU, so the counts track the launch overhead that bounds the step; they do not depend on the batch size and
run on the CPU. The defaults mimic the CUDA run: bf16 autocast and channels_last.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline import profile as P  # noqa: E402
from pipeline.config import CONFIGS  # noqa: E402
from pipeline.models.spectral_norm import SpectralNormGroup  # noqa: E402
from pipeline.models.vgg import folded_copy  # noqa: E402
from pipeline.train.common import amp_feature_net  # noqa: E402
from pipeline.train.sp import train_sp  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--device", default=None, help="default: cuda, or cpu for --count-ops without a GPU")
    p.add_argument("--count-ops", action="store_true", help="count operator dispatches per step instead of timing")
    p.add_argument("--config", default="cifar10", choices=sorted(CONFIGS))
    p.add_argument("--batch", type=int, default=8, help="batch of --count-ops (the counts do not depend on it)")
    p.add_argument("--amp", choices=["bf16", "off"], default="bf16", help="autocast of --count-ops")
    p.add_argument("--no-channels-last", action="store_true")
    p.add_argument("--top", type=int, default=12, help="print the N most frequent operators per stage")
    p.add_argument("--json", default=None, help="also write the --count-ops result here")
    p.add_argument(
        "--sn-per-layer",
        action="store_true",
        help="--count-ops with the spectral norm layer by layer (the timing runs both)",
    )
    p.add_argument("--variants", default=None, help=f"timing: comma-separated subset of {list(P.VARIANTS)}")
    p.add_argument("--batch-time", type=int, default=128, help="batch of the timed steps (train.py's default)")
    a = p.parse_args()
    SpectralNormGroup.enabled = not a.sn_per_layer
    if a.count_ops:
        dev = torch.device(a.device or ("cuda" if torch.cuda.is_available() else "cpu"))
        result = P.count_ops(
            dev, a.config, a.batch, steps=min(a.steps, 3), amp=a.amp == "bf16", channels_last=not a.no_channels_last
        )
        print(
            f"torch {torch.__version__}, {dev}, config {a.config}, batch {a.batch}, amp {a.amp}, "
            f"channels_last {not a.no_channels_last}"
        )
        P.print_counts(result, a.top)
        if a.json:
            Path(a.json).write_text(json.dumps(dict(torch=torch.__version__, device=str(dev), **result), indent=1))
        return
    dev = torch.device(a.device or "cuda")
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    names = [v.strip() for v in a.variants.split(",")] if a.variants else list(P.VARIANTS)
    print(
        f"torch {torch.__version__}, {torch.cuda.get_device_name(0) if dev.type == 'cuda' else dev}, "
        f"config {a.config}, batch {a.batch_time}, {a.steps} steps after 10 of warm-up",
        flush=True,
    )
    times = P.time_variants(dev, a.steps, a.batch_time, names, a.config)
    if a.json:
        Path(a.json).write_text(
            json.dumps(
                dict(torch=torch.__version__, device=str(dev), batch=a.batch_time, steps=a.steps, variants=times),
                indent=1,
            )
        )
    if dev.type == "cuda":
        from torch.profiler import ProfilerActivity, profile

        models = P.fresh_models(dev)
        vgg_f = amp_feature_net(folded_copy(models["vgg"]), True)
        ctx = P.make_ctx(["--steps-sp", "10"], dev)
        train_sp(ctx, models, vgg_f, {})  # warm-up
        ctx = P.make_ctx(["--steps-sp", "5"], dev)
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            train_sp(ctx, models, vgg_f, {})
            torch.cuda.synchronize()
        print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=14, max_name_column_width=60))
        print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=8, max_name_column_width=60))


if __name__ == "__main__":
    main()
