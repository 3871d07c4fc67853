"""Images sent with a turn: data URLs or multipart files, checked and written to a temp folder.

The session keeps its own copy (the image store copies by content hash), so the
temporary files go away with the request.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import HTTPException
from PIL import Image

from knowledge.imaging.volume import MAX_ASPECT_RATIO, PICTURE_FORMATS

_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^,;]+)*)?,", re.I)
_EXT = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "image/webp": ".webp",
    "image/bmp": ".bmp",
    "image/tiff": ".tif",
    "application/dicom": ".dcm",
}


class Upload:
    """One image of a turn: bytes and a file name whose suffix says the format."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name = name
        self.data = data


def from_data_url(url: str, index: int) -> Upload:
    """Decode ``data:image/png;base64,...``; anything else is a clear HTTP 400."""
    match = _DATA_URL.match(url or "")
    if not match:
        scheme = (url or "").split(":", 1)[0][:10]
        raise HTTPException(
            400,
            f"image {index + 1}: only data: URLs are accepted (got a {scheme or 'blank'} URL); "
            "send the image inline as data:image/png;base64,...",
        )
    mime = (match.group("mime") or "").lower()
    if mime not in _EXT:
        raise HTTPException(415, f"image {index + 1}: unsupported media type {mime or 'none'}")
    payload = url[match.end() :]
    if ";base64" not in (match.group("params") or "").lower():
        raise HTTPException(400, f"image {index + 1}: the data URL must be base64-encoded")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise HTTPException(400, f"image {index + 1}: the data URL is not valid base64") from exc
    return Upload(f"image-{index + 1}{_EXT[mime]}", data)


def check_pixels(upload: Upload, max_pixels: int) -> None:
    """Refuse a picture larger than the pixel limit, or thinner than 200:1, from its header
    alone (before any pixel is decoded); only PNG/JPEG/TIFF/BMP/WebP are opened."""
    if upload.name.endswith((".dcm", ".nii", ".nii.gz")) or upload.data[128:132] == b"DICM":
        return  # the image store checks DICOM and NIfTI headers before it decodes them
    try:
        with Image.open(io.BytesIO(upload.data), formats=PICTURE_FORMATS) as img:
            width, height = img.width, img.height
            pixels = width * height * getattr(img, "n_frames", 1)
    except Image.DecompressionBombError as exc:
        raise HTTPException(413, f"{upload.name}: image too large ({exc})") from exc
    except Exception as exc:  # a damaged header can trip any of Pillow's parsers
        raise HTTPException(400, f"{upload.name}: not a readable image ({exc})") from exc
    if pixels > max_pixels:
        raise HTTPException(
            413, f"{upload.name}: {pixels:,} pixels; at most {max_pixels:,} per image"
        )
    if width < 1 or height < 1 or max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        raise HTTPException(
            400,
            f"{upload.name}: {width}x{height} pixels; the aspect ratio must be at most "
            f"{MAX_ASPECT_RATIO}:1 (crop or split the image)",
        )


def check_uploads(uploads: list[Upload], *, max_images: int, max_pixels: int) -> None:
    """Refuse too many, empty or too large images with a clear 4xx."""
    if len(uploads) > max_images:
        raise HTTPException(413, f"{len(uploads)} images in one turn; at most {max_images}")
    for upload in uploads:
        if not upload.data:
            raise HTTPException(400, f"{upload.name}: empty file")
        check_pixels(upload, max_pixels)


@contextmanager
def written(uploads: list[Upload]) -> Iterator[list[Path]]:
    """The uploads as files in a temporary folder, for the duration of the turn."""
    if not uploads:
        yield []
        return
    with tempfile.TemporaryDirectory(prefix="lingshu-upload-") as tmp:
        paths = []
        for i, upload in enumerate(uploads):
            safe = re.sub(r"[^\w.-]", "_", Path(upload.name).name)[-80:] or "image"
            path = Path(tmp) / f"{i:02d}-{safe}"
            path.write_bytes(upload.data)
            paths.append(path)
        yield paths
