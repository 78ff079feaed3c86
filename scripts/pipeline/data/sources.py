"""What a data source holds, before anything is decoded: its kind, its class names and the images of one split.

A source is one of
- an image folder `<class>/<image>` (torchvision's ImageFolder convention, images at any depth below the class
  folder), on disk or as a zip; a single folder wrapping it (a zip of `myset/<class>/...`) is looked through;
- a folder or zip holding both splits: `train/` and `test/` image folders, or `train.zip` and `test.zip`;
- CIFAR-10's python archive `cifar-10-python.tar.gz` or its extracted `cifar-10-batches-py` folder (or a folder
  holding either).
An image folder without splits gets a deterministic held-out test set: the files whose path hashes into the first
HELD_OUT_PERCENT of the hash range, so that adding images never moves an old one between splits.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
SPLITS = ("train", "test")
HELD_OUT_PERCENT = 10
MAX_CLASSES = 1000
CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR_BATCHES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}


class DataError(ValueError):
    """A data source that cannot be used as it is; the message names the file or folder and what is wrong."""


@dataclass
class Entry:
    """One image to decode: a file on disk (container None) or a member of the zip `container`."""

    name: str
    label: int
    container: Optional[str] = None


@dataclass
class Listing:
    kind: str  # "image-folder", "image-folder-zip", "cifar10-python"
    origin: str  # the file or folder the images of this split come from
    class_names: List[str]
    entries: List[Entry] = field(default_factory=list)  # image sources
    cifar_members: List[str] = field(default_factory=list)  # CIFAR: the pickled batches of this split
    split_rule: str = ""
    ignored_files: int = 0  # files that are not images (by extension) or lie outside any class folder
    fingerprint: str = ""  # what the cache key hashes: changes whenever the source's files do


def _stat_key(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"


def _is_hidden(parts: Tuple[str, ...]) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def _is_image(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def _zip_tree(path: Path, max_unpacked_bytes: int) -> Tuple[List[str], List[str]]:
    """(files, folders) of a zip, after checking what it would unpack to (the sizes in its headers, which
    zipfile also holds each member's reading to)."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{path}: not a readable zip file ({exc})") from exc
    with zf:
        infos = zf.infolist()
    total = sum(i.file_size for i in infos)
    if total > max_unpacked_bytes:
        raise DataError(
            f"{path}: its entries would unpack to {total:,} bytes, more than the limit of {max_unpacked_bytes:,} "
            "(max_unpacked_bytes / --max-unpacked-bytes)"
        )
    files = [i.filename for i in infos if not i.is_dir()]
    folders = [i.filename.rstrip("/") for i in infos if i.is_dir()]
    return files, folders


def _disk_tree(root: Path) -> Tuple[List[str], List[str]]:
    files, folders = [], []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames.sort()
        rel = Path(dirpath).relative_to(root)
        if rel != Path("."):
            folders.append(rel.as_posix())
        files.extend((rel / f).as_posix() for f in sorted(filenames))
    return files, folders


def _strip_wrapper(files: List[str], folders: List[str]) -> Tuple[str, List[str], List[str]]:
    """Looks through single folders that wrap everything (`myset/<class>/<image>`): strips a common first part
    while every file lies at least three levels deep below it."""
    prefix = ""
    while True:
        parts = [f.split("/") for f in files if not _is_hidden(tuple(f.split("/")))]
        firsts = {p[0] for p in parts}
        if not parts or len(firsts) != 1 or any(len(p) < 3 for p in parts) or firsts & set(SPLITS):
            return prefix, files, folders
        head = firsts.pop() + "/"
        prefix += head
        files = [f[len(head) :] for f in files if f.startswith(head)]
        folders = [d[len(head) :] for d in folders if d.startswith(head)]


def _class_listing(
    origin: str, files: List[str], folders: List[str], container: Optional[str], describe_root: str
) -> Tuple[List[str], List[Tuple[str, str]], int]:
    """(class names, [(class, file)], ignored) of an image folder's tree; errors for empty classes."""
    by_class: Dict[str, List[str]] = {}
    for d in folders:
        parts = tuple(d.split("/"))
        if len(parts) == 1 and not _is_hidden(parts):
            by_class.setdefault(parts[0], [])
    ignored = 0
    for f in files:
        parts = tuple(f.split("/"))
        if _is_hidden(parts):
            continue
        if len(parts) < 2 or not _is_image(f):
            ignored += 1
            continue
        by_class.setdefault(parts[0], []).append(f)
    empty = sorted(c for c, fs in by_class.items() if not fs)
    if empty:
        where = ", ".join(f"{describe_root}/{c}" for c in empty[:5])
        raise DataError(f"{origin}: class folder {where} holds no images" + (" (and more)" if len(empty) > 5 else ""))
    names = sorted(by_class)
    if not names:
        raise DataError(f"{origin}: no class folders with images (expected <class>/<image>, e.g. cat/001.jpg)")
    if len(names) > MAX_CLASSES:
        raise DataError(f"{origin}: {len(names)} class folders, more than the {MAX_CLASSES} a pack supports")
    return names, [(c, f) for c in names for f in by_class[c]], ignored


def _held_out(rel: str) -> bool:
    return int(hashlib.sha1(rel.encode()).hexdigest()[:8], 16) % 100 < HELD_OUT_PERCENT


def _tree_listing(
    source: Path, split: str, kind: str, files: List[str], folders: List[str], container: Optional[str]
) -> Listing:
    prefix, files, folders = _strip_wrapper(files, folders)
    tops = {f.split("/")[0] for f in files if "/" in f} | {d.split("/")[0] for d in folders}
    root_name = f"{source}" + (f"/{prefix.rstrip('/')}" if prefix else "")
    if "train" in tops and "test" in tops:
        # Classes come from the training split; the test split may lack some but must not add any.
        per_split = {}
        for s in SPLITS:
            sub = [f[len(s) + 1 :] for f in files if f.startswith(s + "/")]
            subdirs = [d[len(s) + 1 :] for d in folders if d.startswith(s + "/")]
            per_split[s] = _class_listing(str(source), sub, subdirs, container, f"{root_name}/{s}")
        names = per_split["train"][0]
        extra = sorted(set(per_split["test"][0]) - set(names))
        if extra:
            raise DataError(f"{root_name}/test: class folders {extra[:5]} are not in {root_name}/train")
        _, pairs, ignored = per_split[split]
        pairs = [(c, f"{split}/{f}") for c, f in pairs]
        rule = f"the source's {split}/ folder"
    else:
        names, pairs, ignored = _class_listing(str(source), files, folders, container, root_name)
        pairs = [(c, f) for c, f in pairs if _held_out(f) == (split == "test")]
        rule = (
            f"no splits in the source: the test split is the {HELD_OUT_PERCENT}% of files whose sha1(path) falls "
            f"in the first {HELD_OUT_PERCENT}% of the hash range, the train split the rest"
        )
    index = {c: i for i, c in enumerate(names)}
    if container is None:
        entries = [Entry(str(source / prefix / f), index[c]) for c, f in pairs]
    else:
        entries = [Entry(prefix + f, index[c], container) for c, f in pairs]
    return Listing(kind, str(source), names, entries, split_rule=rule, ignored_files=ignored)


def _cifar_meta(read) -> List[str]:
    meta = pickle.loads(read("batches.meta"), encoding="bytes")
    return [n.decode() if isinstance(n, bytes) else n for n in meta[b"label_names"]]


def _cifar_listing(path: Path, split: str, max_unpacked_bytes: int) -> Listing:
    members = CIFAR_BATCHES[split]
    if path.is_dir():
        missing = [m for m in ["batches.meta", *members] if not (path / m).exists()]
        if missing:
            raise DataError(f"{path}: CIFAR-10 batches folder without {', '.join(missing)}")
        names = _cifar_meta(lambda m: (path / m).read_bytes())
        fp = "|".join(_stat_key(path / m) for m in ["batches.meta", *members])
    else:
        try:
            with tarfile.open(path, "r:*") as tf:
                infos = {i.name: i for i in tf.getmembers()}
                total = sum(i.size for i in infos.values())
                if total > max_unpacked_bytes:
                    raise DataError(
                        f"{path}: its members would unpack to {total:,} bytes, more than the limit of "
                        f"{max_unpacked_bytes:,}"
                    )
                missing = [m for m in ["batches.meta", *members] if f"{CIFAR_FOLDER}/{m}" not in infos]
                if missing:
                    raise DataError(f"{path}: not CIFAR-10's python archive (no {CIFAR_FOLDER}/{missing[0]})")
                names = _cifar_meta(lambda m: tf.extractfile(f"{CIFAR_FOLDER}/{m}").read())
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise DataError(f"{path}: not a readable tar.gz archive ({exc})") from exc
        fp = _stat_key(path)
    if not 2 <= len(names) <= MAX_CLASSES:
        raise DataError(f"{path}: batches.meta lists {len(names)} classes (2 to {MAX_CLASSES} are supported)")
    return Listing(
        "cifar10-python",
        str(path),
        names,
        cifar_members=members,
        split_rule=f"CIFAR-10's own {split} batches ({', '.join(members)})",
        fingerprint=f"cifar:{fp}:{split}",
    )


def list_source(source: str | os.PathLike, split: str, max_unpacked_bytes: int) -> Listing:
    """The Listing of one split of a source (see the module docstring), or a DataError saying why not."""
    if split not in SPLITS:
        raise DataError(f"split must be one of {SPLITS}, not {split!r}")
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir():
        if (path / CIFAR_FOLDER / "batches.meta").exists():
            return _cifar_listing(path / CIFAR_FOLDER, split, max_unpacked_bytes)
        if (path / "batches.meta").exists():
            return _cifar_listing(path, split, max_unpacked_bytes)
        if (path / CIFAR_ARCHIVE).exists():
            return _cifar_listing(path / CIFAR_ARCHIVE, split, max_unpacked_bytes)
        if (path / "train.zip").exists() and (path / "test.zip").exists():
            listing = _zip_listing(path / f"{split}.zip", "train", max_unpacked_bytes, whole_split=True)
            if split == "test":  # the class names of both splits are the training split's
                train = _zip_listing(path / "train.zip", "train", max_unpacked_bytes, whole_split=True)
                _relabel(listing, train.class_names)
            listing.split_rule = f"the source's {split}.zip"
            return listing
        files, folders = _disk_tree(path)
        listing = _tree_listing(path, split, "image-folder", files, folders, None)
        listing.fingerprint = (
            "folder:" + hashlib.sha1("\n".join(_stat_key(Path(e.name)) for e in listing.entries).encode()).hexdigest()
        )
        return listing
    name = path.name.lower()
    if name.endswith((".tar.gz", ".tgz", ".tar")):
        return _cifar_listing(path, split, max_unpacked_bytes)
    if name.endswith(".zip"):
        return _zip_listing(path, split, max_unpacked_bytes)
    raise DataError(f"{path}: not a folder, .zip or CIFAR-10 .tar.gz")


def _zip_listing(path: Path, split: str, max_unpacked_bytes: int, whole_split: bool = False) -> Listing:
    """A zip of an image folder (with or without train/ and test/); whole_split: the zip is one split's images."""
    files, folders = _zip_tree(path, max_unpacked_bytes)
    if whole_split:
        prefix, files, folders = _strip_wrapper(files, folders)
        names, pairs, ignored = _class_listing(str(path), files, folders, str(path), str(path))
        index = {c: i for i, c in enumerate(names)}
        entries = [Entry(prefix + f, index[c], str(path)) for c, f in pairs]
        listing = Listing("image-folder-zip", str(path), names, entries, ignored_files=ignored)
    else:
        listing = _tree_listing(path, split, "image-folder-zip", files, folders, str(path))
    listing.fingerprint = f"zip:{_stat_key(path)}:{split}"
    return listing


def _relabel(listing: Listing, class_names: List[str]) -> None:
    """Gives a test split's entries the training split's class indices."""
    extra = sorted(set(listing.class_names) - set(class_names))
    if extra:
        raise DataError(f"{listing.origin}: class folders {extra[:5]} are not in the training split")
    index = {c: i for i, c in enumerate(class_names)}
    for e in listing.entries:
        e.label = index[listing.class_names[e.label]]
    listing.class_names = list(class_names)
