"""Content-addressed image files under the data directory.

Each image a user gives is decoded once (a corrupt file is refused here, before it
reaches any session) and kept as ``<root>/<sha256>.<ext>``: the original bytes for a
picture, a DICOM file or a NIfTI file, and a ``.npz`` volume for a folder of DICOM
slices. A resumed session therefore still has its images even when the original
path is gone. Derived images (crops, windowed views, slices) are stored as PNG the
same way. What the model is sent is resized within the pixel budget (and padded to
at most 200:1, the vision processor's limit); the stored original keeps its full
resolution for later zooms. Every file is held by the sessions that use it
(:mod:`knowledge.imaging.refs`): deleting a session deletes the images no other
session holds. Both in-memory caches (decoded volumes, model data URLs) are bounded
by bytes.
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from knowledge.imaging.cache import BoundedCache
from knowledge.imaging.derive import View, render
from knowledge.imaging.dicom import is_dicom, read_dicom
from knowledge.imaging.errors import ImageError
from knowledge.imaging.nifti import is_nifti, read_nifti
from knowledge.imaging.refs import ImageRefs, image_owner, session_owner
from knowledge.imaging.series import read_series
from knowledge.imaging.volume import (
    DEFAULT_MAX_SOURCE_PIXELS,
    MAX_ASPECT_RATIO,
    Volume,
    load_npz,
    load_picture,
    save_npz,
)
from knowledge.imaging.windowing import Window

PATCH = 28
"""Qwen2.5-VL turns every 28x28 patch of the resized image into one token."""

DEFAULT_MIN_PIXELS = 256 * PATCH * PATCH
DEFAULT_MAX_PIXELS = 1280 * PATCH * PATCH
DEFAULT_CACHE_BYTES = 512 * 1024**2
"""Decoded volumes kept in memory (least recently used first out)."""
DEFAULT_URL_CACHE_BYTES = 64 * 1024**2
"""Model data URLs kept in memory (least recently used first out)."""

_PICTURE_EXT = {
    "PNG": "png",
    "JPEG": "jpg",
    "MPO": "jpg",  # a JPEG with more pictures in it (phone cameras): Pillow names it MPO
    "TIFF": "tiff",
    "BMP": "bmp",
    "WEBP": "webp",
}

__all__ = [
    "PATCH",
    "BoundedCache",
    "ImageError",
    "ImageInfo",
    "ImageStore",
    "describe",
    "fit_pixels",
    "model_image",
]


@dataclass(frozen=True)
class ImageInfo:
    """A stored image and what is known about it (no patient identifiers)."""

    sha256: str
    path: Path
    width: int
    height: int
    format: str
    """PNG, JPEG, TIFF, BMP, WEBP, DICOM, DICOM-SERIES or NIfTI."""
    source_name: str
    modality: str = "image"
    """DICOM Modality (CT, MR, US, CR ...), ``NIfTI``, or ``image`` for a picture."""
    frames: int = 1
    units: str = ""
    spacing: tuple[float, float] | None = None
    slice_spacing: float | None = None
    window: dict[str, Any] | None = None
    tags: dict[str, Any] = field(default_factory=dict)

    def label(self) -> str:
        size = f"{self.width}x{self.height}" + (f"x{self.frames}" if self.frames > 1 else "")
        return f"{self.source_name} ({self.modality}, {size})"

    def summary(self) -> str:
        """One line of facts for the model, e.g. ``CT 512x512, 300 slices/frames, 0.7 mm/pixel``."""
        return describe(self.citation())

    def citation(self) -> dict[str, Any]:
        """The citation of this image's evidence record (what tools and the references need)."""
        return {
            "path": str(self.path),
            "source_path": str(self.path),
            "sha256": self.sha256,
            "width": self.width,
            "height": self.height,
            "frames": self.frames,
            "source_name": self.source_name,
            "format": self.format,
            "modality": self.modality,
            "units": self.units,
            "spacing": list(self.spacing) if self.spacing else None,
            "slice_spacing": self.slice_spacing,
            "window": self.window,
            "dicom": dict(self.tags) if self.format.startswith("DICOM") else {},
            "tags": {} if self.format.startswith("DICOM") else dict(self.tags),
            "view": View().as_dict(),
        }


def describe(citation: Mapping[str, Any]) -> str:
    """Short facts of an image citation: modality, size, frames, slice, spacing, window, method."""
    parts = [f"{citation.get('modality', 'image')} {citation['width']}x{citation['height']}"]
    if citation.get("frames", 1) > 1:
        parts.append(f"{citation['frames']} slices/frames")
    if citation.get("slice") is not None:
        parts.append(f"slice {citation['slice']}")
    if citation.get("spacing"):
        parts.append(f"{citation['spacing'][1]:g} mm/pixel")
    view = citation.get("view") or {}
    win = view.get("window") or citation.get("window")
    if win:
        parts.append(Window(win["center"], win["width"], win.get("name", "")).describe())
    if view.get("method"):
        parts.append(f"enhanced ({view['method']})")
    return ", ".join(parts)


