"""Tests of the judge (scripts/pipeline/models/judge.py, scripts/pipeline/train/judge.py, scripts/train_judge.py).

Synthetic data made here (one coloured shape per class), tiny widths, CPU: the file runs in well under a minute.
"""
from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from pipeline.models.judge import JudgeNet, load_judge, save_judge  # noqa: E402
from pipeline.models.vgg import VGGPyramid  # noqa: E402
from pipeline.train.judge import (  # noqa: E402
    JudgeConfig,
    augment,
    build_judge,
    evaluate,
    read_image_folder,  # noqa: E402
    to_signed_unit,
    train_judge,
)

COMMITTED = ROOT / "models" / "judges" / "cifar10"
TINY_WIDTHS = (8, 16, 16)
SHAPES = ["square", "disc", "stripes"]


def shapes_dataset(n_per_class: int, size: int = 16, seed: int = 0):
    """uint8 [N, 3, size, size] images of a red square, a green disc or blue stripes on a noisy background, with a
    random position and scale, and their labels."""
    g = np.random.default_rng(seed)
    images, labels = [], []
    yy, xx = np.mgrid[0:size, 0:size]
    for label, shape in enumerate(SHAPES):
        for _ in range(n_per_class):
            img = g.integers(0, 90, size=(size, size, 3)).astype(np.uint8)
            r = g.integers(size // 5, size // 3 + 1)
            cy, cx = g.integers(r, size - r, size=2)
            if shape == "square":
                mask = (abs(yy - cy) <= r) & (abs(xx - cx) <= r)
            elif shape == "disc":
                mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
            else:
                mask = (xx // 2) % 2 == 0
            img[mask] = [[220, 40, 40], [40, 220, 40], [40, 40, 220]][label]
            images.append(img)
            labels.append(label)
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    return x, torch.tensor(labels, dtype=torch.int64)


def tiny_config(**kw) -> JudgeConfig:
    return JudgeConfig(**dict(dict(epochs=3, batch_size=32, lr=0.2, widths=TINY_WIDTHS, seed=3), **kw))


@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    x, y = shapes_dataset(64)
    config = tiny_config()
    net = build_judge(x, 3, config)
    losses = train_judge(net, x, y, config, log=lambda s: None)
    return net, x, y, config, losses


def test_training_lowers_the_loss(trained):
    net, x, y, config, losses = trained
    assert len(losses) == 3 * (len(y) // config.batch_size)
    first, last = np.mean(losses[:3]), np.mean(losses[-3:])
    assert last < 0.8 * first, (first, last)
    accuracy, accuracy_flip = evaluate(net, x, y, config)
    assert accuracy > 0.5 and accuracy_flip > 0.5  # three classes: chance is 1/3


def test_whitening_stem_decorrelates_patches():
    x, _ = shapes_dataset(32)
    net = JudgeNet(3, TINY_WIDTHS)
    net.init_whitening(to_signed_unit(x))
    with torch.no_grad():
        out = torch.nn.functional.conv2d(net.normalise(to_signed_unit(x)), net.whiten.weight[:12])
    flat = out.permute(1, 0, 2, 3).reshape(12, -1)
    cov = torch.cov(flat)
    # Unit variance along the strong directions, no correlation between filters: (close to) the identity.
    assert torch.allclose(cov.diagonal()[-6:], torch.ones(6), atol=0.05)
    off = cov - torch.diag(cov.diagonal())
    assert off.abs().max() < 0.05
    assert not net.whiten.weight.requires_grad


def test_save_load_round_trip_gives_the_same_logits(trained, tmp_path):
    net, x, _, _, _ = trained
    save_judge(tmp_path, net, dict(class_names=SHAPES, image_size=16))
    judge = load_judge(tmp_path)
    weights = np.load(tmp_path / "judge.npz")
    assert all(weights[k].dtype == np.float16 for k in weights.files if weights[k].dtype.kind == "f")
    reference = JudgeNet(3, TINY_WIDTHS)
    reference.load_state_dict(
        {k: (v.half().float() if v.is_floating_point() else v) for k, v in net.state_dict().items()}
    )
    reference.eval()
    xs = to_signed_unit(x[:20])
    with torch.no_grad():
        expected = reference(xs)
        unrounded = net.float().eval()(xs)
    got = judge.logits(xs, flip_tta=False)
    assert torch.allclose(got, expected, atol=1e-6)
    assert torch.allclose(got, unrounded, atol=2e-2)
    again = load_judge(tmp_path).logits(xs)
    assert torch.equal(again, judge.logits(xs))
    meta = json.loads((tmp_path / "judge.json").read_text())
    assert meta["architecture"] == dict(kind="JudgeNet", widths=list(TINY_WIDTHS), num_classes=3)


@pytest.mark.parametrize("size", [32, 64, 128])
def test_features_have_the_documented_shape_at_every_size(size, tmp_path):
    net = JudgeNet(6, TINY_WIDTHS).eval()
    save_judge(tmp_path, net, dict(class_names=[f"c{i}" for i in range(6)], image_size=size))
    judge = load_judge(tmp_path)
    x = torch.rand(5, 3, size, size) * 2 - 1
    assert judge.features(x).shape == (5, judge.feature_dim) == (5, TINY_WIDTHS[-1])
    assert judge.logits(x).shape == (5, 6)
    assert judge.predict(x).dtype == torch.int64
    flipped = judge.logits(x.flip(3))
    assert torch.allclose(flipped, judge.logits(x), atol=1e-5)  # flip TTA makes the logits mirror-invariant


def test_bad_inputs_get_clear_messages(tmp_path):
    net = JudgeNet(3, TINY_WIDTHS)
    save_judge(tmp_path, net, dict(class_names=SHAPES, image_size=16))
    judge = load_judge(tmp_path)
    with pytest.raises(ValueError, match="expects 16x16"):
        judge.logits(torch.zeros(2, 3, 32, 32))
    with pytest.raises(ValueError, match="3 channels"):
        judge.features(torch.zeros(2, 1, 16, 16))
    with pytest.raises(ValueError, match="float"):
        judge.logits(torch.zeros(2, 3, 16, 16, dtype=torch.uint8))
    with pytest.raises(FileNotFoundError, match="train_judge.py"):
        load_judge(tmp_path / "missing")
    other = JudgeNet(3, (8, 16, 32))
    np.savez(tmp_path / "judge.npz", **{k: v.numpy() for k, v in other.state_dict().items()})
    with pytest.raises(ValueError, match="does not match the architecture"):
        load_judge(tmp_path)  # same names, other shapes


def test_the_judge_is_not_the_packs_vgg():
    judge_net = JudgeNet(10)
    vgg = VGGPyramid()
    assert not isinstance(judge_net, VGGPyramid) and not isinstance(vgg, JudgeNet)
    judge_names = {n for n, _ in judge_net.named_parameters()}
    vgg_names = {n for n, _ in vgg.named_parameters()}
    assert judge_names.isdisjoint(vgg_names)
    assert any(".conv_res." in n for n in judge_names)  # residual stages


def test_augment_flips_and_translates_within_bounds():
    x, _ = shapes_dataset(8)
    g = torch.Generator().manual_seed(0)
    flipped = augment(x, g, translate=0)
    assert all(torch.equal(a, b) or torch.equal(a, b.flip(2)) for a, b in zip(flipped, x))
    moved = augment(x, g, translate=2)
    assert moved.shape == x.shape and moved.dtype == torch.uint8
    assert not torch.equal(moved, x)


@pytest.mark.parametrize("as_zip", [False, True])
def test_read_image_folder_crops_and_resizes(tmp_path, as_zip):
    root = tmp_path / "data"
    for c, colour in [("b_green", (0, 255, 0)), ("a_red", (255, 0, 0))]:
        (root / c).mkdir(parents=True)
        for i in range(3):
            im = Image.new("RGB", (40, 30), (0, 0, 0))
            im.paste(colour, (5, 0, 35, 30))  # the centre 30x30 crop is all colour
            im.save(root / c / f"{i}.png")
    source = root
    if as_zip:
        source = tmp_path / "data.zip"
        with zipfile.ZipFile(source, "w") as zf:
            for p in sorted(root.glob("*/*.png")):
                zf.write(p, f"{p.parent.name}/{p.name}")
    images, labels, classes = read_image_folder(source, 16)
    assert classes == ["a_red", "b_green"]
    assert images.shape == (6, 3, 16, 16) and images.dtype == torch.uint8
    assert labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert images[0, 0].float().mean() > 250 and images[0, 1].float().mean() < 5
    assert images[3, 1].float().mean() > 250
    with pytest.raises(ValueError, match="two <class>"):
        read_image_folder(root / "a_red", 16)


def test_committed_judge_loads_and_describes_itself():
    judge = load_judge(COMMITTED)
    meta = judge.meta
    assert judge.image_size == 32 and len(judge.class_names) == 10
    assert judge.class_names[0] == "airplane" and judge.class_names[-1] == "truck"
    for key in (
        "test_accuracy",
        "test_accuracy_flip_tta",
        "train_seconds",
        "epochs",
        "seed",
        "command",
        "git_commit",
        "torch_version",
        "cpu",
    ):
        assert key in meta, key
    assert (COMMITTED / "judge.npz").stat().st_size < 4 * 2**20
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    assert torch.isfinite(judge.logits(x)).all()
    assert judge.features(x).shape == (4, judge.feature_dim)
