"""Packs (docs/pack-format.md): trained PyTorch modules to TF.js weight arrays, quantization, shards, pack.json,
and reading a pack back as the browser does.

The module walk folds BatchNorm (plain BN into convs, class-conditional BN into scale/shift tables), bakes spectral
norm, converts OIHW to HWIO and NCHW flattening to NHWC. Weights are quantized (float16, or "mixed": uint8 for most
weights) and sharded at 4 MB.
"""
from __future__ import annotations

import hashlib
import json
import re
import subprocess
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import numpy as np
import torch
import torch.nn as nn

from pipeline import levels
from pipeline.config import PackConfig, named, pack_config_from_dict
from pipeline.data import CLASS_NAMES
from pipeline.models import build_models
from pipeline.models.spectral_norm import SNConv2d, SNLinear
from pipeline.models.sp import CCBN
from pipeline.models.vgg import ConvBNReLU, FlattenedLinear, folded_copy

FORMAT = "pyramid-pack"
FORMAT_VERSION = 1
SHARD_BYTES = 4 * 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "docs" / "pack.schema.json"
MODEL_KEYS = ("vgg", "sp", "lag")

Weights = Dict[str, np.ndarray]  # name -> float32 array, in export order


# --------------------------------------------------------------------------------------------------------------
# PyTorch modules -> exported float32 arrays (TF layouts), one rule per module type
# --------------------------------------------------------------------------------------------------------------
def _hwio(weight: torch.Tensor) -> np.ndarray:
    return weight.detach().float().permute(2, 3, 1, 0).contiguous().numpy()


def _bias(module: nn.Module) -> np.ndarray:
    return module.bias.detach().float().numpy().copy()


def _conv(out: Dict[str, np.ndarray], name: str, module: nn.Conv2d) -> None:
    weight = module.normalized_weight() if isinstance(module, SNConv2d) else module.weight
    out[f"{name}.kernel"] = _hwio(weight)
    if module.bias is not None:
        out[f"{name}.bias"] = _bias(module)


def _folded_conv(out: Dict[str, np.ndarray], name: str, module: ConvBNReLU) -> None:
    assert isinstance(module.bn, nn.Identity), "export a folded_copy of the VGG"
    _conv(out, name, module.conv)


def _flattened_dense(out: Dict[str, np.ndarray], name: str, module: FlattenedLinear) -> None:
    """Input rows from PyTorch's (C, H, W) flattening to the browser's NHWC (H, W, C)."""
    c, h, w = module.input_chw
    weight = module.weight.detach().float()  # [F, C*H*W]
    out[f"{name}.kernel"] = weight.view(-1, c, h, w).permute(2, 3, 1, 0).reshape(h * w * c, -1).contiguous().numpy()
    out[f"{name}.bias"] = _bias(module)


def _dense(out: Dict[str, np.ndarray], name: str, module: nn.Linear) -> None:
    weight = module.normalized_weight() if isinstance(module, SNLinear) else module.weight
    out[f"{name}.kernel"] = weight.detach().float().t().contiguous().numpy()
    out[f"{name}.bias"] = _bias(module)


def _ccbn(out: Dict[str, np.ndarray], name: str, module: CCBN) -> None:
    bn = module.bn
    inv_std = 1.0 / torch.sqrt(bn.running_var.float() + bn.eps)
    scale = module.gamma.weight.float() * inv_std[None, :]
    out[f"{name}.scale"] = scale.detach().numpy().copy()
    out[f"{name}.shift"] = (
        (module.beta.weight.float() - bn.running_mean.float()[None, :] * scale).detach().numpy().copy()
    )


# First match wins: subclasses before their base classes. A matched module's children are not visited.
EXPORT_RULES: List[Tuple[type, Callable]] = [
    (ConvBNReLU, _folded_conv),
    (nn.Conv2d, _conv),
    (FlattenedLinear, _flattened_dense),
    (nn.Linear, _dense),
    (CCBN, _ccbn),
]


