"""Decoding images to uint8 RGB squares of one size: other modes converted, a centre crop, an antialiased resize.

Each function returns what it did, counted, so that the data report can say how many images were skipped (and
why), converted (from which mode) or upscaled.
"""
from __future__ import annotations

import io
import zipfile
from collections import Counter
from typing import List, Optional, Tuple

import numpy as np

# Reduction by an integer factor with a box filter first while the image is at least REDUCING_GAP times the target,
# then Lanczos (PIL's reducing_gap): antialiased, and fast for large photos.
REDUCING_GAP = 2.0
RESAMPLE = "PIL LANCZOS after a centre crop, reducing_gap 2.0 (box reduction first for large images)"
UPSAMPLE = "PIL BICUBIC"
BACKGROUND = (255, 255, 255)  # what transparent pixels become


def to_rgb(im) -> Tuple[object, Optional[str]]:
    """(RGB image, the mode it was converted from or None). Transparency is composited over white; 16- and 32-bit
    greyscale is scaled to 8 bits by its nominal range instead of clipped."""
    from PIL import Image

    mode = im.mode
    if mode == "RGB":
        return im, None
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or arr.max() > 255 else 255.0
        grey = np.clip(np.round(arr / top * 255.0), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB"), mode
    if mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        base = Image.new("RGBA", rgba.size, BACKGROUND + (255,))
        return Image.alpha_composite(base, rgba).convert("RGB"), mode
    return im.convert("RGB"), mode


def square_resize(im, size: int) -> Tuple[np.ndarray, bool]:
    """(uint8 [size, size, 3], upscaled): the centred square of the image, resized to `size`."""
    from PIL import Image

    w, h = im.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    box = (left, top, left + side, top + side)
    # Crop first: resize(box=...) would let its filter reach pixels outside the square.
    square = im.crop(box) if (w, h) != (side, side) else im
    if side == size:
        return np.asarray(square, dtype=np.uint8), False
    if side < size:
        return np.asarray(square.resize((size, size), Image.BICUBIC), dtype=np.uint8), True
    out = square.resize((size, size), Image.LANCZOS, reducing_gap=REDUCING_GAP)
    return np.asarray(out, dtype=np.uint8), False


def decode_one(data_or_path, size: int) -> Tuple[np.ndarray, Optional[str], bool]:
    """Decodes one image fully (a truncated file raises here, not later); (pixels, converted-from mode, upscaled)."""
    from PIL import Image, ImageOps

    with Image.open(data_or_path) as im:
        im.load()
        try:
            im = ImageOps.exif_transpose(im)
        except (ValueError, TypeError, KeyError):  # malformed EXIF: keep the stored orientation
            pass
        rgb, converted = to_rgb(im)
        pixels, upscaled = square_resize(rgb, size)
    return pixels, converted, upscaled


def decode_chunk(args: Tuple[Optional[str], List[str], int]) -> Tuple[np.ndarray, np.ndarray, dict]:
    """Decodes files on disk (container None) or members of one zip; (images of the readable ones, their
    positions in `names`, counts). Runs in a worker process, so it takes and returns plain data."""
    from PIL import Image

    container, names, size = args
    out = np.empty((len(names), size, size, 3), dtype=np.uint8)
    kept: List[int] = []
    converted: Counter = Counter()
    upscaled, unreadable = 0, []
    zf = zipfile.ZipFile(container) if container else None
    try:
        for i, name in enumerate(names):
            try:
                src = io.BytesIO(zf.read(name)) if zf else name
                pixels, mode, up = decode_one(src, size)
            except (OSError, ValueError, SyntaxError, zipfile.BadZipFile, Image.DecompressionBombError) as exc:
                unreadable.append(f"{name}: {type(exc).__name__}: {str(exc)[:120]}")
                continue
            out[len(kept)] = pixels
            kept.append(i)
            if mode:
                converted[mode] += 1
            upscaled += up
    finally:
        if zf:
            zf.close()
    counts = dict(converted=dict(converted), upscaled=upscaled, unreadable=unreadable)
    return out[: len(kept)], np.array(kept, dtype=np.int64), counts


def resize_array(images: np.ndarray, size: int) -> Tuple[np.ndarray, int]:
    """uint8 [N, s, s, 3] square images (CIFAR's) to `size`; (images, how many were upscaled)."""
    from PIL import Image

    if images.shape[1] == size:
        return images, 0
    out = np.empty((len(images), size, size, 3), dtype=np.uint8)
    upscaled = 0
    for i, img in enumerate(images):
        out[i], up = square_resize(Image.fromarray(img), size)
        upscaled += up
    return out, upscaled
