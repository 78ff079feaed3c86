"""What every evaluation seed shares: the pack's decoded weights, the judge, the real test images split into a fixed
reference set and a pool, the fixed class-balanced sources drawn from the pool, and the features of the real images
(the judge's and the pack VGG's), computed once.

The split of the test set: within each class, every other image (in the data set's order) goes to the reference set,
the rest to the pool. Sources are the first sources/C images of each class in the pool. Real-data ceilings draw from
the pool, so every real subset compared with the reference set is disjoint from it, as the samples are.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch
import torch.nn.functional as F

from pipeline import export as E
from pipeline import reference as R
from pipeline.levels import FC7, FC8


@dataclass
class Setup:
    pack: dict
    weights: Dict[str, Dict[str, np.ndarray]]
    judge: object  # pipeline.models.judge.Judge
    images: torch.Tensor  # all real test images, NHWC float in [-1, 1]
    labels: torch.Tensor  # [N] int64
    reference_idx: torch.Tensor  # the fixed reference set of the Frechet distances
    pool_idx: torch.Tensor  # the rest: sources and real-data ceilings come from here
    source_idx: torch.Tensor  # fixed sources (class-balanced, from the pool)
    judge_feats: torch.Tensor  # [N, D] judge features of every real test image
    judge_pred: torch.Tensor  # [N] judge class (flip-averaged) of every real test image
    vgg_source_feats: List[torch.Tensor]  # the pack VGG's pyramid of the sources: the generator's conditions
    vgg_reference_fc7: np.ndarray  # pack VGG FC7 of the reference set
    vgg_accuracy: float  # pack VGG accuracy on the reference set
    data_report: dict  # the data set's report (what was read, skipped, converted), for the metrics

    @property
    def sources(self) -> torch.Tensor:
        return self.images[self.source_idx]

    @property
    def source_labels(self) -> torch.Tensor:
        return self.labels[self.source_idx]


def batches(n: int, size: int):
    for i in range(0, n, size):
        yield slice(i, min(n, i + size))


def vgg_pyramid(weights, arch, images_nhwc: torch.Tensor, keep=None, batch: int = 500) -> List[torch.Tensor]:
    """The pack VGG's levels (those in `keep`, default all seven; the others come back as None, which keeps the
    memory of 10,000 pool1 maps out), with the pack's decoded weights (pipeline.reference, what the browser runs)."""
    parts = [R.vgg_pyramid(weights, arch, images_nhwc[s]) for s in batches(len(images_nhwc), batch)]
    parts = [[f if keep is None or i in keep else None for i, f in enumerate(p)] for p in parts]
    return [None if parts[0][i] is None else torch.cat([p[i] for p in parts]) for i in range(len(parts[0]))]


def to_judge(judge, images_nhwc: torch.Tensor) -> torch.Tensor:
    """NHWC [-1, 1] -> the judge's NCHW input at its size (antialiased bilinear resize when the sizes differ)."""
    x = images_nhwc.permute(0, 3, 1, 2).float()
    if x.shape[-1] != judge.image_size:
        x = F.interpolate(x, size=(judge.image_size,) * 2, mode="bilinear", align_corners=False, antialias=True)
    return x.contiguous()


@torch.no_grad()
def judge_grade(judge, images_nhwc: torch.Tensor, batch: int = 500):
    """(features [N, D] without flip averaging, class [N] with it): what judge.features and judge.predict return, in
    two forward passes instead of their three (the class is the argmax of the head over the features of the image and
    of its mirror image; a positive scale of the logits does not move it). The tests check the equality."""
    x = to_judge(judge, images_nhwc)
    feats, classes = [], []
    for s in batches(len(x), batch):
        f = judge.net.features(x[s])
        mirrored = judge.net.features(torch.flip(x[s], dims=[3]))
        feats.append(f)
        classes.append((judge.net.head(f) + judge.net.head(mirrored)).argmax(1))
    if not feats:
        return torch.zeros(0, judge.feature_dim), torch.zeros(0, dtype=torch.int64)
    return torch.cat(feats), torch.cat(classes)


def split_test_set(labels: torch.Tensor, num_classes: int, sources: int):
    reference, pool = [], []
    for c in range(num_classes):
        idx = torch.nonzero(labels == c).flatten()
        reference.append(idx[0::2])
        pool.append(idx[1::2])
    per_class = max(1, sources // num_classes)
    short = [c for c in range(num_classes) if len(pool[c]) < per_class]
    if short:
        raise ValueError(
            f"{sources} sources need {per_class} pool images per class; classes {short} have fewer "
            f"(the pool is half of each class of the test split)"
        )
    source_idx = torch.cat([p[:per_class] for p in pool])
    return torch.cat(reference).sort().values, torch.cat(pool).sort().values, source_idx


@torch.no_grad()
def prepare(pack_dir: Path, judge, dataset, sources: int, log=print) -> Setup:
    """Reads the pack (checksums, decoded weights), checks that pack, judge and data agree on size and classes, and
    computes what the seeds share."""
    pack, weights = E.read_pack(Path(pack_dir))
    class_names = list(dataset.class_names)
    for who, names in (("pack", pack["classNames"]), ("judge", judge.class_names)):
        if list(names) != class_names:
            raise ValueError(f"the {who}'s classes {list(names)} differ from the data's {class_names}")
    size = pack["imageSize"]
    if dataset.images.shape[1:] != (size, size, 3):
        raise ValueError(f"the data's images are {dataset.images.shape[1:]}, the pack needs {size}x{size}x3")
    images = torch.from_numpy(np.ascontiguousarray(dataset.images)).float().div(127.5).sub(1.0)
    labels = torch.as_tensor(dataset.labels, dtype=torch.int64)
    reference_idx, pool_idx, source_idx = split_test_set(labels, len(class_names), sources)

    judge_feats, judge_pred = judge_grade(judge, images)
    log(f"judge accuracy {(judge_pred == labels).float().mean().item():.4f} on {len(labels)} real test images")
    arch_vgg = pack["models"]["vgg"]["arch"]
    vgg_reference = vgg_pyramid(weights["vgg"], arch_vgg, images[reference_idx], keep=(FC7, FC8))
    vgg_accuracy = (vgg_reference[FC8].argmax(1) == labels[reference_idx]).float().mean().item()
    log(f"pack VGG accuracy {vgg_accuracy:.4f} on the {len(reference_idx)} reference images")
    return Setup(
        pack=pack,
        weights=weights,
        judge=judge,
        images=images,
        labels=labels,
        reference_idx=reference_idx,
        pool_idx=pool_idx,
        source_idx=source_idx,
        judge_feats=judge_feats,
        judge_pred=judge_pred,
        vgg_source_feats=vgg_pyramid(weights["vgg"], arch_vgg, images[source_idx]),
        vgg_reference_fc7=vgg_reference[FC7].numpy().astype(np.float64),
        vgg_accuracy=vgg_accuracy,
        data_report=dict(getattr(dataset, "report", None) or {}),
    )