@torch.no_grad()
def export_module(prefix: str, model: nn.Module) -> Weights:
    """The exported arrays of an eval-mode model, named `prefix.<module path>.<kernel|bias|scale|shift>`, in the
    order of `named_modules()`. A module with weights of its own and no rule is an error, not a silent gap."""
    out: Weights = OrderedDict()
    done: List[str] = []
    for path, module in model.named_modules():
        if any(path.startswith(d + ".") for d in done):
            continue
        rule = next((fn for cls, fn in EXPORT_RULES if isinstance(module, cls)), None)
        if rule is not None:
            rule(out, f"{prefix}.{path}", module)
            done.append(path)
        elif any(True for _ in module.parameters(recurse=False)):
            raise TypeError(f"{prefix}.{path}: no export rule for {type(module).__name__}")
    return out


def export_all(models: Dict[str, nn.Module]) -> Dict[str, Weights]:
    """The exported arrays of the three browser models (the VGG with BatchNorm folded, the others in eval mode)."""
    return dict(
        vgg=export_module("vgg", folded_copy(models["vgg"].cpu())),
        sp=export_module("sp", models["sp"].cpu().eval()),
        lag=export_module("lag", models["lag"].cpu().eval()),
    )


def archs(models: Dict[str, nn.Module]) -> Dict[str, dict]:
    return {k: models[k].arch for k in MODEL_KEYS}


def round_to_float16(weights: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    return OrderedDict((k, v.astype(np.float16).astype(np.float32)) for k, v in weights.items())


# --------------------------------------------------------------------------------------------------------------
# Loading trained weights
# --------------------------------------------------------------------------------------------------------------
def run_config(run_dir: Path) -> Tuple[PackConfig, List[str]]:
    """(pack configuration, class names) of a run of scripts/train.py, from the config.json it writes."""
    path = Path(run_dir) / "config.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: not a run of scripts/train.py (use --weights with --config)")
    saved = json.loads(path.read_text())
    return pack_config_from_dict(saved["pack"]), list(saved["classNames"])


def default_class_names(config: str | PackConfig) -> List[str]:
    """CIFAR-10's names for a 10-class configuration without names of its own (runs that predate config.json)."""
    n = named(config).vgg.numClasses
    if n != len(CLASS_NAMES):
        raise ValueError(f"a {n}-class configuration needs its class names (export a run with --run)")
    return list(CLASS_NAMES)


def load_trained(config: str | PackConfig, weights_dir: Path) -> Dict[str, nn.Module]:
    models = build_models(config)
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
            if isinstance(mod, CCBN):
                mod.gamma.weight.copy_(1 + 0.2 * torch.randn(mod.gamma.weight.shape, generator=g))
                mod.beta.weight.copy_(0.1 * torch.randn(mod.beta.weight.shape, generator=g))
            if isinstance(mod, (nn.Conv2d, nn.Linear)) and mod.bias is not None:
                mod.bias.copy_(0.05 * torch.randn(mod.bias.shape, generator=g))
            if isinstance(mod, (nn.Conv2d, nn.Linear)) and getattr(mod, "out_channels", None) == 3:
                mod.weight.copy_(0.1 * torch.randn(mod.weight.shape, generator=g))  # LAG's to-RGB starts near zero
    for m in models.values():  # a few power iterations, as training would have done
        m.train()
        for mod in m.modules():
            if isinstance(mod, (SNConv2d, SNLinear)):
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
# whose pool1 features drive near-copies; the generator's last block, LAST_SP_BLOCK, and output; the small LAG
# generator).
KEEP_FLOAT16 = ("vgg.conv1_", "sp.out_", "lag.")
LAST_SP_BLOCK = "sp.block{}."


