"""The decoded pixels of one stored image: a stack of frames with what is known about it.

Every source format (PNG/JPEG/TIFF, DICOM single- and multi-frame, a DICOM series,
NIfTI) is decoded into one :class:`Volume`, so the renderers and the tools work on a
single shape. Grey images keep their stored values (Hounsfield units for CT, after
the rescale slope/intercept); colour images are 8-bit RGB.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageSequence, UnidentifiedImageError

from knowledge.imaging.errors import ImageError
from knowledge.imaging.windowing import Window, auto_window

DEFAULT_MAX_SOURCE_PIXELS = 400_000_000
"""Largest total pixel count (all frames) accepted from one source: a decompression-bomb guard."""

MAX_FRAME_PIXELS = 100_000_000
"""Largest single frame (width x height) accepted from any source, checked before decoding."""

MAX_ASPECT_RATIO = 200
"""Longest side over shortest side accepted from a source: Qwen2.5-VL's processor refuses
images beyond 200:1, and a 1 x 40,000,000 strip only costs memory and time to decode."""

PICTURE_FORMATS = ("PNG", "JPEG", "TIFF", "BMP", "WEBP")
"""The picture formats Pillow is allowed to open (no EPS/PSD/... decoders on user files)."""


@dataclass
class Volume:
    """Frames of one image: ``(frames, height, width)`` grey values or ``(..., 3)`` RGB uint8."""

    pixels: np.ndarray
    modality: str = "image"
    photometric: str = "MONOCHROME2"
    """MONOCHROME1 (shown inverted), MONOCHROME2, or RGB (colour sources are converted to RGB)."""
    units: str = ""
    """``HU`` for CT after rescale; empty when the values have no physical unit."""
    window: Window | None = None
    """Default display window: the file's own, else ``auto``; None for 8-bit grey (shown as is)."""
    spacing: tuple[float, float] | None = None
    """Pixel spacing (row, column) in mm, when known."""
    positions: list[float] | None = None
    """Each frame's position in mm along the slice normal, when known (series, NIfTI)."""
    slice_spacing: float | None = None
    tags: dict[str, Any] = field(default_factory=dict)
    """Descriptive, non-identifying facts (DICOM tags, source format, transfer syntax)."""

    def __post_init__(self) -> None:
        if self.pixels.ndim == 2 or (
            self.pixels.ndim == 3 and self.pixels.shape[-1] == 3 and self.color
        ):
            self.pixels = self.pixels[np.newaxis]
        if self.window is None and not self.color and self.pixels.dtype != np.uint8:
            self.window = auto_window(self.pixels)

    @property
    def color(self) -> bool:
        return self.photometric == "RGB"

    @property
    def frames(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[2])

    def meta(self) -> dict[str, Any]:
        """Everything but the pixels, as JSON-ready data."""
        return {
            "modality": self.modality,
            "photometric": self.photometric,
            "units": self.units,
            "window": self.window.as_dict() if self.window else None,
            "spacing": list(self.spacing) if self.spacing else None,
            "positions": self.positions,
            "slice_spacing": self.slice_spacing,
            "tags": self.tags,
        }


def check_pixel_count(count: int, limit: int, name: str) -> None:
    if count > limit:
        raise ImageError(
            f"{name}: {count:,} pixels exceeds the limit of {limit:,} "
            "(refused as a possible decompression bomb)"
        )


def check_shape(width: int, height: int, frames: int, limit: int, name: str) -> None:
    """Refuse, before any pixel is decoded, a source that is empty, too large or too thin.

    Raises:
        ImageError: no pixels; more than ``limit`` pixels in all or
            :data:`MAX_FRAME_PIXELS` in one frame; an aspect ratio beyond
            :data:`MAX_ASPECT_RATIO`.
    """
    if width < 1 or height < 1 or frames < 1:
        raise ImageError(f"{name}: image has no pixels ({width}x{height}, {frames} frame(s))")
    check_pixel_count(width * height, min(limit, MAX_FRAME_PIXELS), name)
    check_pixel_count(width * height * frames, limit, name)
    ratio = max(width, height) / min(width, height)
    if ratio > MAX_ASPECT_RATIO:
        raise ImageError(
            f"{name}: {width}x{height} pixels has an aspect ratio of {ratio:,.0f}:1; "
            f"at most {MAX_ASPECT_RATIO}:1 is accepted (the vision model refuses thinner "
            "images): crop or split it"
        )


def check_bytes(pixels: int, bytes_per_pixel: int, limit: int, name: str) -> None:
    """Refuse a source whose decoded pixels would take more than ``2 * limit`` bytes.

    :func:`check_shape` counts pixels, and ``limit`` pixels of 16 bits is what a CT
    volume costs; a colour pixel takes three bytes and a float64 voxel eight, so a small
    compressed file within the pixel count could still decode to gigabytes (a 6 MB
    .nii.gz of float64 zeros: 2.9 GB).
    """
    if pixels * bytes_per_pixel > 2 * limit:
        raise ImageError(
            f"{name}: {pixels:,} pixels of {bytes_per_pixel} bytes each would take "
            f"{pixels * bytes_per_pixel / 1e6:,.0f} MB decoded, over the limit of "
            f"{2 * limit / 1e6:,.0f} MB (refused as a possible decompression bomb)"
        )


