"""DICOM files decoded with pydicom into a :class:`Volume`.

What this does with a file: rescale slope/intercept (the modality LUT, giving
Hounsfield units for CT); keep the file's own window centre/width as the default
window; MONOCHROME1 is displayed inverted; PALETTE COLOR goes through its colour
LUT; YBR_* (colour ultrasound, JPEG) is converted to RGB by pydicom; multi-frame
files become a stack of frames. Only descriptive tags are kept, never patient
identifiers (names, ids, dates, institution, free-text descriptions).

Compressed transfer syntaxes are decoded by whichever pydicom plugin is installed:
see :func:`decoding_support` for what the current environment can read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.pixels import apply_color_lut, apply_modality_lut, get_decoder
from pydicom.uid import UID

from knowledge.imaging.errors import ImageError
from knowledge.imaging.volume import DEFAULT_MAX_SOURCE_PIXELS, Volume, check_bytes, check_shape
from knowledge.imaging.windowing import Window

SAFE_TAGS = (
    "Modality",
    "BodyPartExamined",
    "ViewPosition",
    "ImageLaterality",
    "Laterality",
    "ImageType",
    "PhotometricInterpretation",
    "Rows",
    "Columns",
    "NumberOfFrames",
    "BitsAllocated",
    "BitsStored",
    "PixelRepresentation",
    "PixelSpacing",
    "ImagerPixelSpacing",
    "SliceThickness",
    "SpacingBetweenSlices",
    "RescaleSlope",
    "RescaleIntercept",
    "RescaleType",
    "WindowCenter",
    "WindowWidth",
    "KVP",
    "MagneticFieldStrength",
    "EchoTime",
    "RepetitionTime",
    "MRAcquisitionType",
    "ScanningSequence",
)
"""Tags copied into an image record: acquisition facts only, no patient identifiers."""

_COMPRESSED_OF_INTEREST = (
    "1.2.840.10008.1.2.5",  # RLE Lossless
    "1.2.840.10008.1.2.4.50",  # JPEG Baseline (8-bit)
    "1.2.840.10008.1.2.4.51",  # JPEG Extended (12-bit)
    "1.2.840.10008.1.2.4.57",  # JPEG Lossless
    "1.2.840.10008.1.2.4.70",  # JPEG Lossless SV1
    "1.2.840.10008.1.2.4.80",  # JPEG-LS Lossless
    "1.2.840.10008.1.2.4.81",  # JPEG-LS Near-lossless
    "1.2.840.10008.1.2.4.90",  # JPEG 2000 Lossless
    "1.2.840.10008.1.2.4.91",  # JPEG 2000
    "1.2.840.10008.1.2.4.201",  # HTJ2K Lossless
)


INSTALL_HINT = (
    "pip install 'lingshu-agent[dicom]' (pylibjpeg with pylibjpeg-libjpeg), or python-gdcm"
)
"""What to install for the compressed syntaxes Pillow cannot read (12-bit JPEG, JPEG-LS...)."""


def is_dicom(head: bytes, name: str) -> bool:
    """A Part 10 file (``DICM`` at byte 128) or a file named ``*.dcm``."""
    return head[128:132] == b"DICM" or name.lower().endswith((".dcm", ".dicom"))


def decoding_support() -> dict[str, list[str]]:
    """For each common compressed transfer syntax, the installed pydicom plugins that decode it.

    An empty list means files in that syntax are refused with an :class:`ImageError`
    naming what to install.
    """
    support = {}
    for uid in _COMPRESSED_OF_INTEREST:
        decoder = get_decoder(UID(uid))
        support[UID(uid).name] = sorted(decoder.available_plugins)
    return support


def read_dataset(path: Path, *, stop_before_pixels: bool = False) -> Dataset:
    """Parse a DICOM file (pixel data is not decoded here).

    Raises:
        ImageError: not DICOM, or damaged in any way pydicom notices.
    """
    try:
        return pydicom.dcmread(path, stop_before_pixels=stop_before_pixels)
    except InvalidDicomError as exc:
        raise ImageError(f"{path.name}: not a DICOM file ({exc})") from exc
    except Exception as exc:  # a damaged file can trip any part of the parser
        raise ImageError(f"{path.name}: damaged DICOM file ({_reason(exc)})") from exc


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def read_dicom(path: Path, *, max_source_pixels: int = DEFAULT_MAX_SOURCE_PIXELS) -> Volume:
    """Decode one DICOM file (single- or multi-frame)."""
    ds = read_dataset(path)
    return dataset_volume(ds, path.name, max_source_pixels=max_source_pixels)


def dataset_volume(ds: Dataset, name: str, *, max_source_pixels: int) -> Volume:
    """The frames of a dataset, with modality LUT applied to grey data.

    Raises:
        ImageError: no pixels, too large, undecodable, or tags too damaged to use.
    """
    try:
        return _dataset_volume(ds, name, max_source_pixels=max_source_pixels)
    except ImageError:
        raise
    except Exception as exc:  # damaged tags can trip the LUTs, spacing or window parsing
        raise ImageError(f"{name}: damaged DICOM file ({_reason(exc)})") from exc


def _dataset_volume(ds: Dataset, name: str, *, max_source_pixels: int) -> Volume:
    pixels, photometric = decode_pixels(ds, name, max_source_pixels=max_source_pixels)
    modality = str(ds.get("Modality", "") or "OT")
    units = "HU" if modality == "CT" or str(ds.get("RescaleType", "")) == "HU" else ""
    return Volume(
        pixels=pixels,
        modality=modality,
        photometric=photometric,
        units=units,
        window=file_window(ds),
        spacing=pixel_spacing(ds),
        slice_spacing=_float(ds.get("SpacingBetweenSlices")) or _float(ds.get("SliceThickness")),
        tags=safe_tags(ds),
    )


def decode_pixels(ds: Dataset, name: str, *, max_source_pixels: int) -> tuple[np.ndarray, str]:
    """Pixels as ``(frames, rows, cols[, 3])`` and the photometric they are now in."""
    if not any(tag in ds for tag in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        kind = UID(ds.get("SOPClassUID", "")).name if "SOPClassUID" in ds else "unknown class"
        raise ImageError(f"{name}: DICOM file has no pixel data ({kind})")
    try:
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    except (TypeError, ValueError) as exc:
        raise ImageError(f"{name}: damaged DICOM size tags ({_reason(exc)})") from exc
    check_shape(cols, rows, frames, max_source_pixels, name)
    try:  # decoded bytes: an RGB or a 32/64-bit pixel takes more than a CT pixel's two
        samples = max(1, int(ds.get("SamplesPerPixel", 1) or 1))
        bits = int(ds.get("BitsAllocated", 16) or 16)
        if "DoubleFloatPixelData" in ds:
            bits = 64
        elif "FloatPixelData" in ds:
            bits = 32
    except (TypeError, ValueError) as exc:
        raise ImageError(f"{name}: damaged DICOM sample tags ({_reason(exc)})") from exc
    check_bytes(cols * rows * frames, samples * max(1, -(-bits // 8)), max_source_pixels, name)
    _check_decoder(ds, name)
    try:
        arr = ds.pixel_array
    except Exception as exc:  # every plugin failed, or the pixel data is damaged
        raise ImageError(
            f"{name}: pixel data cannot be decoded ({_reason(exc)}){_decoder_hint(ds)}"
        ) from exc
    expected = (frames, rows, cols) if frames > 1 else (rows, cols)
    if tuple(arr.shape[: len(expected)]) != expected:
        raise ImageError(
            f"{name}: decoded pixels {tuple(arr.shape)} do not match Rows/Columns/Frames {expected}"
        )
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    samples = int(ds.get("SamplesPerPixel", 1))
    if frames == 1:
        arr = arr[np.newaxis]
    if photometric in ("MONOCHROME1", "MONOCHROME2"):
        return _compact(apply_modality_lut(arr, ds)), photometric
    if photometric == "PALETTE COLOR":
        rgb = apply_color_lut(arr, ds)
        bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
        return _to_uint8(rgb, bits), "RGB"
    if samples == 3 and (photometric == "RGB" or photometric.startswith("YBR")):
        # pydicom converts YBR_FULL / YBR_FULL_422 / YBR_ICT / YBR_RCT to RGB when decoding.
        return _to_uint8(arr, int(ds.get("BitsStored", 8))), "RGB"
    raise ImageError(f"{name}: photometric interpretation {photometric} is not supported")


def _check_decoder(ds: Dataset, name: str) -> None:
    meta = getattr(ds, "file_meta", None)
    tsyntax = meta.get("TransferSyntaxUID") if meta is not None else None
    if tsyntax is None or not tsyntax.is_compressed:
        return
    try:
        decoder = get_decoder(tsyntax)
    except NotImplementedError as exc:
        raise ImageError(
            f"{name}: transfer syntax {tsyntax.name} is not supported ({exc})"
        ) from exc
    if not decoder.is_available:
        needs = "; ".join(decoder.missing_dependencies) or "a decoding plugin"
        raise ImageError(
            f"{name}: pixel data is compressed as {tsyntax.name}, which no installed "
            f"decoder can read (one of these is needed: {needs}); {INSTALL_HINT}"
        )


def _decoder_hint(ds: Dataset) -> str:
    """For a compressed file that failed to decode: the plugins that are not installed."""
    meta = getattr(ds, "file_meta", None)
    tsyntax = meta.get("TransferSyntaxUID") if meta is not None else None
    if tsyntax is None or not tsyntax.is_compressed:
        return ""
    try:
        missing = get_decoder(tsyntax).missing_dependencies
    except NotImplementedError:
        return ""
    if not missing:
        return ""
    return (
        f". {tsyntax.name} with these pixels needs a decoder that is not installed "
        f"({'; '.join(missing)}): {INSTALL_HINT}"
    )


def _compact(values: np.ndarray) -> np.ndarray:
    """Integers as stored (or int16/uint16 when they fit), else float32."""
    if values.dtype.kind in "iu":
        if values.dtype.itemsize <= 2:
            return values
        lo, hi = values.min(initial=0), values.max(initial=0)
        if lo >= -32768 and hi <= 32767:
            return values.astype(np.int16)
        return values.astype(np.uint16) if lo >= 0 and hi <= 65535 else values.astype(np.float32)
    as_int = np.rint(values)
    if (
        np.array_equal(as_int, values)
        and as_int.min(initial=0) >= -32768
        and as_int.max(initial=0) <= 32767
    ):
        return as_int.astype(np.int16)
    return values.astype(np.float32)


def _to_uint8(values: np.ndarray, bits: int) -> np.ndarray:
    if values.dtype == np.uint8:
        return values
    top = float(2**bits - 1) if bits > 8 else 255.0
    return np.clip(np.rint(values.astype(np.float32) * (255.0 / top)), 0, 255).astype(np.uint8)


def file_window(ds: Dataset) -> Window | None:
    center, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    if center is None or width is None or width < 1:
        return None
    return Window(center, width, "file")


def pixel_spacing(ds: Dataset) -> tuple[float, float] | None:
    value = ds.get("PixelSpacing") or ds.get("ImagerPixelSpacing")
    if not value or len(value) != 2:
        return None
    return float(value[0]), float(value[1])


def safe_tags(ds: Dataset) -> dict[str, Any]:
    tags: dict[str, Any] = {}
    for keyword in SAFE_TAGS:
        value = ds.get(keyword)
        if value is None or value == "":
            continue
        tags[keyword] = _json_value(value)
    meta = getattr(ds, "file_meta", None)
    if meta is not None and "TransferSyntaxUID" in meta:
        tags["TransferSyntax"] = meta.TransferSyntaxUID.name
    return tags


def _json_value(value: Any) -> Any:
    if isinstance(value, MultiValue | list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, int | float):
        return int(value) if isinstance(value, int) else float(value)
    return str(value)


def _first(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, MultiValue | list | tuple):
        value = value[0] if len(value) else None
    return _float(value)


def _float(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
