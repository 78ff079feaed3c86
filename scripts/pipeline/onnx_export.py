"""ONNX graphs of the Semantic Pyramid generator over a pack's weights, for the browser peer of `npm run bench`.

Two graphs of the same function, both opset 17 and traced by torch.onnx from plain-int shape arithmetic:

  reference  pipeline/reference.py's sp_generate as it stands: conv3x3(up(x, 2)), conv1x1(up(h, 2)).
  engine     what src/engine/sp.ts and ops.ts run: each conv3x3(up(x, 2)) as four 2x2 sub-pixel phase convs on the
             low-resolution x (padding folded into each Conv node's own asymmetric pads, no Pad nodes) interleaved
             into the 2x image; the skip's 1x1 conv before the upsampling (on 4x fewer pixels).

The VGG feature pass is not part of either graph: the app extracts an image's features once and every grid reuses
them, so the compare grid the bench times is the generator alone. Inputs (NHWC, as the engine holds them):

  z [B, zDim] float32, classes [B] int64, on [B, 7] float32 (level gates), mask [1, S, S, 1] float32,
  pool1..pool5 [1, s, s, C] and fc7, fc8 [1, C] (one image's features, broadcast over the batch).

Output: image [B, S, S, 3] in [-1, 1]. B is dynamic: the bench runs the batches the engine runs.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from pipeline import reference as R
from pipeline.levels import FC7, FC8, LEVEL_NAMES

OPSET = 17
INPUT_NAMES = ["z", "classes", "on", "mask", *LEVEL_NAMES]
OUTPUT_NAME = "image"

# Sub-pixel phases, as src/engine/ops.ts: phase 0 sees rows (i-1, i) through taps (w0, w1 + w2), phase 1 sees rows
# (i, i+1) through (w0 + w1, w2); the same along columns.
PHASE_TAP_GROUPS = (((0,), (1, 2)), ((0, 1), (2,)))
PHASES = ((0, 0), (0, 1), (1, 0), (1, 1))


def phase_kernels(kernel_hwio: torch.Tensor) -> Dict[tuple, torch.Tensor]:
    """The four [2, 2, in, out] phase kernels of a 3x3 HWIO kernel, summed in the engine's order (rows, then
    columns of the row sums), so the float32 round-off is the engine's."""

    def sum_taps(t: torch.Tensor, taps, axis: int) -> torch.Tensor:
        parts = [t.narrow(axis, i, 1) for i in taps]
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        return total

    out = {}
    for a, b in PHASES:
        rows = torch.cat([sum_taps(kernel_hwio, taps, 0) for taps in PHASE_TAP_GROUPS[a]], 0)
        out[(a, b)] = torch.cat([sum_taps(rows, taps, 1) for taps in PHASE_TAP_GROUPS[b]], 1)
    return out


class _PaddedConv(torch.autograd.Function):
    """Conv2d with asymmetric zero padding (top, left, bottom, right): F.pad + conv2d in PyTorch, one ONNX Conv node
    carrying the pads (the engine's phase convs pass the same padding to TF.js's conv, which has no Pad either)."""

    @staticmethod
    def forward(ctx, x, weight, bias, top: int, left: int, bottom: int, right: int):  # noqa: D102
        return F.conv2d(F.pad(x, (left, right, top, bottom)), weight, bias)

    @staticmethod
    def symbolic(g, x, weight, bias, top, left, bottom, right):  # noqa: D102
        return g.op(
            "Conv",
            x,
            weight,
            bias,
            kernel_shape_i=[2, 2],
            pads_i=[top, left, bottom, right],
            strides_i=[1, 1],
            dilations_i=[1, 1],
        )


def _const(value: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))


