"""Evaluation of a pack on the CIFAR-10 test set with the pack's own decoded weights (what the browser runs): the
classifier's accuracy, per level the class agreement, feature distance, pixel L1, diversity and Frechet distance (on
FC7) of the SP samples, LAG's consistency and diversity; the figures; the README's metrics table."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch
import torch.nn.functional as F

from pipeline import data as D
from pipeline import export as E
from pipeline import reference as R
from pipeline.levels import FC7, FC8, NUM_LEVELS


def batches(n: int, size: int):
    for i in range(0, n, size):
        yield slice(i, min(n, i + size))


def pyramid(weights, arch, images_nhwc: torch.Tensor, batch: int = 500) -> List[torch.Tensor]:
    parts = [R.vgg_pyramid(weights, arch, images_nhwc[s]) for s in batches(len(images_nhwc), batch)]
    return [torch.cat([p[i] for p in parts]) for i in range(len(parts[0]))]


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (FID's formula, here on the classifier's FC7)."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(s1)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    inner = np.linalg.eigvalsh(root1 @ s2 @ root1)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.clip(inner, 0, None)).sum())


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR for images in [-1, 1] (peak-to-peak 2), over the whole set."""
    mse = ((a - b) ** 2).mean().item()
    return float("inf") if mse == 0 else 10 * np.log10(4.0 / mse)


def to_uint8(x_nhwc: torch.Tensor) -> np.ndarray:
    return ((x_nhwc.clamp(-1, 1) + 1) * 127.5).round().byte().numpy()


def save_figure(path: Path, rows: List[List[torch.Tensor]], scale: int = 3, gap: int = 2) -> None:
    from PIL import Image

    h, w = rows[0][0].shape[:2]
    cols = max(len(r) for r in rows)
    canvas = np.full((len(rows) * (h + gap) - gap, cols * (w + gap) - gap, 3), 255, np.uint8)
    for i, row in enumerate(rows):
        for j, img in enumerate(row):
            canvas[i * (h + gap) : i * (h + gap) + h, j * (w + gap) : j * (w + gap) + w] = to_uint8(img)
    Image.fromarray(canvas).resize((canvas.shape[1] * scale, canvas.shape[0] * scale), Image.NEAREST).save(path)


