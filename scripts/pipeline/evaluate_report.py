"""The README's metrics block (markdown, from pack.json's `metrics` alone) and the figures of evaluate.py."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import numpy as np
import torch

from pipeline import reference as R
from pipeline.evaluate_lag import box_down, upscale
from pipeline.evaluate_setup import Setup
from pipeline.evaluate_sp import generate, seed_generator

START, END = "<!-- metrics:start -->", "<!-- metrics:end -->"


def pm(stat: Dict, digits: int = 3) -> str:
    """mean ± std over seeds."""
    return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"


def _judge_lines(m: Dict) -> List[str]:
    j, c = m["judge"], m["judge"]["ceilings"]
    lines = [
        "| level | stride | class agreement: true label | class agreement: judge's class of source "
        "| Frechet, judge features | diversity, judge features | diversity, pixels "
        "| pixel L1 to source | PSNR to source (dB) | judge-feature distance to source |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in j["levels"]:
        lines.append(
            f"| {r['level']} | {r['stride'] or '-'} | {pm(r['classAgreementTrueLabel'])} "
            f"| {pm(r['classAgreementJudgeOfSource'])} | {pm(r['frechetJudgeFeatures'], 1)} "
            f"| {pm(r['diversityJudgeFeatures'], 2)} | {pm(r['diversityPixels'])} | {pm(r['pixelL1ToSource'])} "
            f"| {pm(r['psnrToSource'], 2)} | {pm(r['judgeFeatureDistanceToSource'], 2)} |"
        )
    lines.append(
        f"| **real test images** | | {pm(c['judgeAccuracyOnSources'])} (judge accuracy) | 1 by definition "
        f"| {pm(c['frechetJudgeFeatures'], 1)} ({c['frechetRealImages']['mean']:.0f} real) "
        f"| {pm(c['sameClassDiversityJudgeFeatures'], 2)} | {pm(c['sameClassDiversityPixels'])} "
        f"| {pm(c['sameClassDiversityPixels'])} | {pm(c['sameClassPSNR'], 2)} "
        f"| {pm(c['sameClassDiversityJudgeFeatures'], 2)} |"
    )
    return lines


def _lag_lines(m: Dict) -> List[str]:
    lag = m["judge"]["lag"]
    names = dict(lag="LAG, noise 0", bicubic="bicubic upscaling", nearest="nearest upscaling")
    lines = [
        "| 8x8 -> 32x32, noise 0 | PSNR to the original (dB) | class agreement: true label "
        "| class agreement: judge's class of source | LR-consistency PSNR (dB) |",
        "|---|---|---|---|---|",
    ]
    for key, label in names.items():
        r = lag["noise0"][key]
        lr = pm(r["lrConsistencyPSNR"], 2) if "lrConsistencyPSNR" in r else "exact"
        lines.append(
            f"| {label} | {pm(r['psnr'], 2)} | {pm(r['classAgreementTrueLabel'])} "
            f"| {pm(r['classAgreementJudgeOfSource'])} | {lr} |"
        )
    k = m["data"]["lagCandidates"]
    lines += [
        "",
        f"LAG at noise 1, {k} candidates per input: LR-consistency {pm(lag['lrConsistencyPSNR'], 2)} dB with the "
        f"back-projection that ends the network (it was trained with it; it makes the output consistent by "
        f"construction), {pm(lag['lrConsistencyPSNRBeforeProjection'], 2)} dB before it; candidate diversity "
        f"{pm(lag['candidatePixelStd'], 4)} per-pixel std and {pm(lag['candidateDiversityJudgeFeatures'], 2)} in "
        f"judge features (the detail the 8x8 input leaves open, original minus its nearest upscaling: "
        f"{pm(lag['realDetailMeanAbs'])} mean absolute).",
    ]
    return lines


def _target_lines(m: Dict) -> List[str]:
    lines = ["| target | value (mean ± std) | threshold | per seed | result |", "|---|---|---|---|---|"]
    for t in m["targets"]:
        per_seed = " ".join("yes" if ok else "no" for ok in t["metPerSeed"])
        digits = 4 if abs(t["value"]["mean"]) < 10 else 2
        lines.append(
            f"| {t['description']} | {pm(t['value'], digits)} | {t['comparator']} {pm(t['threshold'], digits)} "
            f"| {per_seed} | **{'met' if t['met'] else 'missed'}** |"
        )
    return lines


def _pack_vgg_lines(m: Dict) -> List[str]:
    v = m["packVgg"]
    lines = [
        f"Second set, graded by the pack's own VGG (classifier accuracy {v['classifierAccuracy'] * 100:.2f}% on "
        f"{v.get('classifierAccuracyImages', '?')} test images), the "
        "network whose features the generator was trained to match: not an independent figure.",
        "",
        "| level | class agreement | feature distance | Frechet (pack VGG FC7) |",
        "|---|---|---|---|",
    ]
    for r in v["levels"]:
        lines.append(
            f"| {r['level']} | {pm(r['classAgreementTrueLabel'])} | {pm(r['featureDistance'])} "
            f"| {pm(r['frechetFC7'])} |"
        )
    return lines


def metrics_table(pack: dict) -> str:
    m = pack["metrics"]
    if m.get("version") != 2:
        raise ValueError(f"pack {pack['id']}: metrics version {m.get('version')}; run scripts/evaluate.py")
    trained_on = "preview, CPU-trained" if pack["preview"] else pack["provenance"].get("device", "?")
    jm, d = m["judge"]["model"], m["data"]
    seeds = ", ".join(str(s) for s in m["seeds"])
    judge_acc = jm.get("testAccuracyFlipTTA")
    lines = [
        f"Pack `{pack['id']}` ({trained_on}), graded by an independent judge (a residual classifier of its own "
        f"family, trained on the train split only, never used in training a generator"
        + (f"; {judge_acc * 100:.2f}% test accuracy" if judge_acc is not None else "")
        + f"). {d['sources']} fixed test images as sources x {d['samplesPerSource']} samples per level; every figure "
        f"is mean ± std over {len(m['seeds'])} evaluation seeds ({seeds}), which change the noise and the real "
        f"images drawn for the ceilings. Frechet distances are in the judge's penultimate features (not FID), "
        f"against {d['referenceImages']} real test images. The last row holds the same measures on real test "
        f"images: the ceilings (for the distances to the source, what a different real image of the same class "
        f"scores).",
        "",
    ]
    lines += _judge_lines(m) + [""] + _lag_lines(m) + ["", "Targets (met only if the mean and every seed meet it):", ""]
    lines += _target_lines(m) + [""] + _pack_vgg_lines(m)
    return "\n".join(lines)


def write_readme_table(readme: Path, pack: dict) -> bool:
    """Rewrites the block between the metrics markers; False (file untouched) when the markers are missing."""
    text = readme.read_text() if readme.exists() else ""
    if START not in text or END not in text:
        return False
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{metrics_table(pack)}\n{END}{tail}")
    return True


def to_uint8(x_nhwc: torch.Tensor) -> np.ndarray:
    return ((x_nhwc.clamp(-1, 1) + 1) * 127.5).round().byte().numpy()


def save_grid(path: Path, rows: List[List[torch.Tensor]], scale: int = 3, gap: int = 2) -> None:
    from PIL import Image

    h, w = rows[0][0].shape[:2]
    cols = max(len(r) for r in rows)
    canvas = np.full((len(rows) * (h + gap) - gap, cols * (w + gap) - gap, 3), 255, np.uint8)
    for i, row in enumerate(rows):
        for j, img in enumerate(row):
            canvas[i * (h + gap) : i * (h + gap) + h, j * (w + gap) : j * (w + gap) + w] = to_uint8(img)
    Image.fromarray(canvas).resize((canvas.shape[1] * scale, canvas.shape[0] * scale), Image.NEAREST).save(path)


@torch.no_grad()
def save_figures(setup: Setup, out_dir: Path, seed: int, per_row: int = 6, classes: int = 8) -> List[Path]:
    """compare-levels: for one source of each of the first `classes` classes, the source then `per_row` samples at
    each level. lag-candidates: source, nearest, bicubic, LAG at noise 0, then 4 candidates at noise 1."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pack = setup.pack
    y = setup.source_labels
    pick = [int(torch.nonzero(y == c).flatten()[0]) for c in range(min(classes, int(y.max()) + 1))]
    sub = Setup(**{**setup.__dict__, "source_idx": setup.source_idx[pick]})
    rows = []
    samples = {
        lv["index"]: generate(sub, lv["index"], per_row, seed_generator(seed, 50 + lv["index"]))
        for lv in pack["levels"]
    }
    for j in range(len(pick)):
        for lv in pack["levels"]:
            rows.append([sub.sources[j]] + list(samples[lv["index"]][:, j]))
    paths = [out_dir / f"{pack['id']}-compare-levels.png"]
    save_grid(paths[0], rows, scale=2)

    w, arch = setup.weights["lag"], pack["models"]["lag"]["arch"]
    x = sub.sources
    lr = box_down(x, arch["scale"])
    shape = (len(x), arch["lrSize"], arch["lrSize"], arch["noiseChannels"])
    gen = seed_generator(seed, 150)
    zero = R.lag_generate(w, arch, lr, torch.zeros(shape), 0.0)
    cands = [R.lag_generate(w, arch, lr, torch.randn(shape, generator=gen), 1.0) for _ in range(4)]
    near, cubic = upscale(lr, arch["scale"], "nearest"), upscale(lr, arch["scale"], "bicubic")
    lag_rows = [[x[j], near[j], cubic[j], zero[j]] + [c[j] for c in cands] for j in range(len(x))]
    paths.append(out_dir / f"{pack['id']}-lag-candidates.png")
    save_grid(paths[1], lag_rows, scale=3)
    return paths
