"""The judge: an independent residual classifier that grades generated images (issue 12).

It is of another family than the pack's VGGPyramid (scripts/models.py): a whitening stem followed by three residual
stages and global max pooling, trained by scripts/train_judge.py on the train split only, with its own seed, and never
used to train a generator. Global pooling makes the same architecture work at 32, 64 or 128 px.

API for the evaluator
---------------------
    judge = load_judge("models/judges/cifar10")       # reads judge.json + judge.npz
    judge.image_size, judge.class_names               # the size it expects (square) and the class order
    logits = judge.logits(x)                          # [N, num_classes] float32, flip-averaged by default
    logits = judge.logits(x, flip_tta=False)          # one plain forward pass
    labels = judge.predict(x)                         # [N] int64, argmax of the flip-averaged logits
    feats = judge.features(x)                         # [N, judge.feature_dim] float32, penultimate features

`x` is a float NCHW tensor in [-1, 1] (the packs' range, NOT [0, 1]) at judge.image_size x judge.image_size, RGB.
Features are the globally max-pooled activations of the last stage (the input of the linear head), computed without
flip averaging so that they describe the image as given; use them for the Frechet distance in judge features and for
per-condition diversity. All calls run in evaluation mode under torch.no_grad in float32, in batches of
`batch_size` (default 500), and return CPU tensors.

judge.json holds the architecture (widths, num_classes), class names, image size, the test accuracy with and without
flip TTA, the training time, epochs, seed, exact command, git commit, torch version and CPU.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

WEIGHTS_FILE = "judge.npz"
META_FILE = "judge.json"
# The head's output is scaled down so that label-smoothed cross-entropy does not push the logits up faster than the
# rest of the net learns (a known trick of the fast CIFAR-10 recipes; a constant, not a parameter).
LOGIT_SCALE = 1.0 / 9.0


class ResidualStage(nn.Module):
    """conv 3x3 -> max-pool 2 -> BN -> GELU, then an identity shortcut around conv 3x3 -> BN -> GELU.
    The pool comes right after the first conv so that the residual conv runs at the lower resolution."""

    def __init__(self, cin: int, cout: int, bn_momentum: float):
        super().__init__()
        self.conv_in = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.norm_in = nn.BatchNorm2d(cout, momentum=bn_momentum)
        self.conv_res = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.norm_res = nn.BatchNorm2d(cout, momentum=bn_momentum)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.gelu(self.norm_in(F.max_pool2d(self.conv_in(x), 2)))
        return y + F.gelu(self.norm_res(self.conv_res(y)))


class JudgeNet(nn.Module):
    """Whitening stem (2x2 conv initialised from the patch PCA of the training images, kept fixed) + residual stages
    + global max pool + linear head. Input in [-1, 1]; per-channel mean/std of the training data are buffers."""

    def __init__(self, num_classes: int, widths: Sequence[int] = (64, 256, 256), bn_momentum: float = 0.2):
        super().__init__()
        self.num_classes = int(num_classes)
        self.widths = [int(w) for w in widths]
        self.register_buffer("input_mean", torch.zeros(3))
        self.register_buffer("input_std", torch.ones(3))
        patch_dim = 3 * 2 * 2
        self.whiten = nn.Conv2d(3, 2 * patch_dim, 2, padding=0, bias=True)
        self.whiten.weight.requires_grad_(False)
        stages, cin = [], 2 * patch_dim
        for w in self.widths:
            stages.append(ResidualStage(cin, w, bn_momentum))
            cin = w
        self.stages = nn.ModuleList(stages)
        self.head = nn.Linear(cin, self.num_classes, bias=False)

    @property
    def feature_dim(self) -> int:
        return self.widths[-1]

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.input_mean.view(1, 3, 1, 1)) / self.input_std.view(1, 3, 1, 1)

    @torch.no_grad()
    def init_whitening(self, images: torch.Tensor, eps: float = 5e-4) -> None:
        """Sets input_mean/input_std and the stem from `images` (float NCHW in [-1, 1], a few thousand suffice):
        each filter projects a 2x2 patch on one principal direction, divided by the square root of its variance,
        and its negation is kept too so that GELU does not throw half of each direction away."""
        x = images.float()
        self.input_mean.copy_(x.mean(dim=(0, 2, 3)))
        self.input_std.copy_(x.std(dim=(0, 2, 3)).clamp_min(1e-6))
        patches = F.unfold(self.normalise(x), 2).transpose(1, 2).reshape(-1, 12).double()
        patches = patches - patches.mean(dim=0)
        cov = patches.T @ patches / max(1, patches.shape[0] - 1)
        eigenvalues, eigenvectors = torch.linalg.eigh(cov)
        filters = (eigenvectors.T / (eigenvalues.clamp_min(0) + eps).sqrt().unsqueeze(1)).float()
        filters = filters.reshape(12, 3, 2, 2)
        self.whiten.weight.copy_(torch.cat([filters, -filters]))
        self.whiten.bias.zero_()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        h = F.gelu(self.whiten(self.normalise(x)))
        for stage in self.stages:
            h = stage(h)
        return torch.amax(h, dim=(2, 3)).float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)) * LOGIT_SCALE


class Judge:
    """A trained JudgeNet with its metadata, for grading. See the module docstring for the contract."""

    def __init__(self, net: JudgeNet, meta: Dict):
        self.net = net.float().eval()
        self.meta = meta
        self.class_names: List[str] = list(meta["class_names"])
        self.image_size: int = int(meta["image_size"])

    @property
    def feature_dim(self) -> int:
        return self.net.feature_dim

    def _check(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(
                f"judge input must be a float NCHW tensor with 3 channels, got "
                f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}"
            )
        if tuple(x.shape[2:]) != (self.image_size, self.image_size):
            raise ValueError(
                f"judge expects {self.image_size}x{self.image_size} images, got "
                f"{x.shape[2]}x{x.shape[3]}: resize (antialiased) before grading"
            )
        if not x.is_floating_point():
            raise ValueError(f"judge input must be float in [-1, 1], got {x.dtype}")
        return x.float()

    @torch.no_grad()
    def logits(self, x: torch.Tensor, flip_tta: bool = True, batch_size: int = 500) -> torch.Tensor:
        x = self._check(x)
        out = []
        for i in range(0, x.shape[0], batch_size):
            chunk = x[i : i + batch_size]
            y = self.net(chunk)
            if flip_tta:
                y = 0.5 * (y + self.net(torch.flip(chunk, dims=[3])))
            out.append(y)
        return torch.cat(out) if out else torch.zeros(0, self.net.num_classes)

    @torch.no_grad()
    def features(self, x: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
        x = self._check(x)
        out = [self.net.features(x[i : i + batch_size]) for i in range(0, x.shape[0], batch_size)]
        return torch.cat(out) if out else torch.zeros(0, self.feature_dim)

    def predict(self, x: torch.Tensor, flip_tta: bool = True) -> torch.Tensor:
        return self.logits(x, flip_tta=flip_tta).argmax(dim=1)


def save_judge(directory, net: JudgeNet, meta: Dict) -> None:
    """Writes judge.npz (every tensor of the state dict; floats as float16 to keep the file small) and judge.json
    (meta plus the architecture needed to rebuild the net)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for name, tensor in net.state_dict().items():
        t = tensor.detach().cpu()
        arrays[name] = (t.half() if t.is_floating_point() else t).numpy()
    np.savez(directory / WEIGHTS_FILE, **arrays)
    full = dict(meta, architecture=dict(kind="JudgeNet", widths=net.widths, num_classes=net.num_classes))
    (directory / META_FILE).write_text(json.dumps(full, indent=2) + "\n")


