"""The data API (scripts/pipeline/data): every kind of source, every bad-data case, the cache and the resize.
All data is made inside the tests."""
from __future__ import annotations

import io
import os
import pickle
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from pipeline import data as D  # noqa: E402
from pipeline.data import decode as decode_module  # noqa: E402

CLASSES = ["cat", "dog", "emu"]


def image_folder(root: Path, per_class: int = 12, size=(40, 30), classes=CLASSES) -> Path:
    """`root/<class>/<i>.png`, each image a flat colour that encodes its class and index."""
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.new("RGB", size, (40 * c + 10, 5 * i, 100)).save(root / name / f"{i:03d}.png")
    return root


def zip_of(folder: Path, path: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                zf.write(f, prefix + f.relative_to(folder).as_posix())
    return path


def fake_cifar_batches(folder: Path, n_train: int = 10, n_test: int = 6) -> Path:
    """CIFAR-10's python layout: batches.meta and pickled dicts with b'data' uint8 [N, 3072] (CHW) and b'labels'."""
    folder.mkdir(parents=True)
    names = [b"plane", b"car", b"bird"]
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": names, b"num_vis": 3072}))
    rng = np.random.default_rng(0)
    for name, n in [(f"data_batch_{i}", n_train) for i in range(1, 6)] + [("test_batch", n_test)]:
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        batch = {b"batch_label": name.encode(), b"labels": [i % 3 for i in range(n)], b"data": data}
        (folder / name).write_bytes(pickle.dumps(batch))
    return folder


def test_an_image_folder_gives_sorted_classes_and_a_deterministic_held_out_split(tmp_path):
    src = image_folder(tmp_path / "set", per_class=30)
    (src / "README.txt").write_text("not an image")
    train = D.load_dataset(src, "train", 16, workers=1)
    test = D.load_dataset(src, "test", 16, workers=1)
    assert train.class_names == CLASSES and train.images.shape[1:] == (16, 16, 3)
    assert train.images.dtype == np.uint8 and train.labels.dtype == np.int64
    assert len(train.images) + len(test.images) == 90 and 0 < len(test.images) < 30
    assert "sha1" in test.report["splitRule"] and train.report["ignoredFiles"] == 1
    # Each image's colour says its class: the labels follow the folders.
    assert np.all(train.images[:, 0, 0, 0] == 40 * train.labels + 10)
    again = D.load_dataset(src, "test", 16, workers=2)
    np.testing.assert_array_equal(again.images, test.images)
    train_colours = {tuple(p) for p in train.images[:, 0, 0]}
    assert not train_colours & {tuple(p) for p in test.images[:, 0, 0]}, "the splits are disjoint"


def test_a_zip_of_the_folder_wrapped_in_one_folder_gives_the_same_images(tmp_path):
    src = image_folder(tmp_path / "set")
    z = zip_of(src, tmp_path / "set.zip", prefix="myset/")
    a, b = D.load_dataset(src, "train", 8, workers=1), D.load_dataset(z, "train", 8, workers=1)
    assert b.class_names == CLASSES and b.report["kind"] == "image-folder-zip"
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)


@pytest.mark.parametrize("layout", ["subfolders", "zip-with-subfolders", "train-and-test-zips"])
def test_sources_with_train_and_test_splits_use_them(tmp_path, layout):
    train_dir = image_folder(tmp_path / "parts" / "train", per_class=4)
    image_folder(tmp_path / "parts" / "test", per_class=2, classes=CLASSES[:2])  # the test split may lack a class
    if layout == "subfolders":
        src = tmp_path / "parts"
    elif layout == "zip-with-subfolders":
        src = zip_of(tmp_path / "parts", tmp_path / "parts.zip")
    else:
        src = tmp_path / "loc"
        src.mkdir()
        zip_of(train_dir, src / "train.zip")
        zip_of(tmp_path / "parts" / "test", src / "test.zip")
    train, test = D.load_dataset(src, "train", 8, workers=1), D.load_dataset(src, "test", 8, workers=1)
    assert len(train.images) == 12 and len(test.images) == 4
    assert train.class_names == test.class_names == CLASSES
    assert test.labels.tolist() == [0, 0, 1, 1] and "test" in test.report["splitRule"]


