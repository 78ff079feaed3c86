"""Exports trained models as a TF.js pack (docs/pack-format.md) and writes parity fixtures.

    # a trained pack (weights from scripts/train_pack.py --out DIR)
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
import hashlib
import json
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import models as M  # noqa: E402
import reference as R  # noqa: E402
from data import CLASS_NAMES  # noqa: E402

FORMAT = "pyramid-pack"
FORMAT_VERSION = 1
SHARD_BYTES = 4 * 1024 * 1024
ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "docs" / "pack.schema.json"
MODEL_KEYS = ("vgg", "sp", "lag")


# --------------------------------------------------------------------------------------------------------------
# PyTorch modules -> exported float32 arrays (TF layouts)
# --------------------------------------------------------------------------------------------------------------
def _hwio(weight: torch.Tensor) -> np.ndarray:
    return weight.detach().float().permute(2, 3, 1, 0).contiguous().numpy()


def _conv(out: Dict[str, np.ndarray], name: str, module: nn.Conv2d) -> None:
    weight = module.normalized_weight() if isinstance(module, M.SNConv2d) else module.weight
    out[f"{name}.kernel"] = _hwio(weight)
    if module.bias is not None:
        out[f"{name}.bias"] = module.bias.detach().float().numpy().copy()


def _dense(out: Dict[str, np.ndarray], name: str, module: nn.Linear) -> None:
    weight = module.normalized_weight() if isinstance(module, M.SNLinear) else module.weight
    out[f"{name}.kernel"] = weight.detach().float().t().contiguous().numpy()
    out[f"{name}.bias"] = module.bias.detach().float().numpy().copy()


def _ccbn(out: Dict[str, np.ndarray], name: str, module: M.CCBN) -> None:
    bn = module.bn
    inv_std = 1.0 / torch.sqrt(bn.running_var.float() + bn.eps)
    scale = module.gamma.weight.float() * inv_std[None, :]
    out[f"{name}.scale"] = scale.detach().numpy().copy()
    out[f"{name}.shift"] = (module.beta.weight.float() - bn.running_mean.float()[None, :] * scale).detach().numpy().copy()


@torch.no_grad()
def export_vgg(vgg: M.VGGPyramid) -> "OrderedDict[str, np.ndarray]":
    folded = M.folded_copy(vgg.cpu())
    out: "OrderedDict[str, np.ndarray]" = OrderedDict()
    for names in folded.conv_names:
        for name in names:
            _conv(out, f"vgg.{name}", getattr(folded, name).conv)
    # fc6 rows: PyTorch flattens pool5 as (C, H, W); the browser flattens NHWC as (H, W, C).
    c5 = folded.arch["widths"][-1]
    s5 = folded.arch["imageSize"] // 32
    w6 = folded.fc6.weight.detach().float()  # [F, C*H*W]
    w6 = w6.view(-1, c5, s5, s5).permute(2, 3, 1, 0).reshape(s5 * s5 * c5, -1)
    out["vgg.fc6.kernel"] = w6.contiguous().numpy()
    out["vgg.fc6.bias"] = folded.fc6.bias.detach().float().numpy().copy()
    _dense(out, "vgg.fc7", folded.fc7)
    _dense(out, "vgg.fc8", folded.fc8)
    return out


@torch.no_grad()
def export_sp(sp: M.SPGenerator) -> "OrderedDict[str, np.ndarray]":
    sp = sp.cpu().eval()
    out: "OrderedDict[str, np.ndarray]" = OrderedDict()
    for name in ("z_dense", "fc7_dense", "fc8_dense"):
        _dense(out, f"sp.{name}", getattr(sp, name))
    for inj in sp.injections:
        _conv(out, f"sp.inject_{inj['level']}", getattr(sp, f"inject_{inj['level']}"))
    for k in range(1, len(sp.channels)):
        block = getattr(sp, f"block{k}")
        _ccbn(out, f"sp.block{k}.bn1", block.bn1)
        _conv(out, f"sp.block{k}.conv1", block.conv1)
        _ccbn(out, f"sp.block{k}.bn2", block.bn2)
        _conv(out, f"sp.block{k}.conv2", block.conv2)
        _conv(out, f"sp.block{k}.skip", block.skip)
    _ccbn(out, "sp.out_bn", sp.out_bn)
    _conv(out, "sp.out_conv", sp.out_conv)
    return out


@torch.no_grad()
def export_lag(lag: M.LAGGenerator) -> "OrderedDict[str, np.ndarray]":
    lag = lag.cpu().eval()
    out: "OrderedDict[str, np.ndarray]" = OrderedDict()
    _conv(out, "lag.stem", lag.stem)
    for i in range(1, lag.res_blocks + 1):
        _conv(out, f"lag.res{i}.conv1", getattr(lag, f"res{i}").conv1)
        _conv(out, f"lag.res{i}.conv2", getattr(lag, f"res{i}").conv2)
    _conv(out, "lag.to_rgb0", lag.to_rgb0)
    for s in range(1, lag.num_stages + 1):
        stage = getattr(lag, f"stage{s}")
        for part in ("conv_a", "conv_b", "to_rgb"):
            _conv(out, f"lag.stage{s}.{part}", getattr(stage, part))
    return out


def export_all(models: Dict[str, nn.Module]) -> Dict[str, "OrderedDict[str, np.ndarray]"]:
    return dict(vgg=export_vgg(models["vgg"]), sp=export_sp(models["sp"]), lag=export_lag(models["lag"]))


def archs(models: Dict[str, nn.Module]) -> Dict[str, dict]:
    return {k: models[k].arch for k in MODEL_KEYS}


def round_to_float16(weights: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    return OrderedDict((k, v.astype(np.float16).astype(np.float32)) for k, v in weights.items())


# --------------------------------------------------------------------------------------------------------------
# Loading trained weights
# --------------------------------------------------------------------------------------------------------------
def load_trained(config: str, weights_dir: Path) -> Dict[str, nn.Module]:
    models = M.build_models(config)
    for key in MODEL_KEYS:
        with np.load(weights_dir / f"{key}.npz") as npz:
            state = {k: torch.from_numpy(npz[k]) for k in npz.files}
        missing, unexpected = models[key].load_state_dict(state, strict=False)
        missing = [m for m in missing if not m.endswith("num_batches_tracked")]
        if missing or unexpected:
            raise ValueError(f"{key}.npz does not match config {config}: missing {missing}, unexpected {unexpected}")
        models[key].eval()
    return models


@torch.no_grad()
def randomize_for_tests(models: Dict[str, nn.Module], seed: int) -> None:
    """Makes a random pack exercise every folding path: non-trivial BN statistics, CCBN gains, SN vectors."""
    g = torch.Generator().manual_seed(seed)
    for m in models.values():
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.copy_(torch.randn(mod.num_features, generator=g) * 0.1)
                mod.running_var.copy_(torch.rand(mod.num_features, generator=g) * 1.5 + 0.5)
                if mod.affine:
                    mod.weight.copy_(1 + 0.2 * torch.randn(mod.num_features, generator=g))
                    mod.bias.copy_(0.1 * torch.randn(mod.num_features, generator=g))
            if isinstance(mod, M.CCBN):
                mod.gamma.weight.copy_(1 + 0.2 * torch.randn(mod.gamma.weight.shape, generator=g))
                mod.beta.weight.copy_(0.1 * torch.randn(mod.beta.weight.shape, generator=g))
            if isinstance(mod, (nn.Conv2d, nn.Linear)) and mod.bias is not None:
                mod.bias.copy_(0.05 * torch.randn(mod.bias.shape, generator=g))
            if isinstance(mod, (nn.Conv2d, nn.Linear)) and getattr(mod, "out_channels", None) == 3:
                mod.weight.copy_(0.1 * torch.randn(mod.weight.shape, generator=g))  # LAG's to-RGB starts near zero
    for m in models.values():  # a few power iterations, as training would have done
        m.train()
        for mod in m.modules():
            if isinstance(mod, (M.SNConv2d, M.SNLinear)):
                for _ in range(3):
                    mod.normalized_weight()
        m.eval()


# --------------------------------------------------------------------------------------------------------------
# Writing and reading packs
# --------------------------------------------------------------------------------------------------------------
def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pack_digest(shards: Dict[str, dict]) -> str:
    return sha256_hex("".join(f"{name} {shards[name]['sha256']}\n" for name in sorted(shards)).encode())


# Weights that stay float16 under --quantize mixed: the layers that decide pixel-level fidelity (the first VGG block,
# whose pool1 features drive near-copies; the generator's last block and output; the small LAG generator).
KEEP_FLOAT16 = ("vgg.conv1_", "sp.block3.", "sp.out_", "lag.")


def quantization_for(name: str, value: np.ndarray, mode: str) -> dict:
    if mode == "float16" or name.startswith(KEEP_FLOAT16):
        return dict(dtype="float16")
    lo, hi = float(value.min()), float(value.max())
    return dict(dtype="uint8", min=lo, scale=(hi - lo) / 255 if hi > lo else 1.0)


def encode(value: np.ndarray, q: dict) -> bytes:
    if q["dtype"] == "float16":
        return value.astype("<f2").tobytes()
    return np.clip(np.round((value.astype(np.float64) - q["min"]) / q["scale"]), 0, 255).astype(np.uint8).tobytes()


def decode(data: bytes, offset: int, count: int, q: dict) -> Tuple[np.ndarray, int]:
    """As TF.js decodes a quantized weight: float16 -> float32; uint8 -> float32(min + scale * q)."""
    if q["dtype"] == "float16":
        return np.frombuffer(data, dtype="<f2", count=count, offset=offset).astype(np.float32), count * 2
    raw = np.frombuffer(data, dtype=np.uint8, count=count, offset=offset).astype(np.float64)
    return (q["min"] + q["scale"] * raw).astype(np.float32), count


def _shard_model(key: str, weights: Dict[str, np.ndarray], mode: str = "float16") -> Tuple[List[Tuple[str, bytes]], dict]:
    specs = [dict(name=k, shape=list(v.shape), dtype="float32", quantization=quantization_for(k, v, mode))
             for k, v in weights.items()]
    blob = b"".join(encode(v, s["quantization"]) for v, s in zip(weights.values(), specs))
    n = max(1, -(-len(blob) // SHARD_BYTES))
    files = [(f"{key}.shard{i + 1}of{n}.bin", blob[i * SHARD_BYTES:(i + 1) * SHARD_BYTES]) for i in range(n)]
    return files, dict(paths=[name for name, _ in files], weights=specs)


def git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def validate_pack_json(pack: dict) -> None:
    import jsonschema

    jsonschema.validate(pack, json.loads(SCHEMA_PATH.read_text()))


def write_pack(pack_dir: Path, pack_id: str, title: str, preview: bool, models: Dict[str, nn.Module],
               weights: Dict[str, Dict[str, np.ndarray]], provenance: dict, metrics: dict | None = None,
               quantize: str = "float16") -> dict:
    pack_dir.mkdir(parents=True, exist_ok=True)
    for old in pack_dir.glob("*.shard*.bin"):
        old.unlink()
    vgg_arch = models["vgg"].arch
    pack = OrderedDict(
        format=FORMAT, formatVersion=FORMAT_VERSION, id=pack_id, title=title, preview=preview,
        imageSize=vgg_arch["imageSize"], classNames=CLASS_NAMES[: vgg_arch["numClasses"]],
        levels=M.level_table(vgg_arch["imageSize"], vgg_arch["widths"], vgg_arch["fcWidth"], vgg_arch["numClasses"]),
        models=OrderedDict(), shards=OrderedDict(),
    )
    for key in MODEL_KEYS:
        files, group = _shard_model(key, weights[key], quantize)
        for name, data in files:
            (pack_dir / name).write_bytes(data)
            pack["shards"][name] = dict(bytes=len(data), sha256=sha256_hex(data))
        pack["models"][key] = dict(arch=archs(models)[key], weightsManifest=[group])
    pack["digest"] = pack_digest(pack["shards"])
    pack["provenance"] = provenance
    pack["metrics"] = metrics or {}
    validate_pack_json(pack)
    (pack_dir / "pack.json").write_text(json.dumps(pack, indent=2) + "\n")
    return pack


def read_pack(pack_dir: Path) -> Tuple[dict, Dict[str, Dict[str, np.ndarray]]]:
    """Reads a pack back as the browser does: checks checksums and decodes float16 to float32."""
    pack = json.loads((pack_dir / "pack.json").read_text())
    validate_pack_json(pack)
    if pack["digest"] != pack_digest(pack["shards"]):
        raise ValueError("pack digest does not match its shards")
    weights: Dict[str, Dict[str, np.ndarray]] = {}
    for key, model in pack["models"].items():
        weights[key] = OrderedDict()
        for group in model["weightsManifest"]:
            blob = b""
            for path in group["paths"]:
                data = (pack_dir / path).read_bytes()
                if sha256_hex(data) != pack["shards"][path]["sha256"]:
                    raise ValueError(f"checksum mismatch in {path}")
                blob += data
            offset = 0
            for spec in group["weights"]:
                count = int(np.prod(spec["shape"])) if spec["shape"] else 1
                arr, used = decode(blob, offset, count, spec.get("quantization", dict(dtype="float16")))
                weights[key][spec["name"]] = arr.reshape(spec["shape"])
                offset += used
            if offset != len(blob):
                raise ValueError(f"{key}: shards hold {len(blob)} bytes, manifest describes {offset}")
    return pack, weights


def update_index(models_root: Path, default: str | None = None) -> dict:
    """models/index.json: the packs the app can offer and the one it opens by default."""
    index_path = models_root / "index.json"
    old = json.loads(index_path.read_text()) if index_path.exists() else {}
    packs = []
    for pj in sorted(models_root.glob("*/pack.json")):
        p = json.loads(pj.read_text())
        packs.append(dict(id=p["id"], title=p["title"], preview=p["preview"], digest=p["digest"],
                          bytes=sum(s["bytes"] for s in p["shards"].values())))
    ids = [p["id"] for p in packs]
    chosen = default or old.get("default")
    if chosen not in ids:  # prefer a GPU-trained pack over a preview one
        full = [p["id"] for p in packs if not p["preview"]]
        chosen = (full or ids or [None])[0]
    index = dict(default=chosen, packs=packs)
    index_path.write_text(json.dumps(index, indent=2) + "\n")
    return index


# --------------------------------------------------------------------------------------------------------------
# Parity fixtures
# --------------------------------------------------------------------------------------------------------------
def synthetic_images(n: int, size: int, seed: int) -> np.ndarray:
    """Smooth deterministic test images (gradients, a disc, stripes) in [-1, 1], NHWC. No data set content."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / (size - 1)
    images = []
    for i in range(n):
        c = rng.uniform(-1, 1, size=(3, 3)).astype(np.float32)
        img = np.stack([c[k, 0] * xx + c[k, 1] * yy + c[k, 2] * (1 - xx) * yy for k in range(3)], -1)
        cy, cx, r = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.15, 0.3)
        disc = ((yy - cy) ** 2 + (xx - cx) ** 2) < r * r
        img[disc] = rng.uniform(-1, 1, size=3)
        img += 0.15 * np.sin(2 * np.pi * (i + 2) * xx)[..., None]
        images.append(np.clip(img, -1, 1))
    return np.stack(images).astype(np.float32)


