"""A folder of single-frame DICOM slices read as one series.

Slices are ordered by their position along the slice normal (ImagePositionPatient
projected on the cross product of the ImageOrientationPatient row and column
directions), falling back to InstanceNumber, then file name. Each slice is rescaled
with its own slope/intercept. The result is one :class:`Volume` (stored as ``.npz``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from knowledge.imaging.dicom import dataset_volume, read_dataset
from knowledge.imaging.errors import ImageError
from knowledge.imaging.volume import DEFAULT_MAX_SOURCE_PIXELS, Volume, check_shape

MAX_SERIES_FILES = 5000


@dataclass
class _Slice:
    path: Path
    ds: Dataset
    sha256: str


def read_series(
    folder: Path, *, max_source_pixels: int = DEFAULT_MAX_SOURCE_PIXELS
) -> tuple[Volume, str]:
    """Decode every DICOM slice under ``folder``; return the volume and a content hash."""
    slices = _collect(folder)
    series_uids = {str(s.ds.get("SeriesInstanceUID", "")) for s in slices}
    if len(series_uids) > 1:
        raise ImageError(
            f"{folder.name}: folder holds {len(series_uids)} series; give one series per folder"
        )
    shapes = {(int(s.ds.get("Rows", 0)), int(s.ds.get("Columns", 0))) for s in slices}
    if len(shapes) != 1:
        raise ImageError(f"{folder.name}: slices differ in size {sorted(shapes)}")
    rows, cols = shapes.pop()
    check_shape(cols, rows, len(slices), max_source_pixels, folder.name)
    ordered, positions = order_slices(slices)
    vols = [dataset_volume(s.ds, s.path.name, max_source_pixels=max_source_pixels) for s in ordered]
    if any(v.frames != 1 for v in vols):
        raise ImageError(f"{folder.name}: a series folder must hold single-frame slices")
    stack = np.concatenate([v.pixels for v in vols])
    if stack.dtype.kind == "f" or any(v.pixels.dtype != vols[0].pixels.dtype for v in vols):
        stack = stack.astype(np.float32)
    first = vols[0]
    tags = dict(first.tags)
    tags.update(Slices=len(vols), Source="DICOM series folder")
    for per_slice in ("RescaleSlope", "RescaleIntercept", "WindowCenter", "WindowWidth"):
        values = {str(v.tags.get(per_slice)) for v in vols}
        if len(values) > 1:
            tags[per_slice] = "varies by slice"
    digest = hashlib.sha256("".join(s.sha256 for s in ordered).encode()).hexdigest()
    volume = Volume(
        pixels=stack,
        modality=first.modality,
        photometric=first.photometric,
        units=first.units,
        window=first.window,
        spacing=first.spacing,
        positions=positions,
        slice_spacing=_slice_spacing(positions) or first.slice_spacing,
        tags=tags,
    )
    return volume, digest


def _collect(folder: Path) -> list[_Slice]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    if len(files) > MAX_SERIES_FILES:
        raise ImageError(f"{folder.name}: more than {MAX_SERIES_FILES} files")
    slices = []
    for path in files:
        data = path.read_bytes()
        if data[128:132] != b"DICM" and path.suffix.lower() != ".dcm":
            continue
        ds = read_dataset(path)
        if "PixelData" not in ds:
            continue  # DICOMDIR, structured reports and the like
        slices.append(_Slice(path, ds, hashlib.sha256(data).hexdigest()))
    if not slices:
        raise ImageError(f"{folder.name}: no DICOM image files in this folder")
    return slices


def order_slices(slices: list[_Slice]) -> tuple[list[_Slice], list[float] | None]:
    """Slices sorted along the normal (with positions in mm), else by InstanceNumber."""
    positions = [_normal_position(s.ds) for s in slices]
    if all(p is not None for p in positions):
        pairs = sorted(zip(positions, range(len(slices)), strict=True))
        return [slices[i] for _, i in pairs], [round(float(p), 4) for p, _ in pairs]  # type: ignore[arg-type]
    keyed = sorted(
        range(len(slices)),
        key=lambda i: (int(slices[i].ds.get("InstanceNumber", 0) or 0), slices[i].path.name),
    )
    return [slices[i] for i in keyed], None


def _normal_position(ds: Dataset) -> float | None:
    ipp, iop = ds.get("ImagePositionPatient"), ds.get("ImageOrientationPatient")
    if not ipp or not iop or len(ipp) != 3 or len(iop) != 6:
        return None
    row, col = np.array(iop[:3], dtype=float), np.array(iop[3:], dtype=float)
    return float(np.dot(np.cross(row, col), np.array(ipp, dtype=float)))


def _slice_spacing(positions: list[float] | None) -> float | None:
    if not positions or len(positions) < 2:
        return None
    return round(float(np.median(np.diff(positions))), 4)