def load_judge(directory) -> Judge:
    directory = Path(directory)
    meta_path, weights_path = directory / META_FILE, directory / WEIGHTS_FILE
    for path in (meta_path, weights_path):
        if not path.exists():
            raise FileNotFoundError(f"{path} not found: train a judge with scripts/train_judge.py --out {directory}")
    meta = json.loads(meta_path.read_text())
    arch = meta.get("architecture", {})
    if arch.get("kind") != "JudgeNet":
        raise ValueError(f"{meta_path}: architecture.kind is {arch.get('kind')!r}, expected 'JudgeNet'")
    net = JudgeNet(arch["num_classes"], arch["widths"])
    with np.load(weights_path) as data:
        state = {name: torch.from_numpy(data[name]) for name in data.files}
    expected = net.state_dict()
    missing, unexpected = set(expected) - set(state), set(state) - set(expected)
    if missing or unexpected:
        raise ValueError(
            f"{weights_path} does not match the architecture in {meta_path}: "
            f"missing {sorted(missing)}, unexpected {sorted(unexpected)}"
        )
    wrong = [
        f"{k} {tuple(v.shape)} != {tuple(expected[k].shape)}" for k, v in state.items() if v.shape != expected[k].shape
    ]
    if wrong:
        raise ValueError(f"{weights_path} does not match the architecture in {meta_path}: {wrong}")
    net.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()})
    return Judge(net, meta)