class FixtureWriter:
    def __init__(self):
        self.tensors: "OrderedDict[str, dict]" = OrderedDict()
        self.chunks: List[np.ndarray] = []
        self.offset = 0

    def add(self, name: str, value) -> str:
        arr = np.ascontiguousarray(np.asarray(value, dtype=np.float32))
        self.tensors[name] = dict(shape=list(arr.shape), offset=self.offset, length=int(arr.size))
        self.chunks.append(arr.ravel())
        self.offset += arr.size
        return name


def write_fixtures(out_dir: Path, pack_dir: Path, pack: dict, weights: Dict[str, Dict[str, np.ndarray]],
                   seed: int = 0) -> dict:
    """Fixtures computed by reference.py from the float16-rounded weights as read back from the pack."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    fx = FixtureWriter()
    size, levels = pack["imageSize"], pack["levels"]
    arch_sp, arch_lag = pack["models"]["sp"]["arch"], pack["models"]["lag"]["arch"]
    k = arch_sp["numClasses"]

    images = synthetic_images(2, size, seed)
    fx.add("image", images)
    feats = R.vgg_pyramid(weights["vgg"], pack["models"]["vgg"]["arch"], torch.from_numpy(images))
    for lv, f in zip(levels, feats):
        fx.add(f"feature.{lv['name']}", f.numpy())

    def sp_case(name: str, rows: List[int], level_rows: List[int], mask: np.ndarray) -> dict:
        b = len(rows)
        z = rng.standard_normal((b, arch_sp["zDim"])).astype(np.float32)
        y = np.array([(3 * i + 1) % k for i in range(b)], dtype=np.float32)
        on = np.zeros((b, len(levels)), dtype=np.float32)
        on[np.arange(b), level_rows] = 1
        f = [t[rows] for t in feats]
        out = R.sp_generate(weights["sp"], arch_sp, levels, torch.from_numpy(z), torch.from_numpy(y), f,
                            torch.from_numpy(on), torch.from_numpy(mask))
        return dict(name=name, rows=list(rows), z=fx.add(f"sp.{name}.z", z), y=fx.add(f"sp.{name}.y", y),
                    on=fx.add(f"sp.{name}.on", on), mask=fx.add(f"sp.{name}.mask", mask),
                    out=fx.add(f"sp.{name}.out", out.numpy()))

    full = lambda b: np.ones((b, size, size, 1), dtype=np.float32)  # noqa: E731
    sp_cases = [sp_case(f"level{lv['index']}-{lv['name']}", [0, 1], [lv["index"]] * 2, full(2)) for lv in levels]
    yy, xx = np.mgrid[0:size, 0:size] / size
    blob = (((yy - 0.4) ** 2 + (xx - 0.6) ** 2) < 0.09).astype(np.float32)[None, :, :, None]
    soft = np.clip(xx * 1.5 - 0.2, 0, 1).astype(np.float32)[None, :, :, None]
    sp_cases.append(sp_case("mixed-levels-painted-mask", [0, 1, 0, 1], [0, 2, 3, 5],
                            np.concatenate([blob, blob, soft, soft]).astype(np.float32)))

    lr_size, scale = arch_lag["lrSize"], arch_lag["scale"]
    lr = torch.nn.functional.avg_pool2d(torch.from_numpy(images).permute(0, 3, 1, 2), scale).permute(0, 2, 3, 1)
    lag_cases = []
    for amp in (0.0, 0.5, 1.0):
        noise = rng.standard_normal((2, lr_size, lr_size, arch_lag["noiseChannels"])).astype(np.float32)
        out = R.lag_generate(weights["lag"], arch_lag, lr, torch.from_numpy(noise), amp)
        name = f"amplitude{amp}"
        lag_cases.append(dict(name=name, lr=fx.add(f"lag.{name}.lr", lr.numpy()),
                              noise=fx.add(f"lag.{name}.noise", noise), amplitude=amp,
                              out=fx.add(f"lag.{name}.out", out.numpy())))

    try:
        pack_rel = str(pack_dir.resolve().relative_to(ROOT))
    except ValueError:
        pack_rel = str(pack_dir)
    meta = dict(packId=pack["id"], packDir=pack_rel, digest=pack["digest"], tolerance=1e-4,
                note="computed by scripts/reference.py in float32 from the float16-rounded pack weights",
                tensors=fx.tensors, cases=dict(sp=sp_cases, lag=lag_cases))
    (out_dir / "fixtures.bin").write_bytes(np.concatenate(fx.chunks).astype("<f4").tobytes())
    (out_dir / "fixtures.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


# --------------------------------------------------------------------------------------------------------------
def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="cifar10", choices=sorted(M.CONFIGS))
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--weights", type=Path, help="folder with vgg.npz, sp.npz, lag.npz (and provenance.json)")
    src.add_argument("--random-init", action="store_true", help="random weights (test packs)")
    p.add_argument("--pack-dir", type=Path, required=True)
    p.add_argument("--id", default=None, help="pack id (default: the folder name)")
    p.add_argument("--title", default=None)
    p.add_argument("--preview", action="store_true", help="mark as a CPU-trained preview pack")
    p.add_argument("--fixtures", type=Path, default=None, help="also write parity fixtures here")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-index", action="store_true", help="do not update models/index.json")
    p.add_argument("--quantize", choices=["float16", "mixed"], default="float16",
                   help="mixed: uint8 (per-tensor affine) except the layers in KEEP_FLOAT16")
    a = p.parse_args(argv)

    torch.manual_seed(a.seed)
    if a.random_init:
        models = M.build_models(a.config)
        randomize_for_tests(models, a.seed)
        provenance = dict(script="scripts/export.py", command="python3 scripts/export.py " + " ".join(argv or sys.argv[1:]),
                          gitCommit=git_commit(), dataset="none (random weights for tests)", device="cpu",
                          torchVersion=torch.__version__, stages={}, minutes=0)
    else:
        models = load_trained(a.config, a.weights)
        prov_path = a.weights / "provenance.json"
        provenance = json.loads(prov_path.read_text()) if prov_path.exists() else {}
        provenance["exportCommand"] = "python3 scripts/export.py " + " ".join(argv or sys.argv[1:])
        provenance["exportCommit"] = git_commit()
    pack_id = a.id or a.pack_dir.name
    weights = export_all(models)
    old_metrics = {}
    old_json = a.pack_dir / "pack.json"
    if old_json.exists():
        old = json.loads(old_json.read_text())
        old_metrics = old.get("metrics", {}) if old.get("digest") == pack_digest_of(weights, a.quantize) else {}
    provenance["quantization"] = a.quantize
    pack = write_pack(a.pack_dir, pack_id, a.title or pack_id, a.preview, models, weights, provenance, old_metrics,
                      a.quantize)
    if a.fixtures:
        _, rounded = read_pack(a.pack_dir)
        write_fixtures(a.fixtures, a.pack_dir, pack, rounded, a.seed)
    if not a.no_index and a.pack_dir.resolve().parent == (ROOT / "models").resolve():
        update_index(ROOT / "models")
    size = sum(s["bytes"] for s in pack["shards"].values())
    print(f"wrote {a.pack_dir}/pack.json: {len(pack['shards'])} shards, {size / 1e6:.2f} MB, digest {pack['digest'][:12]}")
    return pack


def pack_digest_of(weights: Dict[str, Dict[str, np.ndarray]], quantize: str = "float16") -> str:
    shards = {}
    for key in MODEL_KEYS:
        files, _ = _shard_model(key, weights[key], quantize)
        for name, data in files:
            shards[name] = dict(sha256=sha256_hex(data))
    return pack_digest(shards)


if __name__ == "__main__":
    main()
