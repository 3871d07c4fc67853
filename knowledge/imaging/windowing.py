"""Window/level: map stored values (Hounsfield units for CT) to 8-bit grey.

The linear VOI function is the one in DICOM PS3.3 C.11.2.1.2: a value at or below
``c - 0.5 - (w - 1) / 2`` is black, a value above ``c - 0.5 + (w - 1) / 2`` is white,
and values in between are mapped linearly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Window:
    """A window centre and width in the image's stored units (HU for CT)."""

    center: float
    width: float
    name: str = ""
    """Preset name, ``file`` (the DICOM file's own window), ``auto``, or empty (custom)."""

    def as_dict(self) -> dict[str, float | str]:
        out: dict[str, float | str] = {"center": self.center, "width": self.width}
        if self.name:
            out["name"] = self.name
        return out

    def describe(self) -> str:
        label = f"{self.name} " if self.name else ""
        return f"{label}window C{self.center:g}/W{self.width:g}"


PRESETS: dict[str, Window] = {
    "lung": Window(-600, 1500, "lung"),
    "mediastinum": Window(50, 350, "mediastinum"),
    "bone": Window(400, 1800, "bone"),
    "brain": Window(40, 80, "brain"),
    "abdomen": Window(50, 400, "abdomen"),
    "liver": Window(30, 150, "liver"),
}
"""CT presets in HU (centre, width), from Radiopaedia "Windowing (CT)",
https://radiopaedia.org/articles/windowing-ct (accessed 2026). For demonstration
and education, not for clinical reading."""


def apply_window(values: np.ndarray, window: Window, *, invert: bool = False) -> np.ndarray:
    """Map ``values`` through the linear DICOM window to ``uint8`` (inverted for MONOCHROME1)."""
    if window.width < 1:
        raise ValueError(f"window width must be at least 1, got {window.width:g}")
    lo = window.center - 0.5 - (window.width - 1) / 2
    scale = 255.0 / (window.width - 1) if window.width > 1 else 0.0
    x = values.astype(np.float32, copy=False)
    if scale:
        y = (x - np.float32(lo)) * np.float32(scale)
    else:
        y = np.where(x > lo, np.float32(255), np.float32(0))
    np.clip(y, 0, 255, out=y)
    out = np.rint(y).astype(np.uint8)
    if invert:
        np.subtract(255, out, out=out)
    return out


def auto_window(values: np.ndarray, *, sample: int = 1_000_000) -> Window:
    """A window spanning the 0.5th to 99.5th percentile of the values (a robust full range)."""
    flat = values.reshape(-1)
    if flat.size > sample:
        flat = flat[:: flat.size // sample + 1]
    lo, hi = np.percentile(flat.astype(np.float64), [0.5, 99.5])
    if hi <= lo:
        lo, hi = float(flat.min()), float(flat.max())
    width = max(1.0, float(hi - lo) + 1)
    return Window(round(float(lo + hi) / 2 + 0.5, 3), round(width, 3), "auto")


def preset(name: str) -> Window:
    """The named CT preset; ``KeyError`` lists the known names."""
    try:
        return PRESETS[name.strip().lower()]
    except KeyError:
        raise KeyError(f"unknown window preset {name!r}; known: {', '.join(PRESETS)}") from None
