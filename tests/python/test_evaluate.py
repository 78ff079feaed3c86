"""evaluate.py on the tiny pack (tests/fixtures/tiny) with a tiny judge trained here on synthetic images: the figures
are in range, seeds change what they should and nothing else, the judge's figures come from the judge and not from
the pack's VGG, the met/missed rule, the Frechet distance, the README block and the CLI."""
from __future__ import annotations

import io
import json
import shutil
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from pipeline import evaluate as V  # noqa: E402
from pipeline import evaluate_report as VR  # noqa: E402
from pipeline import export as E  # noqa: E402
from pipeline import metrics as M  # noqa: E402
from pipeline.evaluate_lag import lag_seed  # noqa: E402
from pipeline.evaluate_setup import judge_grade, prepare  # noqa: E402
from pipeline.evaluate_sp import real_ceilings, sp_level  # noqa: E402
from pipeline.models.judge import JudgeNet, load_judge, save_judge  # noqa: E402

TINY = ROOT / "tests" / "fixtures" / "tiny"
CLASSES = json.loads((TINY / "pack.json").read_text())["classNames"]
PER_CLASS = 24


def synthetic_images(per_class: int, seed: int):
    """Class c: a colour of its own and a bright square at a place of its own, over noise. uint8 [N, 32, 32, 3]."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for c in range(len(CLASSES)):
        colour = np.array([(c * 37) % 256, (c * 91 + 40) % 256, (c * 53 + 120) % 256], np.float32)
        for _ in range(per_class):
            img = colour * 0.6 + rng.normal(0, 30, (32, 32, 3))
            r, q = 2 + (c % 5) * 6, 4 + (c // 5) * 14
            img[r : r + 8, q : q + 8] = 255 - colour * 0.5
            images.append(np.clip(img, 0, 255).astype(np.uint8))
            labels.append(c)
    return np.stack(images), np.array(labels, np.int64)


def train_tiny_judge(directory: Path, images: np.ndarray, labels: np.ndarray, seed: int):
    torch.manual_seed(seed)
    net = JudgeNet(len(CLASSES), widths=(8, 16, 16))
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
    y = torch.from_numpy(labels)
    net.init_whitening(x)
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=0.01)
    net.train()
    for _ in range(60):
        idx = torch.randint(0, len(x), (64,))
        loss = torch.nn.functional.cross_entropy(net(x[idx]) * 9.0, y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    save_judge(directory, net, dict(class_names=CLASSES, image_size=32, seed=seed, test_accuracy_flip_tta=None))
    return load_judge(directory)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("evaluate")
    train_x, train_y = synthetic_images(40, seed=1)
    test_x, test_y = synthetic_images(PER_CLASS, seed=2)
    dataset = SimpleNamespace(images=test_x, labels=test_y, class_names=CLASSES, report=dict(source="synthetic"))
    judge = train_tiny_judge(tmp / "judge", train_x, train_y, seed=0)
    other_judge = train_tiny_judge(tmp / "judge2", train_x, train_y, seed=5)
    setup = prepare(TINY, judge, dataset, sources=20, log=lambda s: None)
    metrics = V.evaluate(setup, [0, 1, 2], samples=2, lag_candidates=3, log=lambda s: None)
    return SimpleNamespace(tmp=tmp, dataset=dataset, judge=judge, other_judge=other_judge, setup=setup, metrics=metrics)


def test_metrics_in_range_and_valid_json(world):
    m = world.metrics
    assert m["version"] == 2 and m["seeds"] == [0, 1, 2] and m["data"]["sources"] == 20
    json.dumps(m, allow_nan=False)  # no NaN or infinity reaches pack.json
    E.validate_pack_json(dict(json.loads((TINY / "pack.json").read_text()), metrics=m))
    c = m["judge"]["ceilings"]
    assert c["judgeAccuracy"]["mean"] > 0.5, "the tiny judge should have learned the synthetic classes"
    assert 0 < c["frechetJudgeFeatures"]["mean"] and c["frechetRealImages"]["mean"] == 40
    assert c["sameClassDiversityPixels"]["mean"] > 0 and c["sameClassDiversityJudgeFeatures"]["mean"] > 0
    assert len(m["judge"]["levels"]) == 7
    for row in m["judge"]["levels"]:
        for key in ("classAgreementTrueLabel", "classAgreementJudgeOfSource"):
            assert 0 <= row[key]["mean"] <= 1
        assert row["frechetJudgeFeatures"]["mean"] >= 0
        assert 0 < row["diversityPixels"]["mean"] <= 2 and row["diversityJudgeFeatures"]["mean"] > 0
        assert 0 < row["pixelL1ToSource"]["mean"] <= 2 and 0 < row["psnrToSource"]["mean"] < 100
        for stat in row.values():
            if isinstance(stat, dict):
                assert len(stat["seeds"]) == 3 and stat["std"] >= 0
    lag = m["judge"]["lag"]
    for key in ("lag", "bicubic", "nearest"):
        assert 0 < lag["noise0"][key]["psnr"]["mean"] < 100
        assert lag["noise0"][key]["psnr"]["std"] == 0, "noise 0 is deterministic"
    # The back-projection makes the output consistent by construction: far above what the network does before it.
    assert lag["lrConsistencyPSNR"]["mean"] > lag["lrConsistencyPSNRBeforeProjection"]["mean"] + 10
    assert lag["candidatePixelStd"]["mean"] > 0
    assert {t["id"] for t in m["targets"]} >= {"fc8DiversityVsReal", "fc8FrechetVsReal", "lagNoise0VsBicubic"}
    for t in m["targets"]:
        assert not t["met"] or all(t["metPerSeed"])


def test_a_seed_changes_the_draws_and_the_same_seed_repeats(world):
    s, level = world.setup, world.setup.pack["levels"][6]
    a, again, b = sp_level(s, level, 2, seed=0), sp_level(s, level, 2, seed=0), sp_level(s, level, 2, seed=1)
    assert a == again
    for key in ("diversityPixels", "diversityJudgeFeatures", "frechetJudgeFeatures", "pixelL1ToSource"):
        assert a["judge"][key] != b["judge"][key], key
    ca, cb = real_ceilings(s, 2, seed=0), real_ceilings(s, 2, seed=1)
    assert ca["judgeAccuracy"] == cb["judgeAccuracy"]  # the real test images do not change
    assert ca["frechetJudgeFeatures"] != cb["frechetJudgeFeatures"]
    assert ca["sameClassDiversityPixels"] != cb["sameClassDiversityPixels"]
    la, lb = lag_seed(s, 3, seed=0), lag_seed(s, 3, seed=1)
    assert la["noise0"] == lb["noise0"]
    assert la["candidatePixelStd"] != lb["candidatePixelStd"]


def test_the_judge_is_not_the_pack_vgg(world):
    judge_weights = {k: v.numpy() for k, v in world.judge.net.state_dict().items()}
    vgg_weights = world.setup.weights["vgg"]
    assert type(world.judge.net).__name__ == "JudgeNet" and "stages.0.conv_res.weight" in judge_weights
    assert not set(judge_weights) & set(vgg_weights)
    vgg_shapes = {v.shape for v in vgg_weights.values()}
    for name, w in judge_weights.items():
        for v in vgg_weights.values():
            assert v.shape != w.shape or not np.allclose(v, w), f"judge {name} equals a pack VGG weight"
    assert not any(s in vgg_shapes for s in [judge_weights["whiten.weight"].shape])
    # Another judge changes every judge figure and none of the pack VGG's.
    setup2 = prepare(TINY, world.other_judge, world.dataset, sources=20, log=lambda s: None)
    level = world.setup.pack["levels"][3]
    a, b = sp_level(world.setup, level, 2, seed=0), sp_level(setup2, level, 2, seed=0)
    assert a["packVgg"] == b["packVgg"]
    for key in ("frechetJudgeFeatures", "diversityJudgeFeatures", "judgeFeatureDistanceToSource"):
        assert a["judge"][key] != b["judge"][key], key
    assert a["judge"]["pixelL1ToSource"] == b["judge"]["pixelL1ToSource"]  # same samples, other grader


def test_judge_grade_equals_the_judge_api(world):
    x = world.setup.images[:50]
    feats, classes = judge_grade(world.judge, x)
    nchw = x.permute(0, 3, 1, 2).contiguous()
    assert torch.equal(feats, world.judge.features(nchw))
    assert torch.equal(classes, world.judge.predict(nchw))


def test_decide_target_needs_the_mean_and_every_seed():
    assert M.decide_target([0.07, 0.075, 0.079], "<=", 0.08)["met"]
    missed = M.decide_target([0.0998, 0.1001, 0.1], "<=", 0.1)
    assert missed["metPerSeed"] == [True, False, True] and not missed["met"]
    carried = M.decide_target([10.0, 1.0, 1.0], ">=", 2.0)  # mean 4 >= 2, carried by one seed
    assert not carried["met"]
    per_seed = M.decide_target([5.0, 6.0, 7.0], ">=", [4.0, 6.5, 6.0])
    assert per_seed["metPerSeed"] == [True, False, True] and not per_seed["met"]
    assert M.decide_target([3.0, 3.1], ">", [2.0, 2.0])["met"]
    assert M.decide_target([2.0], ">", 2.0)["met"] is False
    with pytest.raises(ValueError, match="comparator"):
        M.decide_target([1.0], "==", 1.0)
    with pytest.raises(ValueError, match="thresholds"):
        M.decide_target([1.0, 2.0], "<=", [1.0])


def test_summarize_is_mean_and_sample_std():
    s = M.summarize([1.0, 2.0, 3.0])
    assert s["mean"] == 2.0 and s["std"] == 1.0 and s["seeds"] == [1.0, 2.0, 3.0]
    nested = M.summarize_records([dict(a=1.0, b=dict(c=2.0), name="x"), dict(a=3.0, b=dict(c=4.0), name="x")])
    assert nested["a"]["mean"] == 2.0 and nested["b"]["c"]["mean"] == 3.0 and nested["name"] == "x"


def test_frechet_distance():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 16))
    assert abs(M.frechet_distance(a, a)) < 1e-8
    # Same covariance, mean moved by 3 in every dimension: the distance is the squared mean shift.
    assert M.frechet_distance(a, a + 3.0) == pytest.approx(9.0 * 16, rel=1e-9)
    # Diagonal Gaussians: sum (m1-m2)^2 + (s1-s2)^2 per dimension, up to sampling error.
    b = rng.normal(size=(20000, 4)) * 2.0
    c = rng.normal(size=(20000, 4)) * 0.5 + 1.0
    assert M.frechet_distance(b, c) == pytest.approx(4 * (1.0 + 1.5**2), rel=0.05)
    with pytest.raises(ValueError, match="N >= 2"):
        M.frechet_distance(a[:1], a)


def test_pairwise_and_pixel_measures():
    g = torch.zeros(3, 2, 4)
    g[1] += 1.0
    g[2] += 2.0
    assert M.mean_pairwise(g, "l1") == pytest.approx((1 + 2 + 1) / 3)
    assert M.mean_pairwise(g, "l2") == pytest.approx((2 + 4 + 2) / 3)
    x = torch.zeros(2, 4, 4, 3)
    assert M.psnr(x, x + 0.2) == pytest.approx(10 * np.log10(4 / 0.04))
    with pytest.raises(ValueError, match="at least 2"):
        M.mean_pairwise(g[:1], "l1")


def test_bad_inputs_say_what_is_wrong(world):
    wrong = SimpleNamespace(**{**world.dataset.__dict__, "class_names": list(reversed(CLASSES))})
    with pytest.raises(ValueError, match="classes"):
        prepare(TINY, world.judge, wrong, sources=20, log=lambda s: None)
    with pytest.raises(ValueError, match="pool images per class"):
        prepare(TINY, world.judge, world.dataset, sources=10 * PER_CLASS, log=lambda s: None)
    with pytest.raises(ValueError, match="at least 2"):
        V.evaluate(world.setup, [0], samples=1, lag_candidates=3)


def test_readme_block_is_rewritten_between_the_markers(world, tmp_path):
    pack = dict(json.loads((TINY / "pack.json").read_text()), metrics=world.metrics)
    table = VR.metrics_table(pack)
    assert "±" in table and "real test images" in table and "judge features" in table
    assert ("**met**" in table) or ("**missed**" in table)
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{VR.START}\nSTALE-BLOCK\n{VR.END}\noutro\n")
    assert VR.write_readme_table(readme, pack)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith(f"{VR.END}\noutro\n") and "STALE-BLOCK" not in text
    plain = tmp_path / "PLAIN.md"
    plain.write_text("no markers\n")
    assert not VR.write_readme_table(plain, pack) and plain.read_text() == "no markers\n"
    with pytest.raises(ValueError, match="metrics version"):
        VR.metrics_table(dict(pack, metrics={}))


def test_cli_writes_metrics_and_keeps_the_digest(world, tmp_path):
    """The CLI on a copy of the tiny pack and CIFAR-10-style zips of the synthetic images."""
    pack_dir = tmp_path / "tiny"
    shutil.copytree(TINY, pack_dir)
    from PIL import Image

    with zipfile.ZipFile(tmp_path / "test.zip", "w") as zf:
        for i, (img, label) in enumerate(zip(world.dataset.images, world.dataset.labels)):
            buf = io.BytesIO()
            Image.fromarray(img).save(buf, format="JPEG", quality=95)
            zf.writestr(f"{CLASSES[label]}/{i:04d}.jpg", buf.getvalue())
    shutil.copy(tmp_path / "test.zip", tmp_path / "train.zip")  # the source needs both splits; only test is read
    before = json.loads((pack_dir / "pack.json").read_text())
    from evaluate import main

    metrics = main(
        [
            "--pack-dir", str(pack_dir), "--data", str(tmp_path), "--judge", str(world.tmp / "judge"),
            "--seeds", "0", "1", "2", "--sources", "20", "--samples", "2", "--lag-candidates", "2",
            "--figures", str(tmp_path / "figures"), "--readme", str(tmp_path / "README.md"),
        ]
    )  # fmt: skip
    after = json.loads((pack_dir / "pack.json").read_text())
    assert after["digest"] == before["digest"] and after["shards"] == before["shards"]
    assert after["metrics"] == json.loads(json.dumps(metrics)) and after["metrics"]["seeds"] == [0, 1, 2]
    E.read_pack(pack_dir)  # still valid, checksums intact
    assert (tmp_path / "figures" / "tiny-compare-levels.png").exists()
    assert (tmp_path / "figures" / "tiny-lag-candidates.png").exists()
    assert not (tmp_path / "README.md").exists()  # only the default pack of models/ rewrites the README


@pytest.mark.skipif(not (ROOT / "models" / "judges" / "cifar10" / "judge.json").exists(), reason="no committed judge")
def test_the_committed_cifar10_judge_loads_and_is_independent():
    judge = load_judge(ROOT / "models" / "judges" / "cifar10")
    pack = json.loads((ROOT / "models" / "cifar10" / "pack.json").read_text())
    assert judge.class_names == pack["classNames"] and judge.image_size == pack["imageSize"]
    assert judge.meta["architecture"]["kind"] == "JudgeNet"
    assert 0.1 < judge.meta["test_accuracy_flip_tta"] <= 1  # its target is the judge's own test
    assert not set(judge.net.state_dict()) & set(E.read_pack(ROOT / "models" / "cifar10")[1]["vgg"])
    x = torch.zeros(2, 3, 32, 32)
    assert judge.features(x).shape == (2, judge.feature_dim) and judge.predict(x).shape == (2,)
