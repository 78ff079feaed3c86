"""Evaluates a pack on the CIFAR-10 test set, with the pack's own float16 weights (what the browser runs).

    /usr/bin/python3 scripts/evaluate.py --pack-dir models/cifar10 [--sources 1000] [--figures docs/figures]

Writes the metrics into pack.json (`metrics`), a table into README.md between the `metrics` markers, and the
figures (compare-levels grid for 8 test images, LAG candidates) when --figures is given.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Dict

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline import evaluate as V  # noqa: E402
from pipeline import export as E  # noqa: E402

ROOT = E.ROOT


def main(argv=None) -> Dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pack-dir", type=Path, required=True)
    p.add_argument("--sources", type=int, default=1000, help="test images used as sources (class-balanced)")
    p.add_argument("--samples", type=int, default=2, help="samples per source and level (>= 2 for diversity)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--figures", type=Path, default=None)
    p.add_argument("--data-root", default=None)
    p.add_argument("--readme", type=Path, default=ROOT / "README.md")
    a = p.parse_args(argv)
    metrics = V.evaluate(a.pack_dir, a.sources, max(2, a.samples), a.seed, a.figures, a.data_root)
    pack = json.loads((a.pack_dir / "pack.json").read_text())
    pack["metrics"] = metrics
    E.validate_pack_json(pack)
    (a.pack_dir / "pack.json").write_text(json.dumps(pack, indent=2) + "\n")
    if a.pack_dir.parent.resolve() == (ROOT / "models").resolve():
        index = E.update_index(a.pack_dir.parent)
        if index["default"] == pack["id"]:  # the README shows the default pack's figures
            V.write_readme_table(a.readme, pack)
    print(V.metrics_table(pack))
    return metrics


if __name__ == "__main__":
    main()
