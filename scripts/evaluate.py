"""Evaluates a pack with its own decoded weights (what the browser runs), graded by an independent judge network,
over several evaluation seeds (mean and std of every figure, beside the same measure on real test images).

    /usr/bin/python3 scripts/evaluate.py --pack-dir models/cifar10 --data ../shared/datasets/cifar10 \\
        --judge models/judges/cifar10 --seeds 0 1 2 [--sources 500 --samples 2] [--figures docs/figures]

Writes the metrics into pack.json (`metrics`; the pack's weights and digest are untouched), the table into the
README between the metrics markers (--readme; only for the default pack of models/), and the figures when
--figures is given. Prints the table.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Dict

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline import evaluate as V  # noqa: E402
from pipeline import evaluate_report as VR  # noqa: E402
from pipeline import export as E  # noqa: E402
from pipeline.data import load_dataset  # noqa: E402
from pipeline.evaluate_setup import prepare  # noqa: E402
from pipeline.models.judge import load_judge  # noqa: E402

ROOT = E.ROOT


def main(argv=None) -> Dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pack-dir", type=Path, required=True)
    p.add_argument(
        "--data", required=True, help="the data source (pipeline.data.load_dataset), e.g. ../shared/datasets/cifar10"
    )
    p.add_argument("--split", default="test")
    p.add_argument("--judge", type=Path, required=True, help="a judge folder (judge.json + judge.npz)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="evaluation seeds (3 or more)")
    p.add_argument("--sources", type=int, default=500, help="fixed test images used as sources (class-balanced)")
    p.add_argument("--samples", type=int, default=2, help="samples per source and level (>= 2 for diversity)")
    p.add_argument("--lag-candidates", type=int, default=4)
    p.add_argument("--limit", type=int, default=None, help="use a class-balanced subset of the split")
    p.add_argument("--cache-dir", type=Path, default=None)
    p.add_argument("--figures", type=Path, default=None)
    p.add_argument("--readme", type=Path, default=ROOT / "README.md")
    a = p.parse_args(argv)
    if len(a.seeds) < 3:
        print(f"warning: {len(a.seeds)} seed(s): the std needs 3 or more to mean anything", file=sys.stderr)
    pack = json.loads((a.pack_dir / "pack.json").read_text())
    judge = load_judge(a.judge)
    dataset = load_dataset(a.data, a.split, pack["imageSize"], cache_dir=a.cache_dir, limit=a.limit)
    setup = prepare(a.pack_dir, judge, dataset, a.sources)
    metrics = V.evaluate(setup, a.seeds, a.samples, a.lag_candidates, judge_dir=a.judge)
    pack = json.loads((a.pack_dir / "pack.json").read_text())
    pack["metrics"] = metrics
    E.validate_pack_json(pack)
    (a.pack_dir / "pack.json").write_text(json.dumps(pack, indent=2) + "\n")
    if a.figures:
        for path in VR.save_figures(setup, a.figures, a.seeds[0]):
            print(f"wrote {path}")
    if a.pack_dir.parent.resolve() == (ROOT / "models").resolve():
        index = E.update_index(a.pack_dir.parent)
        if index["default"] == pack["id"] and VR.write_readme_table(a.readme, pack):
            print(f"rewrote the metrics block of {a.readme}")
    print(VR.metrics_table(pack))
    return metrics


if __name__ == "__main__":
    main()
