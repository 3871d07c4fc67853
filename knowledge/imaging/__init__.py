"""Images of a consultation: a content-addressed store on disk, DICOM/NIfTI decoding,
window/level, derived views (crop, slice, enhancement) and the pixel budget."""

from knowledge.imaging.derive import View
from knowledge.imaging.errors import ImageError
from knowledge.imaging.store import ImageInfo, ImageStore, describe, fit_pixels
from knowledge.imaging.windowing import PRESETS, Window

__all__ = [
    "PRESETS",
    "ImageError",
    "ImageInfo",
    "ImageStore",
    "View",
    "Window",
    "describe",
    "fit_pixels",
]
