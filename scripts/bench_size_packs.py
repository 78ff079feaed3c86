"""Random-weight packs of the real pipeline configurations at 32, 64 and 128 px, and of the narrower ones proposed
for the browser (PROPOSALS), for the image-size experiment of `npm run bench` (scripts/node/bench/sizes.mjs):
timing needs the architecture, not trained weights.

    /usr/bin/python3 scripts/bench_size_packs.py --out bench/size-packs

Each pack is written by scripts/export.py --random-init into OUT/<config>/ (an ignored folder: weights are never
committed), and only when missing or when its archs differ from the configuration's current ones. Prints one JSON
object on stdout: {"<config>": {"config", "imageSize", "proposal", "packDir", "created"}}, by size, each size's default
configuration before its proposals; the exporter's own messages go to stderr.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import export as exporter  # noqa: E402
from pipeline.config import BY_SIZE, SIZES, named, size_of  # noqa: E402

# Configurations timed beside each size's default: narrower ones proposed for the browser's time budget, to be
# trained and judged before one replaces a default (pipeline/config.py).
PROPOSALS = ("px64lite",)


def wanted_archs(config: str) -> dict:
    """The vgg/sp/lag archs a pack of `config` carries (pipeline/config.py: the dataclass fields are the arch keys),
    as JSON values (tuples become lists)."""
    cfg = named(config)
    return json.loads(json.dumps({key: dataclasses.asdict(getattr(cfg, key)) for key in ("vgg", "sp", "lag")}))


def pack_is_current(pack_dir: Path, config: str) -> bool:
    path = pack_dir / "pack.json"
    if not path.exists():
        return False
    try:
        pack = json.loads(path.read_text())
        archs = {key: pack["models"][key]["arch"] for key in ("vgg", "sp", "lag")}
        shards_present = all((pack_dir / name).exists() for name in pack["shards"])
    except (ValueError, KeyError, TypeError):
        return False
    return shards_present and archs == wanted_archs(config)


def ensure_pack(out: Path, config: str) -> dict:
    pack_dir = out / config
    size = size_of(config)
    created = False
    if not pack_is_current(pack_dir, config):
        argv = ["--random-init", "--config", config, "--pack-dir", str(pack_dir), "--no-index"]
        argv += ["--title", f"{config} ({size} px), random weights for the bench"]
        with contextlib.redirect_stdout(sys.stderr):
            exporter.main(argv)
        created = True
        if not pack_is_current(pack_dir, config):
            raise RuntimeError(f"{pack_dir}: the exported archs differ from configuration {config}'s")
    return {
        "config": config,
        "imageSize": size,
        "proposal": config in PROPOSALS,
        "packDir": str(pack_dir),
        "created": created,
    }


def configs_for(sizes) -> list:
    """Each size's default configuration followed by the proposals at that size."""
    return [config for size in sizes for config in (BY_SIZE[(size, False)], *PROPOSALS) if size_of(config) == size]


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="folder of the packs (ignored by git)")
    p.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), choices=SIZES)
    a = p.parse_args(argv)
    result = {config: ensure_pack(a.out, config) for config in configs_for(a.sizes)}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