def test_cifar_python_archive_and_its_folder_give_the_official_layout(tmp_path):
    folder = fake_cifar_batches(tmp_path / "x" / "cifar-10-batches-py")
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(folder, arcname="cifar-10-batches-py")
    batch = pickle.loads((folder / "data_batch_2").read_bytes(), encoding="bytes")
    expected = batch[b"data"][0].reshape(3, 32, 32).transpose(1, 2, 0)
    for src in (archive, folder, tmp_path / "x"):
        train = D.load_dataset(src, "train", 32)
        assert train.class_names == ["plane", "car", "bird"] and len(train.images) == 50
        np.testing.assert_array_equal(train.images[10], expected)  # the first image of the second batch
        assert len(D.load_dataset(src, "test", 32).images) == 6
    with pytest.warns(D.DataWarning, match="6 images smaller than 64 px were upscaled"):
        up = D.load_dataset(archive, "train", 64, limit=6)
    assert up.images.shape == (6, 64, 64, 3) and up.report["upscaled"] == 6 and up.report["warnings"]


def test_unreadable_and_truncated_files_are_skipped_and_counted(tmp_path):
    src = image_folder(tmp_path / "set", per_class=3)
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(buf, "JPEG")
    (src / "cat" / "truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (src / "dog" / "garbage.png").write_bytes(b"not a png at all")
    with pytest.warns(D.DataWarning, match="skipped 2 unreadable"):
        ds = D.load_dataset(src, "train", 8, workers=1, limit=None)
        ds_test = D.load_dataset(src, "test", 8, workers=1)
    assert len(ds.images) + len(ds_test.images) == 9
    skipped = ds.report["skippedUnreadable"] + ds_test.report["skippedUnreadable"]
    assert skipped == 2
    names = " ".join(ds.report["unreadableExamples"] + ds_test.report["unreadableExamples"])
    assert "truncated.jpg" in names and "garbage.png" in names


def test_other_modes_are_converted_and_counted(tmp_path):
    src = image_folder(tmp_path / "set", per_class=2)
    Image.new("L", (20, 20), 200).save(src / "cat" / "grey.png")
    Image.new("P", (20, 20), 3).save(src / "cat" / "palette.png")
    Image.new("CMYK", (20, 20), (0, 0, 0, 0)).save(src / "dog" / "cmyk.jpg")
    Image.new("RGBA", (20, 20), (0, 0, 0, 0)).save(src / "dog" / "clear.png")
    Image.fromarray(np.full((20, 20), 65535, np.uint16)).save(src / "emu" / "deep.png")
    where = {"grey.png": "cat", "palette.png": "cat", "cmyk.jpg": "dog", "clear.png": "dog", "deep.png": "emu"}
    seen = {}
    with pytest.warns(D.DataWarning, match="converted to RGB"):  # from the split(s) the files fall into
        for split in ("train", "test"):
            for mode, n in D.load_dataset(src, split, 8, workers=1).report["converted"].items():
                seen[mode] = seen.get(mode, 0) + n
    assert sum(seen.values()) == 5 and {"L", "P", "CMYK", "RGBA"} <= set(seen) and set(seen) & {"I;16", "I"}
    for name, folder in where.items():
        pixels, converted, _ = decode_module.decode_one(src / folder / name, 8)
        assert converted is not None and pixels.shape == (8, 8, 3)
    assert decode_module.decode_one(src / "emu" / "deep.png", 8)[0].min() == 255, "16-bit white stays white"
    assert decode_module.decode_one(src / "dog" / "clear.png", 8)[0].min() == 255, "transparent: white background"
    assert decode_module.decode_one(src / "cat" / "grey.png", 8)[0].max() == 200


def test_small_images_are_upscaled_with_a_warning(tmp_path):
    src = image_folder(tmp_path / "set", per_class=5, size=(10, 12))
    with pytest.warns(D.DataWarning, match="smaller than 16 px were upscaled"):
        ds = D.load_dataset(src, "train", 16, workers=1)
    assert ds.report["upscaled"] == len(ds.images) > 0 and ds.images.shape[1:] == (16, 16, 3)


def test_an_empty_class_folder_is_an_error_naming_it(tmp_path):
    src = image_folder(tmp_path / "set", per_class=2)
    (src / "ghost").mkdir()
    with pytest.raises(D.DataError, match="ghost holds no images"):
        D.load_dataset(src, "train", 8)


def test_a_single_class_is_an_error(tmp_path):
    src = image_folder(tmp_path / "set", per_class=4, classes=["only"])
    with pytest.raises(D.DataError, match="only one class"):
        D.load_dataset(src, "train", 8)


def test_more_than_1000_classes_is_an_error(tmp_path):
    z = tmp_path / "many.zip"
    buf = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buf, "PNG")
    with zipfile.ZipFile(z, "w") as zf:
        for c in range(1001):
            zf.writestr(f"c{c:04d}/0.png", buf.getvalue())
    with pytest.raises(D.DataError, match="1001 class folders, more than the 1000"):
        D.load_dataset(z, "train", 8)


