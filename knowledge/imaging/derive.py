"""Views of a stored image: which frame, which region, which window, which enhancement.

A derived image (crop, windowed view, slice, enhanced view) is described by a
:class:`View` of its *root* image, so every operation goes back to the original
full-resolution pixels: a zoom into a zoom crops the original, and a window applied
to a crop of a CT re-windows the Hounsfield units, not the 8-bit rendering.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from PIL import Image

from knowledge.imaging.errors import ImageError
from knowledge.imaging.volume import Volume
from knowledge.imaging.windowing import Window, apply_window

Box = tuple[float, float, float, float]
FULL: Box = (0.0, 0.0, 1.0, 1.0)
METHODS = ("contrast_stretch", "clahe")


@dataclass(frozen=True)
class View:
    """What of a root image is shown: frame index (None: middle), box, window, enhancement."""

    slice: int | None = None
    box: Box = FULL
    window: Window | None = None
    method: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["box"] = [round(v, 6) for v in self.box]
        out["window"] = self.window.as_dict() if self.window else None
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> View:
        data = data or {}
        win = data.get("window")
        box = data.get("box") or FULL
        return cls(
            slice=data.get("slice"),
            box=(float(box[0]), float(box[1]), float(box[2]), float(box[3])),
            window=Window(float(win["center"]), float(win["width"]), win.get("name", ""))
            if win
            else None,
            method=data.get("method"),
        )

    def key(self) -> str:
        """A canonical string for this view (same view, same key)."""
        w = f"{self.window.center:g}/{self.window.width:g}" if self.window else "-"
        box = ",".join(f"{v:.6f}" for v in self.box)
        return f"s={self.slice};b={box};w={w};m={self.method or '-'}"

    def zoomed(self, box: Box) -> View:
        """This view narrowed to ``box`` (normalised to the current view)."""
        return replace(self, box=compose(self.box, box))


def compose(outer: Box, inner: Box) -> Box:
    """``inner`` (normalised to ``outer``) in the coordinates ``outer`` is normalised to."""
    ox0, oy0, ox1, oy1 = outer
    x0, y0, x1, y1 = inner
    w, h = ox1 - ox0, oy1 - oy0
    return (ox0 + x0 * w, oy0 + y0 * h, ox0 + x1 * w, oy0 + y1 * h)


def pixel_bounds(box: Box, width: int, height: int) -> tuple[int, int, int, int]:
    """Integer pixel bounds covering ``box``, at least one pixel each way."""
    x0 = min(width - 1, max(0, math.floor(box[0] * width + 1e-9)))
    y0 = min(height - 1, max(0, math.floor(box[1] * height + 1e-9)))
    x1 = max(x0 + 1, min(width, math.ceil(box[2] * width - 1e-9)))
    y1 = max(y0 + 1, min(height, math.ceil(box[3] * height - 1e-9)))
    return x0, y0, x1, y1


def frame_index(volume: Volume, view: View) -> int:
    index = volume.frames // 2 if view.slice is None else view.slice
    if not 0 <= index < volume.frames:
        raise ImageError(f"slice {index} out of range 0-{volume.frames - 1}")
    return index


def render(volume: Volume, view: View) -> Image.Image:
    """The view as an 8-bit image (mode L or RGB) at the root's native resolution."""
    frame = volume.pixels[frame_index(volume, view)]
    x0, y0, x1, y1 = pixel_bounds(view.box, volume.width, volume.height)
    region = frame[y0:y1, x0:x1]
    if volume.color:
        if view.window is not None:
            raise ImageError("a colour image has no window; use an enhancement instead")
        out = np.ascontiguousarray(region)
    else:
        window = view.window or volume.window
        invert = volume.photometric == "MONOCHROME1"
        if window is None:  # 8-bit grey shown as stored
            out = np.subtract(255, region) if invert else np.ascontiguousarray(region)
        else:
            out = apply_window(region, window, invert=invert)
    if view.method:
        out = enhance(out, view.method)
    return Image.fromarray(out)


def enhance(pixels: np.ndarray, method: str) -> np.ndarray:
    """Contrast stretch (2nd-98th percentile) or CLAHE on 8-bit grey or RGB pixels."""
    if method == "contrast_stretch":
        lo, hi = np.percentile(pixels, [2, 98])
        if hi <= lo:
            return pixels
        scaled = (pixels.astype(np.float32) - np.float32(lo)) * np.float32(255.0 / (hi - lo))
        return np.rint(np.clip(scaled, 0, 255)).astype(np.uint8)
    if method == "clahe":
        try:
            from skimage.exposure import equalize_adapthist
        except ImportError as exc:  # pragma: no cover - scikit-image is a dependency
            raise ImageError("CLAHE needs the scikit-image package") from exc
        if min(pixels.shape[:2]) < 2:
            return pixels
        result = equalize_adapthist(pixels, clip_limit=0.01)
        return np.rint(np.clip(result, 0, 1) * 255).astype(np.uint8)
    raise ImageError(f"unknown enhancement {method!r}; known: {', '.join(METHODS)}")


def fit_area(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """The largest size with this aspect ratio and at most ``max_pixels`` pixels."""
    if width * height <= max_pixels:
        return width, height
    factor = math.sqrt(max_pixels / (width * height))
    return max(1, math.floor(width * factor)), max(1, math.floor(height * factor))


def scaled(img: Image.Image, scale: float, max_pixels: int) -> Image.Image:
    """``img`` scaled by ``scale``, then shrunk to at most ``max_pixels`` (aspect kept)."""
    width, height = fit_area(
        round(img.width * scale) or 1, round(img.height * scale) or 1, max_pixels
    )
    if (width, height) == img.size:
        return img
    return img.resize((width, height), Image.Resampling.BICUBIC)