def padded_size(width: int, height: int) -> tuple[int, int]:
    """The canvas an image is padded to so its aspect ratio is at most 200:1."""
    if width <= 0 or height <= 0:
        raise ImageError(f"image has no pixels ({width}x{height})")
    if width > MAX_ASPECT_RATIO * height:
        return width, math.ceil(width / MAX_ASPECT_RATIO)
    if height > MAX_ASPECT_RATIO * width:
        return math.ceil(height / MAX_ASPECT_RATIO), height
    return width, height


def fit_pixels(width: int, height: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """The size the model is sent: Qwen2.5-VL's ``smart_resize`` of the padded image.

    Sides are multiples of 28, the aspect ratio is kept (up to rounding; beyond 200:1
    the image is padded first, see :func:`padded_size`), and the result never holds
    more than ``max_pixels`` pixels nor an aspect ratio beyond 200:1 (as long as
    ``max_pixels`` is at least one 28x28 patch).
    """
    width, height = padded_size(width, height)
    h = max(PATCH, round(height / PATCH) * PATCH)
    w = max(PATCH, round(width / PATCH) * PATCH)
    if h * w > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h = max(PATCH, math.floor(height / beta / PATCH) * PATCH)
        w = max(PATCH, math.floor(width / beta / PATCH) * PATCH)
    elif h * w < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h = math.ceil(height * beta / PATCH) * PATCH
        w = math.ceil(width * beta / PATCH) * PATCH
    w, h = min(w, MAX_ASPECT_RATIO * h), min(h, MAX_ASPECT_RATIO * w)
    while w * h > max_pixels and max(w, h) > PATCH:  # rounding (or min_pixels) overshot
        if w >= h:
            w -= PATCH
        else:
            h -= PATCH
    return w, h


def model_image(img: Image.Image, min_pixels: int, max_pixels: int) -> Image.Image:
    """``img`` as the model is sent it: padded beyond 200:1 (black bars), then resized."""
    size = fit_pixels(img.width, img.height, min_pixels, max_pixels)
    if padded_size(img.width, img.height) == img.size:
        return img if size == img.size else img.resize(size, Image.Resampling.BICUBIC)
    # Too thin: scale the content so its long side fills the target, centre it on black.
    factor = max(size) / max(img.size)
    inner = (max(1, round(img.width * factor)), max(1, round(img.height * factor)))
    inner = (min(inner[0], size[0]), min(inner[1], size[1]))
    canvas = Image.new(img.mode, size)
    canvas.paste(
        img.resize(inner, Image.Resampling.BICUBIC),
        ((size[0] - inner[0]) // 2, (size[1] - inner[1]) // 2),
    )
    return canvas


class ImageStore:
    """Images kept on disk by content hash, with a small cache of decoded volumes."""

    def __init__(
        self,
        root: Path,
        *,
        allowed_dirs: Sequence[str | Path] | None = None,
        max_source_pixels: int = DEFAULT_MAX_SOURCE_PIXELS,
        min_pixels: int = DEFAULT_MIN_PIXELS,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        url_cache_bytes: int = DEFAULT_URL_CACHE_BYTES,
    ) -> None:
        self.root = Path(root)
        self.allowed_dirs = (
            [Path(d).expanduser().resolve() for d in allowed_dirs] if allowed_dirs else None
        )
        """When set, :meth:`add` accepts only files inside these folders."""
        self.max_source_pixels = max_source_pixels
        self.min_pixels = min_pixels
        self.max_pixels = max_pixels
        """Pixel budget of what the model is sent (also caps stored derived images)."""
        self.volumes: BoundedCache[Volume] = BoundedCache(cache_bytes, lambda v: v.pixels.nbytes)
        """Decoded volumes by stored path."""
        self.urls: BoundedCache[str] = BoundedCache(url_cache_bytes, len)
        """Model data URLs by (stored path, min_pixels, max_pixels)."""
        self.refs = ImageRefs(self.root)

    # --- adding ------------------------------------------------------------------------
    def add(self, source: str | Path) -> ImageInfo:
        """Decode, validate and store an image file or DICOM series folder.

        Raises:
            ImageError: unreadable, unsupported, too large, or outside the allowed folders.
        """
        src = self._allowed(Path(source).expanduser())
        if src.is_dir():
            volume, sha = read_series(src, max_source_pixels=self.max_source_pixels)
            target = self.root / f"{sha}.npz"
            self.root.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                save_npz(volume, target)
            return self._remember(target, volume, sha, "DICOM-SERIES", src.name)
        if not src.is_file():
            raise ImageError(f"{src.name}: no such image file")
        data = src.read_bytes()
        if not data:
            raise ImageError(f"{src.name}: empty file")
        volume, fmt, ext = self._decode_source(src, data)
        sha = hashlib.sha256(data).hexdigest()
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.root / f"{sha}.{ext}"
        if not target.exists():
            tmp = target.with_name(target.name + ".part")
            shutil.copyfile(src, tmp)
            tmp.replace(target)
        return self._remember(target, volume, sha, fmt, src.name)

    def _allowed(self, src: Path) -> Path:
        resolved = src.resolve()
        if self.allowed_dirs is not None and not any(
            resolved.is_relative_to(d) for d in self.allowed_dirs
        ):
            raise ImageError(f"{src}: outside the allowed input folders")
        return resolved

    def _decode_source(self, src: Path, data: bytes) -> tuple[Volume, str, str]:
        if is_nifti(src.name):
            ext = "nii.gz" if src.name.lower().endswith(".gz") else "nii"
            return read_nifti(src, max_source_pixels=self.max_source_pixels), "NIfTI", ext
        if is_dicom(data[:132], src.name):
            return read_dicom(src, max_source_pixels=self.max_source_pixels), "DICOM", "dcm"
        volume = load_picture(src, max_source_pixels=self.max_source_pixels)
        fmt = str(volume.tags.get("format", ""))
        picture_ext = _PICTURE_EXT.get(fmt)
        if picture_ext is None:
            raise ImageError(f"{src.name}: unsupported image format {fmt or 'unknown'}")
        return volume, fmt, picture_ext

    def _remember(self, target: Path, volume: Volume, sha: str, fmt: str, name: str) -> ImageInfo:
        self._put(str(target), volume)
        return ImageInfo(
            sha256=sha,
            path=target,
            width=volume.width,
            height=volume.height,
            format=fmt,
            source_name=name,
            modality=volume.modality,
            frames=volume.frames,
            units=volume.units,
            spacing=volume.spacing,
            slice_spacing=volume.slice_spacing,
            window=volume.window.as_dict() if volume.window else None,
            tags=volume.tags,
        )

    # --- reading -----------------------------------------------------------------------
    def volume(self, path: str | Path) -> Volume:
        """The decoded pixels of a stored file (cached; stored files never change)."""
        key = str(path)
        found = self.volumes.get(key)
        if found is not None:
            return found
        p = Path(path)
        if not p.is_file():
            raise ImageError(f"stored image {p.name} is missing")
        name = p.name.lower()
        if name.endswith(".npz"):
            vol = load_npz(p)
        elif is_nifti(name):
            vol = read_nifti(p, max_source_pixels=self.max_source_pixels)
        elif name.endswith(".dcm"):
            vol = read_dicom(p, max_source_pixels=self.max_source_pixels)
        else:
            vol = load_picture(p, max_source_pixels=self.max_source_pixels)
        self._put(key, vol)
        return vol

    def _put(self, key: str, volume: Volume) -> None:
        self.volumes.put(key, volume)

    def render(self, path: str | Path, view: View | None = None) -> Image.Image:
        """A view of a stored image at full resolution, 8-bit L or RGB."""
        return render(self.volume(path), view or View())

    def open(self, path: str | Path) -> Image.Image:
        """A stored image as shown by default (middle frame, default window), RGB."""
        return self.render(path).convert("RGB")

    def save_png(
        self, img: Image.Image, *, derived_from: str | Path | None = None
    ) -> tuple[str, Path]:
        """Store a derived image as PNG by content hash; return (sha256, path).

        With ``derived_from`` (the stored root image it was rendered from), the file is
        held by that root and goes when the root does.
        """
        buf = io.BytesIO()
        img.save(buf, format="PNG", compress_level=1)
        data = buf.getvalue()
        sha = hashlib.sha256(data).hexdigest()
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.root / f"{sha}.png"
        if not target.exists():
            tmp = target.with_name(target.name + ".part")
            tmp.write_bytes(data)
            tmp.replace(target)
        if derived_from is not None:
            self.refs.claim(image_owner(Path(derived_from).name), [target])
        return sha, target

    def data_url(self, path: str | Path, min_pixels: int, max_pixels: int) -> str:
        """The image as a PNG data URL as the model is sent it (:func:`model_image`), cached.

        Decoding and encoding take time: call it from a worker thread, not an event loop.
        """
        key = (str(path), min_pixels, max_pixels)
        found = self.urls.get(key)
        if found is not None:
            return found
        img = model_image(self.open(path), min_pixels, max_pixels)
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
        self.urls.put(key, url)
        return url

    # --- holders -----------------------------------------------------------------------
    def claim(self, session_id: str, paths: Iterable[str | Path]) -> None:
        """Record that a session holds these stored images (see :meth:`release_session`)."""
        self.refs.claim(session_owner(session_id), paths)

    def release_session(self, session_id: str) -> list[Path]:
        """Forget a deleted session's images: delete those no other session holds (and the
        views derived from them), drop them from the caches; return the deleted files."""
        deleted = self.refs.release(session_owner(session_id))
        gone = {str(p) for p in deleted}
        self.volumes.discard(lambda key: key in gone)
        self.urls.discard(lambda key: key[0] in gone)
        return deleted