def test_a_zip_that_would_unpack_past_the_limit_is_an_error_naming_it(tmp_path):
    src = image_folder(tmp_path / "set", per_class=3)
    z = zip_of(src, tmp_path / "big.zip")
    with zipfile.ZipFile(z, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("cat/zeros.bin", b"\0" * 2_000_000)  # compresses to a few KB
    assert z.stat().st_size < 100_000
    with pytest.raises(D.DataError, match="big.zip: its entries would unpack to 2,0"):
        D.load_dataset(z, "train", 8, max_unpacked_bytes=1_000_000)


def test_missing_sources_and_unknown_files_are_errors(tmp_path):
    with pytest.raises(D.DataError, match="no such file"):
        D.load_dataset(tmp_path / "nope", "train", 8)
    (tmp_path / "x.csv").write_text("a,b")
    with pytest.raises(D.DataError, match="not a folder, .zip or CIFAR-10"):
        D.load_dataset(tmp_path / "x.csv", "train", 8)
    (tmp_path / "bad.zip").write_bytes(b"PK nonsense")
    with pytest.raises(D.DataError, match="bad.zip: not a readable zip"):
        D.load_dataset(tmp_path / "bad.zip", "train", 8)


def test_the_second_load_comes_from_the_cache_without_decoding(tmp_path, monkeypatch):
    src = image_folder(tmp_path / "set", per_class=6)
    calls = []
    real = decode_module.decode_one
    monkeypatch.setattr(decode_module, "decode_one", lambda *a: calls.append(a) or real(*a))
    first = D.load_dataset(src, "train", 8, cache_dir=tmp_path / "cache", workers=1)
    decoded = len(calls)
    assert decoded == len(first.images) and first.report["cache"]["state"] == "written"
    cache_file = Path(first.report["cache"]["file"])
    mtime = cache_file.stat().st_mtime_ns
    second = D.load_dataset(src, "train", 8, cache_dir=tmp_path / "cache", workers=1)
    assert len(calls) == decoded, "no image decoded again"
    assert second.report["cache"]["state"] == "hit" and cache_file.stat().st_mtime_ns == mtime
    np.testing.assert_array_equal(first.images, second.images)
    assert second.class_names == first.class_names and second.report["perClass"] == first.report["perClass"]
    # A changed file changes the key; another size is another entry.
    victim = src / "cat" / "000.png"
    Image.new("RGB", (40, 30), (0, 0, 0)).save(victim)
    os.utime(victim, ns=(mtime + 10**9, mtime + 10**9))
    third = D.load_dataset(src, "train", 8, cache_dir=tmp_path / "cache", workers=1)
    assert len(calls) > decoded and third.report["cache"]["state"] == "written"
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 2 and not list((tmp_path / "cache").glob(".*tmp"))


def test_downscaling_is_antialiased():
    """A one-pixel checkerboard is mid-grey at any lower resolution; point sampling would keep black and white."""
    board = ((np.indices((256, 256)).sum(0) % 2) * 255).astype(np.uint8)
    rgb = Image.fromarray(np.stack([board] * 3, -1))
    small, upscaled = decode_module.square_resize(rgb, 32)
    assert not upscaled and abs(small.astype(float).mean() - 127.5) < 2 and small.std() < 2
    # A smooth ramp survives: the resize keeps low frequencies.
    ramp = np.tile(np.linspace(0, 255, 300).astype(np.uint8), (200, 1))
    out, _ = decode_module.square_resize(Image.fromarray(np.stack([ramp] * 3, -1)), 50)
    assert np.all(np.diff(out[25, :, 0].astype(int)) >= 0) and out[25, 0, 0] > 40 and out[25, -1, 0] < 215


def test_centre_crop_keeps_the_middle_of_wide_images():
    img = np.zeros((20, 60, 3), np.uint8)
    img[:, 20:40] = 255  # the central square is white, the sides black
    out, _ = decode_module.square_resize(Image.fromarray(img), 10)
    assert out.min() == 255


def test_limit_takes_a_class_balanced_subset(tmp_path):
    src = image_folder(tmp_path / "set", per_class=20)
    ds = D.load_dataset(src, "train", 8, limit=9, workers=1)
    assert np.bincount(ds.labels).tolist() == [3, 3, 3]
