"""The one exception of the imaging package."""


class ImageError(ValueError):
    """An image that cannot be used, with the reason in words."""