def save_npz(volume: Volume, target: Path) -> None:
    """Write a volume as an uncompressed ``.npz`` (pixels + JSON metadata)."""
    tmp = target.with_name(target.name + ".part")
    with tmp.open("wb") as fh:
        np.savez(fh, pixels=volume.pixels, meta=np.array(json.dumps(volume.meta())))
    tmp.replace(target)


def load_npz(path: Path) -> Volume:
    with np.load(path, allow_pickle=False) as data:
        pixels = data["pixels"]
        meta = json.loads(str(data["meta"]))
    win = meta.get("window")
    return Volume(
        pixels=pixels,
        modality=meta["modality"],
        photometric=meta["photometric"],
        units=meta["units"],
        window=Window(win["center"], win["width"], win.get("name", "")) if win else None,
        spacing=(float(meta["spacing"][0]), float(meta["spacing"][1]))
        if meta.get("spacing")
        else None,
        positions=meta.get("positions"),
        slice_spacing=meta.get("slice_spacing"),
        tags=meta.get("tags", {}),
    )


_GREY_MODES = {"L", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"}
_MODE_BYTES = {"1": 1, "L": 1, "LA": 1, "La": 1, "P": 3, "I;16": 2, "I;16L": 2, "I;16B": 2}
_MODE_BYTES |= {"I;16N": 2, "I": 4, "F": 4}
_ANIMATED = {"PNG", "WEBP"}
"""Formats whose extra frames are an animation (APNG, animated WebP), not pages or slices."""


def load_picture(path: Path, *, max_source_pixels: int = DEFAULT_MAX_SOURCE_PIXELS) -> Volume:
    """Decode a PNG/JPEG/TIFF/BMP/WebP file; multi-page TIFFs become a stack of frames.

    The header's size is checked (:func:`check_shape`) before any pixel is decoded.

    Raises:
        ImageError: anything that is not a readable picture of an accepted size.
    """
    try:
        with Image.open(path, formats=PICTURE_FORMATS) as img:
            check_shape(img.width, img.height, 1, max_source_pixels, path.name)
            fmt = img.format or ""
            count = int(getattr(img, "n_frames", 1) or 1)
            tags: dict[str, Any] = {}
            if count > 1 and fmt in _ANIMATED:
                # An animation's frames are not slices: its first frame is the picture.
                # (95 frames of 2,000 x 2,000 in a 1.5 MB APNG took 12 s and 2.3 GB.)
                tags["animation_frames"] = count
                count = 1
            depth = _MODE_BYTES.get(img.mode, 3)  # decoded bytes per pixel (colour: RGB)
            check_shape(img.width, img.height, count, max_source_pixels, path.name)
            pixels = img.width * img.height * count
            check_bytes(pixels, depth, max_source_pixels, path.name)
            stack, kept = _decode_frames(img, count)
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{path.name}: refused as a possible decompression bomb ({exc})") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"{path.name}: not a readable image ({exc})") from exc
    except Exception as exc:  # a damaged file can trip any of Pillow's decoders
        raise ImageError(
            f"{path.name}: not a readable image ({type(exc).__name__}: {exc})"
        ) from exc
    if stack is None:
        raise ImageError(f"{path.name}: not a readable image (no frame could be decoded)")
    stack = stack[:kept]
    color = stack.ndim == 4
    return Volume(
        pixels=stack,
        photometric="RGB" if color else "MONOCHROME2",
        tags={"format": fmt, "bit_depth": int(stack.dtype.itemsize * 8), **tags},
    )


def _decode_frames(img: Image.Image, count: int) -> tuple[np.ndarray | None, int]:
    """Up to ``count`` frames of the first frame's size and kind, and how many there are."""
    first = img.size
    stack: np.ndarray | None = None
    kept = 0
    for page in ImageSequence.Iterator(img):
        # Each page's header is read before its pixels: a multi-page TIFF whose
        # later page claims another size (a 10 x 10 page, then 9,000 x 9,000) is
        # cut at that page, never decoded past what check_shape allowed.
        if kept == count or page.size != first:
            break
        frame = _frame_array(page)
        if stack is None:  # filled in place: no second copy of every frame
            stack = np.empty((count, *frame.shape), dtype=frame.dtype)
        elif frame.shape != stack.shape[1:] or frame.dtype != stack.dtype:
            break  # pages of another kind: keep those before it
        stack[kept] = frame
        kept += 1
    return stack, kept


def _frame_array(page: Image.Image) -> np.ndarray:
    if page.mode in _GREY_MODES:
        return np.asarray(page)
    if page.mode in {"1", "LA", "La"}:
        return np.asarray(page.convert("L"))
    return np.asarray(page.convert("RGB"))
