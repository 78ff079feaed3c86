"""The PyTorch models. vgg.py, sp.py and lag.py are the twins of src/engine/vgg.ts, sp.ts and lag.ts: module paths
here are the weight names there, with the model prefix (vgg./sp./lag.) and kernel/bias/scale/shift as the last part
(docs/pack-format.md). Runs on torch 1.13 (CPU) and torch 2.x (CUDA)."""
from __future__ import annotations

from typing import Dict

import torch.nn as nn

from pipeline.config import PackConfig, named
from pipeline.models.lag import LAGDiscriminator, LAGGenerator
from pipeline.models.sp import SPDiscriminator, SPGenerator
from pipeline.models.vgg import VGGPyramid


def build_models(config: str | PackConfig) -> Dict[str, nn.Module]:
    """Fresh models of a named configuration ("cifar10", "tiny") or of a PackConfig."""
    cfg = named(config)
    return dict(
        vgg=VGGPyramid(cfg.vgg),
        sp=SPGenerator(cfg.sp, cfg.levels(), image_size=cfg.vgg.imageSize),
        sp_d=SPDiscriminator(cfg.sp_d, num_classes=cfg.vgg.numClasses, image_size=cfg.vgg.imageSize),
        lag=LAGGenerator(cfg.lag),
        lag_d=LAGDiscriminator(cfg.lag_d, scale=cfg.lag.scale),
    )
