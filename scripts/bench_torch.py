"""PyTorch-on-CPU timings of the computations `npm run bench` times in the browser, on the same weights.

The pack is read with pipeline/export.py's read_pack (checksums verified, quantized weights decoded to float32 as
the browser decodes them) and run through pipeline/reference.py, the reference forward passes over the exported
weights that the TypeScript engine implements op for op. Measures (names as in bench/results.json):

  extract      VGG pyramid of one image (batch 1), all 7 levels
  spGrid       Semantic Pyramid, one level (pool3) x 8 samples: one forward of batch 8
  compareGrid  Semantic Pyramid, 7 levels x 8 samples: one forward of batch 56
  lag          LAG: 4x average-pool of the image, then 8 candidates (one forward of batch 8)

The features are batch 1 and broadcast over the samples, as in the engine. Each measure runs once as warm-up, then
repeatedly until `--budget-s` is spent (at least --min-runs, at most --max-runs). Prints one JSON object.

Usage: /usr/bin/python3 scripts/bench_torch.py [--pack-dir models/cifar10] [--threads N ...] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline import export as E  # noqa: E402
from pipeline import reference as R  # noqa: E402
from pipeline.levels import LEVEL_NAMES  # noqa: E402

GRID_LEVEL = LEVEL_NAMES.index("pool3")  # the app's default level
SAMPLES = 8
LAG_CANDIDATES = 8


def source_image(size: int) -> torch.Tensor:
    """The bench page's synthetic source image (bench/bench.worker.ts), NHWC in [-1, 1]."""
    x = torch.arange(size, dtype=torch.float64)
    xx, yy = x.view(1, -1).expand(size, size), x.view(-1, 1).expand(size, size)
    r = xx * 255 / (size - 1)
    g = yy * 255 / (size - 1)
    b = torch.where(((xx + yy) % 8) < 4, 200.0, 60.0) + 20 * torch.sin(xx / 3)
    rgb = torch.stack([r, g, b], -1).round().clamp(0, 255)
    return (rgb / 127.5 - 1).float().unsqueeze(0)


def measures(pack: dict, weights: dict):
    size = pack["imageSize"]
    levels = pack["levels"]
    arch_vgg, arch_sp, arch_lag = (pack["models"][k]["arch"] for k in ("vgg", "sp", "lag"))
    image = source_image(size)
    feats = R.vgg_pyramid(weights["vgg"], arch_vgg, image)

    def sp(level_rows):
        n = len(level_rows) * SAMPLES
        on = F.one_hot(torch.tensor([lv for lv in level_rows for _ in range(SAMPLES)]), len(levels)).float()
        return R.sp_generate(
            weights["sp"],
            arch_sp,
            levels,
            torch.randn(n, arch_sp["zDim"]),
            torch.zeros(n, dtype=torch.long),
            feats,
            on,
            torch.ones(1, size, size, 1),
        )

    def lag():
        lr = F.avg_pool2d(image.permute(0, 3, 1, 2), arch_lag["scale"]).permute(0, 2, 3, 1)
        noise = torch.randn(LAG_CANDIDATES, arch_lag["lrSize"], arch_lag["lrSize"], arch_lag["noiseChannels"])
        return R.lag_generate(weights["lag"], arch_lag, lr.expand(LAG_CANDIDATES, -1, -1, -1), noise, 0.5)

    return {
        "spGrid": lambda: sp([GRID_LEVEL]),
        "compareGrid": lambda: sp(list(range(len(levels)))),
        "lag": lag,
        "extract": lambda: R.vgg_pyramid(weights["vgg"], arch_vgg, image),
    }


def time_measure(fn, budget_s: float, min_runs: int, max_runs: int) -> dict:
    t0 = time.perf_counter()
    fn()
    warmup_ms = (time.perf_counter() - t0) * 1000
    runs = []
    start = time.perf_counter()
    while len(runs) < max_runs and (len(runs) < min_runs or time.perf_counter() - start < budget_s):
        t0 = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t0) * 1000)
    return dict(
        median=statistics.median(runs),
        min=min(runs),
        max=max(runs),
        runs=len(runs),
        warmupMs=warmup_ms,
        all=[round(r, 3) for r in runs],
    )


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pack-dir", type=Path, default=Path("models/cifar10"))
    parser.add_argument(
        "--threads",
        type=int,
        nargs="*",
        default=None,
        help="torch thread counts to time (default: torch's default, then 1)",
    )
    parser.add_argument("--budget-s", type=float, default=3.0, help="time budget per measure and thread count")
    parser.add_argument("--min-runs", type=int, default=5)
    parser.add_argument("--max-runs", type=int, default=200)
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    args = parser.parse_args(argv)

    default_threads = torch.get_num_threads()
    thread_counts = args.threads or sorted({default_threads, 1}, reverse=True)
    t0 = time.perf_counter()
    pack, weights = E.read_pack(args.pack_dir)
    load_ms = (time.perf_counter() - t0) * 1000
    torch.manual_seed(0)
    fns = measures(pack, weights)
    by_threads = {}
    with torch.no_grad():
        for n in thread_counts:
            torch.set_num_threads(n)
            by_threads[str(n)] = {
                name: time_measure(fn, args.budget_s, args.min_runs, args.max_runs) for name, fn in fns.items()
            }
    torch.set_num_threads(default_threads)
    result = dict(
        torchVersion=torch.__version__,
        python=platform.python_version(),
        defaultThreads=default_threads,
        mkldnn=torch.backends.mkldnn.is_available(),
        packDir=str(args.pack_dir),
        packDigest=pack["digest"],
        readPackMs=load_ms,
        threads=by_threads,
        measures=by_threads[str(default_threads)]
        if str(default_threads) in by_threads
        else by_threads[str(thread_counts[0])],
        measuresThreads=default_threads if str(default_threads) in by_threads else thread_counts[0],
    )
    text = json.dumps(result, indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    print(text)
    return result


if __name__ == "__main__":
    main()