class EngineSpGraph(nn.Module):
    """The SP generator as the TS engine computes it (src/engine/sp.ts), NCHW inside, NHWC at the boundary."""

    def __init__(self, weights: Dict[str, np.ndarray], arch: dict, levels: List[dict]):
        super().__init__()
        self.w, self.arch, self.levels = weights, arch, levels
        self.s0, self.channels = arch["baseSize"], list(arch["channels"])
        self.image_size = self.s0 * 2 ** (len(self.channels) - 1)
        # Phase kernels as OIHW tensors, derived once like the engine's derivedWeights.ts.
        self.phases: Dict[str, Dict[tuple, torch.Tensor]] = {}
        for k in range(1, len(self.channels)):
            layer = f"sp.block{k}.conv1"
            derived = phase_kernels(_const(weights[f"{layer}.kernel"]))
            self.phases[layer] = {ab: kern.permute(3, 2, 0, 1).contiguous() for ab, kern in derived.items()}

    def conv(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return R.conv(x, self.w, name)

    def upsample_conv(self, x: torch.Tensor, stage: int) -> torch.Tensor:
        """conv3x3(up(x, 2)) of block `stage` as four 2x2 convs on x, interleaved: phase (a, b) lands on pixels
        (2i+a, 2j+b). The reshapes take sizes from the arch (plain ints), so only the batch is left dynamic."""
        layer = f"sp.block{stage}.conv1"
        bias = _const(self.w[f"{layer}.bias"])
        out = {(a, b): _PaddedConv.apply(x, self.phases[layer][(a, b)], bias, 1 - a, 1 - b, a, b) for a, b in PHASES}
        c, size = self.channels[stage], self.s0 * 2 ** (stage - 1)

        def row(a: int) -> torch.Tensor:
            return torch.stack([out[(a, 0)], out[(a, 1)]], 4).reshape(-1, c, size, 2 * size)

        return torch.stack([row(0), row(1)], 3).reshape(-1, c, 2 * size, 2 * size)

    def level_mask(self, index: int, on: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        gate = on[:, index : index + 1]
        size = self.levels[index]["size"]
        if size is None:
            return gate
        pooled = mask if size == self.image_size else F.avg_pool2d(mask, self.image_size // size)
        return gate.view(-1, 1, 1, 1) * pooled

    def forward(self, z, classes, on, mask_nhwc, *feats):
        w, s0, c0 = self.w, self.s0, self.channels[0]
        mask = mask_nhwc.permute(0, 3, 1, 2)
        flat = R.dense(z, w, "sp.z_dense")
        flat = flat + self.level_mask(FC7, on, mask) * R.dense(feats[FC7], w, "sp.fc7_dense")
        flat = flat + self.level_mask(FC8, on, mask) * R.dense(feats[FC8], w, "sp.fc8_dense")
        h = flat.view(-1, s0, s0, c0).permute(0, 3, 1, 2)
        for stage in range(len(self.channels)):
            if stage > 0:
                p = f"sp.block{stage}"
                t = self.upsample_conv(F.relu(R.ccbn(h, classes, w, f"{p}.bn1")), stage)
                t = self.conv(F.relu(R.ccbn(t, classes, w, f"{p}.bn2")), f"{p}.conv2")
                h = t + R.up(self.conv(h, f"{p}.skip"), 2)
            for inj in self.arch["injections"]:
                if inj["stage"] != stage:
                    continue
                i = LEVEL_NAMES.index(inj["level"])
                projected = self.conv(feats[i].permute(0, 3, 1, 2), f"sp.inject_{inj['level']}")
                gated = self.level_mask(i, on, mask) * projected
                h = h + R.up(gated, s0 * 2**stage // self.levels[i]["size"])
        out = torch.tanh(self.conv(F.relu(R.ccbn(h, classes, w, "sp.out_bn")), "sp.out_conv"))
        return out.permute(0, 2, 3, 1)


class ReferenceSpGraph(nn.Module):
    """pipeline/reference.py's sp_generate with the graph's input order."""

    def __init__(self, weights: Dict[str, np.ndarray], arch: dict, levels: List[dict]):
        super().__init__()
        self.w, self.arch, self.levels = weights, arch, levels

    def forward(self, z, classes, on, mask_nhwc, *feats):
        return R.sp_generate(self.w, self.arch, self.levels, z, classes, list(feats), on, mask_nhwc)


def example_inputs(pack: dict, batch: int, seed: int = 0) -> tuple:
    """Inputs in the graphs' order: random z and features, class indices, one level on per row, an all-ones mask."""
    g = torch.Generator().manual_seed(seed)
    levels, arch, size = pack["levels"], pack["models"]["sp"]["arch"], pack["imageSize"]
    feats = [
        torch.randn(1, lv["size"], lv["size"], lv["channels"], generator=g)
        if lv["size"] is not None
        else torch.randn(1, lv["channels"], generator=g)
        for lv in levels
    ]
    on = F.one_hot(torch.arange(batch) % len(levels), len(levels)).float()
    classes = torch.arange(batch, dtype=torch.long) % arch["numClasses"]
    return (torch.randn(batch, arch["zDim"], generator=g), classes, on, torch.ones(1, size, size, 1), *feats)


def graphs(pack: dict, weights: Dict[str, Dict[str, np.ndarray]]) -> Dict[str, nn.Module]:
    arch, levels = pack["models"]["sp"]["arch"], pack["levels"]
    return {
        "reference": ReferenceSpGraph(weights["sp"], arch, levels).eval(),
        "engine": EngineSpGraph(weights["sp"], arch, levels).eval(),
    }


def export(pack: dict, weights: Dict[str, Dict[str, np.ndarray]], out_dir: Path) -> dict:
    """Writes sp_reference.onnx, sp_engine.onnx and onnx.json (what they are, for the bench page) into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    args = example_inputs(pack, batch=2)
    dynamic = {"z": {0: "batch"}, "classes": {0: "batch"}, "on": {0: "batch"}, OUTPUT_NAME: {0: "batch"}}
    files = {}
    for name, module in graphs(pack, weights).items():
        path = out_dir / f"sp_{name}.onnx"
        with torch.no_grad():
            torch.onnx.export(
                module,
                args,
                str(path),
                opset_version=OPSET,
                input_names=INPUT_NAMES,
                output_names=[OUTPUT_NAME],
                dynamic_axes=dynamic,
                do_constant_folding=True,
            )
        files[name] = {"file": path.name, "bytes": path.stat().st_size}
    manifest = {
        "packId": pack["id"],
        "packDigest": pack["digest"],
        "opset": OPSET,
        "torch": torch.__version__,
        "inputs": INPUT_NAMES,
        "output": OUTPUT_NAME,
        "graphs": files,
    }
    (out_dir / "onnx.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _varint(data: bytes, pos: int) -> tuple:
    value, shift = 0, 0
    while True:
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(data: bytes):
    """(field number, wire type, value) of one protobuf message; length-delimited values as bytes."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


def op_counts(path: Path) -> Dict[str, int]:
    """Node count per op type of an ONNX file's main graph (ModelProto.graph = 7, GraphProto.node = 1,
    NodeProto.op_type = 4), read with a minimal protobuf walker since the onnx package is not installed."""
    counts: Dict[str, int] = {}
    for number, _, graph in _fields(Path(path).read_bytes()):
        if number != 7:
            continue
        for field, _, node in _fields(graph):
            if field != 1:
                continue
            op = next(v.decode() for f, _, v in _fields(node) if f == 4)
            counts[op] = counts.get(op, 0) + 1
    return counts
