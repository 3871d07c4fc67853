"""Content-addressed image files under the data directory.

Each image a user gives is copied to ``<images>/<sha256>.<ext>`` after it has been
decoded once (a corrupt file is refused here, before it reaches any session), so a
resumed session still has its images even when the original path is gone. What
the model is sent is resized within the pixel budget; the stored original keeps
its full resolution for later zooms.
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

PATCH = 28
"""Qwen2.5-VL turns every 28x28 patch of the resized image into one token."""

_FORMATS = {"PNG": "png", "JPEG": "jpg", "TIFF": "tiff", "BMP": "bmp", "WEBP": "webp"}


class ImageError(ValueError):
    """An image that cannot be used, with the reason in words."""


@dataclass(frozen=True)
class ImageInfo:
    sha256: str
    path: Path
    width: int
    height: int
    format: str
    source_name: str


def fit_pixels(width: int, height: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """Size with the aspect ratio kept, sides multiples of 28, area within the budget."""
    if width <= 0 or height <= 0:
        raise ImageError(f"image has no pixels ({width}x{height})")
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
    return w, h


class ImageStore:
    """Images kept on disk by content hash."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def add(self, source: str | Path) -> ImageInfo:
        """Decode, validate and store an image file; raise :class:`ImageError` if unusable."""
        src = Path(source).expanduser()
        if not src.is_file():
            raise ImageError(f"{src}: no such image file")
        data = src.read_bytes()
        try:
            with Image.open(io.BytesIO(data)) as probe:
                probe.load()
                fmt = probe.format or ""
                width, height = probe.size
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise ImageError(f"{src.name}: not a readable image ({exc})") from exc
        ext = _FORMATS.get(fmt)
        if ext is None:
            raise ImageError(f"{src.name}: unsupported image format {fmt or 'unknown'}")
        sha = hashlib.sha256(data).hexdigest()
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.root / f"{sha}.{ext}"
        if not target.exists():
            tmp = target.with_suffix(".part")
            shutil.copyfile(src, tmp)
            tmp.replace(target)
        return ImageInfo(sha, target, width, height, fmt, src.name)

    def open(self, path: str | Path) -> Image.Image:
        """Open a stored image (fully loaded, RGB)."""
        try:
            with Image.open(path) as img:
                return img.convert("RGB")
        except (FileNotFoundError, UnidentifiedImageError, OSError) as exc:
            raise ImageError(f"stored image {Path(path).name} is missing or damaged") from exc

    def data_url(self, path: str | Path, min_pixels: int, max_pixels: int) -> str:
        """The image as a PNG data URL, resized within the model's pixel budget."""
        img = self.open(path)
        size = fit_pixels(img.width, img.height, min_pixels, max_pixels)
        if size != img.size:
            img = img.resize(size, Image.Resampling.BICUBIC)
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
