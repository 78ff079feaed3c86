"""Exports trained models as a TF.js pack (docs/pack-format.md) and writes parity fixtures.

    # any run of scripts/train.py: configuration, class names and image size from RUN/config.json
    python3 scripts/export.py --run runs/mine --pack-dir models/mine --title "My photos (64 px)"
    # weights without a config.json (runs that predate it): name the configuration
    /usr/bin/python3 scripts/export.py --weights runs/gpu --config cifar10 --pack-dir models/cifar10 \
        --title "CIFAR-10 (32 px)" --fixtures tests/fixtures/cifar10
    # the tiny random pack the engine's parity tests use
    /usr/bin/python3 scripts/export.py --random-init --config tiny --pack-dir tests/fixtures/tiny \
        --fixtures tests/fixtures/tiny --title "tiny test pack"

The exporter folds BatchNorm (plain BN into convs, class-conditional BN into scale/shift tables), bakes spectral
norm, converts OIHW to HWIO and NCHW flattening to NHWC, quantizes (float16, or --quantize mixed: uint8 for most
weights) and shards at 4 MB.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline import export as E  # noqa: E402
from pipeline.config import CONFIGS  # noqa: E402
from pipeline.fixtures import write_fixtures  # noqa: E402
from pipeline.models import build_models  # noqa: E402


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default=None, choices=sorted(CONFIGS), help="with --weights or --random-init")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", type=Path, help="the --out folder of scripts/train.py (with its config.json)")
    src.add_argument("--weights", type=Path, help="folder with vgg.npz, sp.npz, lag.npz (and provenance.json)")
    src.add_argument("--random-init", action="store_true", help="random weights (test packs)")
    p.add_argument("--pack-dir", type=Path, required=True)
    p.add_argument("--id", default=None, help="pack id (default: the folder name)")
    p.add_argument("--title", default=None)
    p.add_argument("--preview", action="store_true", help="mark as a CPU-trained preview pack")
    p.add_argument("--fixtures", type=Path, default=None, help="also write parity fixtures here")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-index", action="store_true", help="do not update models/index.json")
    p.add_argument(
        "--quantize",
        choices=["float16", "mixed"],
        default="float16",
        help="mixed: uint8 (per-tensor affine) except the layers in KEEP_FLOAT16",
    )
    a = p.parse_args(argv)
    if a.run and a.config:
        p.error("--run takes the configuration from RUN/config.json: leave out --config")
    config, class_names = a.config or "cifar10", None
    if a.run:
        try:
            config, class_names = E.run_config(a.run)
        except FileNotFoundError as exc:
            p.error(str(exc))
        a.weights = a.run
    else:
        class_names = E.default_class_names(config)

    torch.manual_seed(a.seed)
    if a.random_init:
        models = build_models(config)
        E.randomize_for_tests(models, a.seed)
        provenance = dict(
            script="scripts/export.py",
            command="python3 scripts/export.py " + " ".join(argv or sys.argv[1:]),
            gitCommit=E.git_commit(),
            dataset="none (random weights for tests)",
            device="cpu",
            torchVersion=torch.__version__,
            stages={},
            minutes=0,
        )
    else:
        models = E.load_trained(config, a.weights)
        prov_path = a.weights / "provenance.json"
        provenance = json.loads(prov_path.read_text()) if prov_path.exists() else {}
        provenance["exportCommand"] = "python3 scripts/export.py " + " ".join(argv or sys.argv[1:])
        provenance["exportCommit"] = E.git_commit()
    pack_id = a.id or a.pack_dir.name
    weights = E.export_all(models)
    old_metrics = {}
    old_json = a.pack_dir / "pack.json"
    if old_json.exists():
        old = json.loads(old_json.read_text())
        old_metrics = old.get("metrics", {}) if old.get("digest") == E.pack_digest_of(weights, a.quantize) else {}
    provenance["quantization"] = a.quantize
    pack = E.write_pack(
        a.pack_dir,
        pack_id,
        a.title or pack_id,
        a.preview,
        models,
        weights,
        provenance,
        old_metrics,
        a.quantize,
        class_names,
    )
    if a.fixtures:
        _, rounded = E.read_pack(a.pack_dir)
        write_fixtures(a.fixtures, a.pack_dir, pack, rounded, a.seed)
    if not a.no_index and a.pack_dir.resolve().parent == (E.ROOT / "models").resolve():
        E.update_index(E.ROOT / "models")
    size = sum(s["bytes"] for s in pack["shards"].values())
    print(
        f"wrote {a.pack_dir}/pack.json: {len(pack['shards'])} shards, {size / 1e6:.2f} MB, digest {pack['digest'][:12]}"
    )
    return pack


if __name__ == "__main__":
    main()
