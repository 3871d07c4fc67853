"""Real DICOM files written with pydicom, for tests and benchmarks of the imaging tools.

A CT slice in Hounsfield units, a monochrome radiograph, a colour image, a file without
pixels, and a phantom to fill them with; no identifiers but fake ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
    RLELossless,
    UltrasoundImageStorage,
    generate_uid,
)

__all__ = [
    "FAKE_PATIENT",
    "FAKE_PATIENT_ID",
    "colour_file",
    "ct_file",
    "mono_file",
    "no_pixels_file",
    "phantom_hu",
]

FAKE_PATIENT = "Doe^Jane"
FAKE_PATIENT_ID = "PID-0042"


def _base(sop_class: UID, modality: str, series_uid: str | None = None) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.Modality = modality
    ds.PatientName = FAKE_PATIENT
    ds.PatientID = FAKE_PATIENT_ID
    ds.PatientBirthDate = "19700101"
    ds.InstitutionName = "Test Hospital"
    return ds


def _grey_pixels(ds: Dataset, stored: np.ndarray, *, signed: bool, bits_stored: int = 16) -> None:
    frames = stored.shape[0] if stored.ndim == 3 else 1
    ds.SamplesPerPixel = 1
    ds.Rows, ds.Columns = stored.shape[-2:]
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.PixelData = stored.astype("<i2" if signed else "<u2").tobytes()


def ct_file(
    path: Path,
    hu: np.ndarray,
    *,
    slope: float = 2.0,
    intercept: float = -1024.0,
    window: tuple[float, float] | None = (40.0, 400.0),
    position: Sequence[float] = (0.0, 0.0, 0.0),
    instance: int = 1,
    series_uid: str | None = None,
) -> Path:
    """A CT slice storing ``(hu - intercept) / slope`` (signed 16-bit) with rescale tags."""
    ds = _base(CTImageStorage, "CT", series_uid)
    ds.BodyPartExamined = "CHEST"
    ds.PhotometricInterpretation = "MONOCHROME2"
    stored = np.rint((hu.astype(np.float64) - intercept) / slope)
    _grey_pixels(ds, stored, signed=True)
    ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = slope, intercept, "HU"
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    ds.PixelSpacing = [0.5, 0.5]
    ds.SliceThickness = 2.5
    ds.ImagePositionPatient = list(position)
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.InstanceNumber = instance
    ds.save_as(path, enforce_file_format=True)
    return path


def mono_file(
    path: Path,
    stored: np.ndarray,
    *,
    photometric: str = "MONOCHROME2",
    modality: str = "CR",
    bits_stored: int = 16,
    rle: bool = False,
) -> Path:
    """Unsigned 16-bit grey (single- or multi-frame), optionally RLE Lossless compressed."""
    ds = _base(MRImageStorage if modality == "MR" else CTImageStorage, modality)
    ds.PhotometricInterpretation = photometric
    _grey_pixels(ds, stored, signed=False, bits_stored=bits_stored)
    if rle:
        ds.compress(RLELossless)
    ds.save_as(path, enforce_file_format=True)
    return path


def colour_file(path: Path, rgb: np.ndarray, *, photometric: str = "RGB") -> Path:
    """An 8-bit colour ultrasound frame stored as RGB or YBR_FULL (converted from ``rgb``)."""
    from pydicom.pixels import convert_color_space

    ds = _base(UltrasoundImageStorage, "US")
    ds.SamplesPerPixel = 3
    ds.PlanarConfiguration = 0
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = rgb.shape[:2]
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    data = rgb if photometric == "RGB" else convert_color_space(rgb, "RGB", photometric)
    ds.PixelData = np.ascontiguousarray(data, dtype=np.uint8).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def no_pixels_file(path: Path) -> Path:
    ds = _base(CTImageStorage, "CT")
    ds.save_as(path, enforce_file_format=True)
    return path


def phantom_hu(size: int = 64) -> np.ndarray:
    """Left half air (-1000 HU); right half soft tissue (40 HU) on top, bone (1000 HU) below."""
    hu = np.full((size, size), -1000, dtype=np.int16)
    hu[: size // 2, size // 2 :] = 40
    hu[size // 2 :, size // 2 :] = 1000
    return hu
