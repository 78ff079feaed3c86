"""Small image data sets made inside the tests (the tests read nothing outside the clone)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image


def synthetic_image(rng: np.random.Generator, label: int, size: int) -> np.ndarray:
    """uint8 [size, size, 3]: a smooth background and a few soft discs whose colours and count depend on the class,
    their places and sizes on the draw: images of one class differ, classes differ in a learnable way."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    base = np.array([(label * 0.37) % 1.0, (label * 0.61 + 0.2) % 1.0, (label * 0.13 + 0.5) % 1.0], np.float32)
    img = (0.25 + 0.5 * base)[None, None, :] * (0.7 + 0.3 * yy[..., None])
    for _ in range(1 + label % 3):
        cy, cx, r = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng.uniform(0.08, 0.25)
        disc = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))[..., None]
        colour = np.clip(1.0 - base + rng.normal(0, 0.1, 3), 0, 1)[None, None, :]
        img = img * (1 - disc) + colour * disc
    return np.clip(img * 255 + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8)


def image_folder(
    root: Path, classes: Sequence[str] = ("circle", "square", "star"), per_class: int = 16, size: int = 48, seed=0
) -> Path:
    """An ImageFolder `root/<class>/<i>.png` of synthetic images."""
    rng = np.random.default_rng(seed)
    for label, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.fromarray(synthetic_image(rng, label, size)).save(root / name / f"{i:03d}.png")
    return root