@torch.no_grad()
def evaluate(pack_dir: Path, sources: int, samples: int, seed: int, figures: Path | None, data_root=None) -> Dict:
    torch.manual_seed(seed)
    pack, weights = E.read_pack(pack_dir)
    levels, arch_vgg = pack["levels"], pack["models"]["vgg"]["arch"]
    arch_sp, arch_lag = pack["models"]["sp"]["arch"], pack["models"]["lag"]["arch"]
    t0 = time.time()
    test_x, test_y = D.load_split("test", data_root)
    x_all = torch.from_numpy(test_x).float().div(127.5).sub(1.0)  # NHWC in [-1, 1]
    y_all = torch.from_numpy(test_y)
    feats_all = pyramid(weights["vgg"], arch_vgg, x_all)
    accuracy = (feats_all[FC8].argmax(1) == y_all).float().mean().item()
    fc7_test = feats_all[FC7].numpy().astype(np.float64)
    print(f"classifier accuracy {accuracy:.4f} on {len(y_all)} test images ({time.time() - t0:.0f} s)", flush=True)

    # Class-balanced sources: the first sources/10 test images of each class.
    per_class = max(1, sources // 10)
    idx = torch.cat([torch.nonzero(y_all == c).flatten()[:per_class] for c in range(10)])
    x, y = x_all[idx], y_all[idx]
    feats = [f[idx] for f in feats_all]
    n, size = len(idx), pack["imageSize"]
    level_metrics = []
    for lv in levels:
        i = lv["index"]
        outs = []
        for k in range(samples):
            z = torch.randn(n, arch_sp["zDim"])
            on = F.one_hot(torch.full((n,), i), NUM_LEVELS).float()
            mask = torch.ones(n, size, size, 1)
            parts = [
                R.sp_generate(weights["sp"], arch_sp, levels, z[s], y[s], [f[s] for f in feats], on[s], mask[s])
                for s in batches(n, 250)
            ]
            outs.append(torch.cat(parts))
        sample_feats = [pyramid(weights["vgg"], arch_vgg, o) for o in outs]
        agree = np.mean([(sf[FC8].argmax(1) == y).float().mean().item() for sf in sample_feats])
        scale = feats[i].abs().mean()
        feat_dist = np.mean([((sf[i] - feats[i]).abs().mean() / scale).item() for sf in sample_feats])
        pixel_l1 = np.mean([(o - x).abs().mean().item() for o in outs])
        diversity = np.mean(
            [(outs[a] - outs[b]).abs().mean().item() for a in range(samples) for b in range(a + 1, samples)]
        )
        fd = frechet_distance(torch.cat([sf[FC7] for sf in sample_feats]).numpy().astype(np.float64), fc7_test)
        level_metrics.append(
            dict(
                level=lv["name"],
                stride=lv["stride"],
                classAgreement=round(float(agree), 4),
                featureDistance=round(float(feat_dist), 4),
                pixelL1=round(float(pixel_l1), 4),
                diversity=round(float(diversity), 4),
                frechetFC7=round(fd, 3),
            )
        )
        print(level_metrics[-1], f"({time.time() - t0:.0f} s)", flush=True)

    # LAG on the same sources.
    scale = arch_lag["scale"]
    lr = F.avg_pool2d(x.permute(0, 3, 1, 2), scale).permute(0, 2, 3, 1)
    noise_shape = (n, arch_lag["lrSize"], arch_lag["lrSize"], arch_lag["noiseChannels"])
    cands = torch.stack([R.lag_generate(weights["lag"], arch_lag, lr, torch.randn(noise_shape), 1.0) for _ in range(4)])
    raw_arch = dict(arch_lag, consistency=False)
    raw = R.lag_generate(weights["lag"], raw_arch, lr, torch.randn(noise_shape), 1.0)
    zero = R.lag_generate(weights["lag"], arch_lag, lr, torch.zeros(noise_shape), 0.0)
    down = lambda t: F.avg_pool2d(t.permute(0, 3, 1, 2), scale).permute(0, 2, 3, 1)  # noqa: E731
    lag_metrics = dict(
        lrConsistencyPSNR=round(psnr(torch.cat([down(c) for c in cands]), lr.repeat(4, 1, 1, 1)), 2),
        lrConsistencyPSNRWithoutProjection=round(psnr(down(raw), lr), 2),
        diversity=round(cands.std(0).mean().item(), 4),
        noise0PSNR=round(psnr(zero, x), 2),
        bicubicLikeBaselinePSNR=round(
            psnr(
                F.interpolate(lr.permute(0, 3, 1, 2), scale_factor=scale, mode="bilinear", align_corners=False).permute(
                    0, 2, 3, 1
                ),
                x,
            ),
            2,
        ),
    )
    print("lag", lag_metrics, flush=True)
    metrics = dict(
        evaluatedAt=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        dataset="CIFAR-10 test",
        classifierAccuracy=round(accuracy, 4),
        sources=n,
        samplesPerSource=samples,
        levels=level_metrics,
        lag=lag_metrics,
        seconds=round(time.time() - t0, 1),
    )

    if figures:
        figures.mkdir(parents=True, exist_ok=True)
        pick = torch.cat([torch.nonzero(y == c).flatten()[:1] for c in range(8)])
        rows = []
        for j in pick.tolist():
            for lv in levels:
                k = 6
                on = F.one_hot(torch.full((k,), lv["index"]), NUM_LEVELS).float()
                out = R.sp_generate(
                    weights["sp"],
                    arch_sp,
                    levels,
                    torch.randn(k, arch_sp["zDim"]),
                    y[j].repeat(k),
                    [f[j : j + 1].repeat(k, *[1] * (f.dim() - 1)) for f in feats],
                    on,
                    torch.ones(k, size, size, 1),
                )
                rows.append([x[j]] + list(out))
        save_figure(figures / f"{pack['id']}-compare-levels.png", rows, scale=2)
        lag_rows = []
        for j in pick.tolist():
            up_lr = F.interpolate(lr[j : j + 1].permute(0, 3, 1, 2), scale_factor=scale, mode="nearest").permute(
                0, 2, 3, 1
            )
            lag_rows.append([x[j], up_lr[0], zero[j]] + [c[j] for c in cands])
        save_figure(figures / f"{pack['id']}-lag-candidates.png", lag_rows, scale=3)
    return metrics


def metrics_table(pack: dict) -> str:
    m = pack["metrics"]
    trained_on = "preview, CPU-trained" if pack["preview"] else pack["provenance"].get("device", "?")
    lines = [
        f"Pack `{pack['id']}` ({trained_on}), "
        f"evaluated on {m['sources']} CIFAR-10 test images x {m['samplesPerSource']} samples. "
        f"Classifier accuracy: **{m['classifierAccuracy'] * 100:.2f}%** (10,000 test images).",
        "",
        "| level | stride | class agreement | feature distance | pixel L1 to source | diversity | Frechet (FC7) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in m["levels"]:
        lines.append(
            f"| {r['level']} | {r['stride'] or '-'} | {r['classAgreement']:.3f} | {r['featureDistance']:.3f} | "
            f"{r['pixelL1']:.3f} | {r['diversity']:.3f} | {r['frechetFC7']:.3f} |"
        )
    lag = m["lag"]
    lines += [
        "",
        f"LAG (8x8 -> 32x32): LR-consistency PSNR {lag['lrConsistencyPSNR']} dB "
        f"({lag['lrConsistencyPSNRWithoutProjection']} dB without the back-projection), "
        f"diversity (per-pixel std across 4 candidates) {lag['diversity']}, "
        f"noise-0 PSNR to the original {lag['noise0PSNR']} dB "
        f"(bilinear upscaling: {lag['bicubicLikeBaselinePSNR']} dB).",
    ]
    return "\n".join(lines)


def write_readme_table(readme: Path, pack: dict) -> None:
    start, end = "<!-- metrics:start -->", "<!-- metrics:end -->"
    text = readme.read_text() if readme.exists() else ""
    if start not in text or end not in text:
        return
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{start}\n{metrics_table(pack)}\n{end}{tail}")
