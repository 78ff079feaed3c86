"""The ONNX export of the SP generator (scripts/export_onnx.py, pipeline/onnx_export.py) on the tiny pack: the
engine's graph (sub-pixel phases, skip before the upsampling) computes the reference's function, and both files are
written with the ops each graph should have."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import export_onnx  # noqa: E402
from pipeline import export as E  # noqa: E402
from pipeline import onnx_export  # noqa: E402
from pipeline import reference as R  # noqa: E402

TINY = ROOT / "tests" / "fixtures" / "tiny"


def test_engine_graph_matches_reference_on_the_tiny_pack():
    pack, weights = E.read_pack(TINY)
    graphs = onnx_export.graphs(pack, weights)
    z, classes, on, _, *feats = onnx_export.example_inputs(pack, batch=21, seed=3)
    # A painted mask (not all ones) so the average-pooled level masks differ per level.
    size = pack["imageSize"]
    mask = torch.rand(1, size, size, 1, generator=torch.Generator().manual_seed(4))
    on[::5] = 1.0  # some rows with every level on
    with torch.no_grad():
        reference = R.sp_generate(
            weights["sp"], pack["models"]["sp"]["arch"], pack["levels"], z, classes, feats, on, mask
        )
        wrapped = graphs["reference"](z, classes, on, mask, *feats)
        engine = graphs["engine"](z, classes, on, mask, *feats)
    assert engine.shape == (21, size, size, 3)
    assert torch.equal(wrapped, reference)
    assert (engine - reference).abs().max().item() < 1e-4
    assert reference.std().item() > 1e-2  # a real image, not a constant both graphs agree on


def test_phase_kernels_sum_the_taps_each_phase_sees():
    kernel = torch.arange(9 * 2 * 3, dtype=torch.float32).reshape(3, 3, 2, 3)
    phases = onnx_export.phase_kernels(kernel)
    assert torch.equal(phases[(0, 0)][0, 0], kernel[0, 0])
    assert torch.equal(phases[(1, 1)][1, 1], kernel[2, 2])
    assert torch.equal(phases[(0, 1)][1, 0], kernel[1, 0] + kernel[1, 1] + kernel[2, 0] + kernel[2, 1])
    for kern in phases.values():
        assert kern.shape == (2, 2, 2, 3)
        assert torch.equal(kern.sum((0, 1)), kernel.sum((0, 1)))


def test_export_writes_both_graphs_with_their_ops(tmp_path):
    manifest = export_onnx.main(["--pack-dir", str(TINY), "--out-dir", str(tmp_path)])
    pack, weights = E.read_pack(TINY)
    assert json.loads((tmp_path / "onnx.json").read_text()) == manifest
    assert manifest["packDigest"] == pack["digest"] and manifest["opset"] == 17
    sp_bytes = 4 * sum(int(np.prod(v.shape)) for v in weights["sp"].values())
    arch = pack["models"]["sp"]["arch"]
    blocks, injections = len(arch["channels"]) - 1, len(arch["injections"])
    ops = {}
    for name in ("reference", "engine"):
        path = tmp_path / manifest["graphs"][name]["file"]
        assert path.stat().st_size == manifest["graphs"][name]["bytes"]
        assert path.stat().st_size > sp_bytes // 2  # the weights are in the file (3x3 kernels give way to phases)
        ops[name] = onnx_export.op_counts(path)
    # reference: conv1, conv2 and the skip per block, the injections, the output conv.
    assert ops["reference"]["Conv"] == 3 * blocks + injections + 1
    # engine: conv1 as four phase convs.
    assert ops["engine"]["Conv"] == 6 * blocks + injections + 1
    # No Pad for the convs (the phase convs carry their own pads); the only Pads are average pooling's.
    assert ops["engine"].get("Pad", 0) == ops["engine"]["AveragePool"]
    # Upsampling: the reference resizes before conv1 and the skip; the engine only resizes the skip's output.
    assert ops["reference"]["Resize"] - ops["engine"]["Resize"] == blocks
    assert ops["engine"]["Tanh"] == 1
