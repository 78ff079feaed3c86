"""Usage: python3 tests/python/diversity_check.py SCRIPTS_DIR tests/python CLS_STEPS SP_STEPS [train.py options]

Per-condition diversity and stride-2 fidelity of the SP generator after a short CPU run on synthetic images.

Runs with the repository's scripts/ on sys.path (given as argv[1]); uses only step functions that exist before and
after the diversity objective changed, so that the same script measures both.
"""
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[2])
from pipeline import profile as P  # noqa: E402
from pipeline.models.vgg import folded_copy  # noqa: E402
from pipeline.train import classifier as C  # noqa: E402
from pipeline.train import sp as S  # noqa: E402
from pipeline.train.common import amp_feature_net  # noqa: E402
from synthetic_data import synthetic_image  # noqa: E402

steps_cls, steps_sp = int(sys.argv[3]), int(sys.argv[4])
extra = sys.argv[5:]
torch.set_num_threads(2)
dev = torch.device("cpu")


def images(n_per_class, seed, classes=3, size=32):
    rng = np.random.default_rng(seed)
    x = np.stack([synthetic_image(rng, c, size) for c in range(classes) for _ in range(n_per_class)])
    y = np.repeat(np.arange(classes), n_per_class)
    return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(y)


torch.manual_seed(0)
# float32: bf16 autocast only pays on CPUs with AMX.
models = P.fresh_models(dev, "tiny", False)
ctx = P.make_ctx(["--config", "tiny", "--batch-cls", "32", "--batch-sp", "16", *extra], dev, False, False)
ctx.train_x, ctx.train_y = images(200, 0)
t0 = time.perf_counter()
opt = C.cls_optimizer(ctx, models["vgg"])
models["vgg"].train()
for i in range(steps_cls):
    opt.set_lr(0.05 * (1 - i / steps_cls) + 1e-3)
    C.cls_train_step(ctx, models["vgg"], opt)
models["vgg"].eval()
vgg_f = amp_feature_net(folded_copy(models["vgg"]), False)
opts = S.sp_optimizers(ctx, models)
for m in ("sp", "sp_d"):
    models[m].train()
for i in range(steps_sp):
    S.sp_train_step(ctx, models, vgg_f, *opts, step=i)
S.standing_stats(ctx, models["sp_ema"], vgg_f, 4)
seconds = time.perf_counter() - t0

# Held-out sources: 8 per class; 6 samples per source and level, full mask.
g = models["sp_ema"].eval()
x_u8, y = images(8, 123)
x = x_u8.float().div(127.5).sub(1)
k = 6
with torch.no_grad():
    feats = [f.float() for f in folded_copy(models["vgg"]).pyramid(x)]
    diversity, fidelity = [], []
    for level in range(7):
        div_l, fid_l = [], []
        for i in range(len(x)):
            on = F.one_hot(torch.full((k,), level), 7).float()
            src = [f[i : i + 1].repeat(k, *[1] * (f.dim() - 1)) for f in feats]
            out = g(torch.randn(k, g.z_dim), y[i : i + 1].repeat(k), src, on, torch.ones(k, 1, 32, 32)).float()
            pair = (out[:, None] - out[None]).abs().mean(dim=(2, 3, 4))
            div_l.append(pair.sum().item() / (k * (k - 1)))
            fid_l.append((out - x[i : i + 1]).abs().mean().item())
        diversity.append(round(float(np.mean(div_l)), 4))
        fidelity.append(round(float(np.mean(fid_l)), 4))
real = (x[:8, None] - x[None, :8]).abs().mean(dim=(2, 3, 4))
print(
    json.dumps(
        dict(
            args=extra,
            steps=[steps_cls, steps_sp],
            seconds=round(seconds, 1),
            diversity=diversity,
            distance_to_source=fidelity,
            real_pairs_same_class=round(real.sum().item() / 56, 4),
        )
    )
)
