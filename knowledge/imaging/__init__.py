"""Images of a consultation: a content-addressed store on disk and the pixel budget."""

from knowledge.imaging.store import ImageError, ImageInfo, ImageStore, fit_pixels

__all__ = ["ImageError", "ImageInfo", "ImageStore", "fit_pixels"]
