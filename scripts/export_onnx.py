"""Exports a pack's Semantic Pyramid generator as ONNX (opset 17), for the onnxruntime-web peer of `npm run bench`.

    /usr/bin/python3 scripts/export_onnx.py --pack-dir models/cifar10 --out-dir bench/tmp/onnx

Writes sp_reference.onnx (pipeline/reference.py's graph), sp_engine.onnx (the graph src/engine runs: sub-pixel
phase convs with their padding in the Conv nodes, the skip's 1x1 conv before the upsampling) and onnx.json (pack
digest, inputs, file sizes); pipeline/onnx_export.py says what the graphs take and return. The weights are the
pack's, decoded to float32 as the browser decodes them. Prints onnx.json.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline import export as E  # noqa: E402
from pipeline import onnx_export  # noqa: E402


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pack-dir", type=Path, default=Path("models/cifar10"))
    p.add_argument("--out-dir", type=Path, default=Path("bench/tmp/onnx"))
    args = p.parse_args(argv)
    if not (args.pack_dir / "pack.json").is_file():
        p.error(f"{args.pack_dir} has no pack.json")
    pack, weights = E.read_pack(args.pack_dir)
    manifest = onnx_export.export(pack, weights, args.out_dir)
    print(json.dumps(manifest, indent=2))
    return manifest


if __name__ == "__main__":
    main()