def last_sp_block(names) -> str:
    """The prefix of the SP generator's last block (block3 at 32 px, block4 at 64 px, block5 at 128 px)."""
    blocks = [int(m.group(1)) for m in (re.match(r"sp\.block(\d+)\.", n) for n in names) if m]
    return LAST_SP_BLOCK.format(max(blocks)) if blocks else LAST_SP_BLOCK.format(3)


def quantization_for(name: str, value: np.ndarray, mode: str, keep: Tuple[str, ...] = KEEP_FLOAT16) -> dict:
    if mode == "float16" or name.startswith(keep):
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


def _shard_model(
    key: str, weights: Dict[str, np.ndarray], mode: str = "float16"
) -> Tuple[List[Tuple[str, bytes]], dict]:
    keep = KEEP_FLOAT16 + (last_sp_block(weights),)
    specs = [
        dict(name=k, shape=list(v.shape), dtype="float32", quantization=quantization_for(k, v, mode, keep))
        for k, v in weights.items()
    ]
    blob = b"".join(encode(v, s["quantization"]) for v, s in zip(weights.values(), specs))
    n = max(1, -(-len(blob) // SHARD_BYTES))
    files = [(f"{key}.shard{i + 1}of{n}.bin", blob[i * SHARD_BYTES : (i + 1) * SHARD_BYTES]) for i in range(n)]
    return files, dict(paths=[name for name, _ in files], weights=specs)


def git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def validate_pack_json(pack: dict) -> None:
    import jsonschema

    # Validated as the JSON it becomes: the in-memory dict may hold tuples, which the schema's arrays would refuse.
    jsonschema.validate(json.loads(json.dumps(pack)), json.loads(SCHEMA_PATH.read_text()))


def write_pack(
    pack_dir: Path,
    pack_id: str,
    title: str,
    preview: bool,
    models: Dict[str, nn.Module],
    weights: Dict[str, Dict[str, np.ndarray]],
    provenance: dict,
    metrics: dict | None = None,
    quantize: str = "float16",
    class_names: List[str] | None = None,
) -> dict:
    """Writes pack.json and the shards; class_names default to CIFAR-10's for a 10-class pack."""
    pack_dir.mkdir(parents=True, exist_ok=True)
    for old in pack_dir.glob("*.shard*.bin"):
        old.unlink()
    vgg_arch = models["vgg"].arch
    pack = OrderedDict(
        format=FORMAT,
        formatVersion=FORMAT_VERSION,
        id=pack_id,
        title=title,
        preview=preview,
        imageSize=vgg_arch["imageSize"],
        classNames=list(class_names) if class_names is not None else CLASS_NAMES[: vgg_arch["numClasses"]],
        levels=levels.level_table(
            vgg_arch["imageSize"], vgg_arch["widths"], vgg_arch["fcWidth"], vgg_arch["numClasses"]
        ),
        models=OrderedDict(),
        shards=OrderedDict(),
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
    if len(pack["classNames"]) != vgg_arch["numClasses"]:
        raise ValueError(f"{len(pack['classNames'])} class names for {vgg_arch['numClasses']} classes")
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
        packs.append(
            dict(
                id=p["id"],
                title=p["title"],
                preview=p["preview"],
                digest=p["digest"],
                bytes=sum(s["bytes"] for s in p["shards"].values()),
            )
        )
    ids = [p["id"] for p in packs]
    chosen = default or old.get("default")
    if chosen not in ids:  # prefer a GPU-trained pack over a preview one
        full = [p["id"] for p in packs if not p["preview"]]
        chosen = (full or ids or [None])[0]
    index = dict(default=chosen, packs=packs)
    index_path.write_text(json.dumps(index, indent=2) + "\n")
    return index


def pack_digest_of(weights: Dict[str, Dict[str, np.ndarray]], quantize: str = "float16") -> str:
    shards = {}
    for key in MODEL_KEYS:
        files, _ = _shard_model(key, weights[key], quantize)
        for name, data in files:
            shards[name] = dict(sha256=sha256_hex(data))
    return pack_digest(shards)
