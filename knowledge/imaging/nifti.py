"""NIfTI-1/2 volumes (``.nii``, ``.nii.gz``) read with nibabel.

The volume is reoriented to the closest canonical (RAS+) orientation and shown as
axial slices in radiological convention (patient's right on the image's left,
anterior at the top), ordered from inferior to superior. A 4-D file keeps its first
volume. scl_slope/scl_inter are applied by nibabel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from knowledge.imaging.errors import ImageError
from knowledge.imaging.volume import DEFAULT_MAX_SOURCE_PIXELS, Volume, check_bytes, check_shape

SUFFIXES = (".nii", ".nii.gz")


def is_nifti(name: str) -> bool:
    return name.lower().endswith(SUFFIXES)


def read_nifti(path: Path, *, max_source_pixels: int = DEFAULT_MAX_SOURCE_PIXELS) -> Volume:
    try:
        import nibabel as nib
        from nibabel.filebasedimages import ImageFileError
    except ImportError as exc:  # pragma: no cover - nibabel is a dependency
        raise ImageError("NIfTI needs the nibabel package (pip install nibabel)") from exc
    try:
        img: Any = nib.load(path)
        shape = tuple(int(n) for n in img.shape)
        if len(shape) < 3 or min(shape[:3]) < 1:
            raise ImageError(f"{path.name}: NIfTI image is not a 3-D volume (shape {shape})")
        # slices are (y, x) images, z of them; a 4-D file keeps its first volume only
        check_shape(shape[0], shape[1], shape[2], max_source_pixels, path.name)
        # a 6 MB .nii.gz of float64 zeros claims 1.5 GB within the voxel count
        depth = int(img.get_data_dtype().itemsize)
        check_bytes(shape[0] * shape[1] * shape[2], depth, max_source_pixels, path.name)
        canon = nib.as_closest_canonical(img)
        data = np.asanyarray(canon.dataobj if len(shape) == 3 else canon.dataobj[..., 0])
    except ImageError:
        raise
    except (ImageFileError, OSError, EOFError, ValueError) as exc:
        raise ImageError(f"{path.name}: not a readable NIfTI file ({exc})") from exc
    except Exception as exc:  # a damaged header or body can trip any part of nibabel
        raise ImageError(
            f"{path.name}: not a readable NIfTI file ({type(exc).__name__}: {exc})"
        ) from exc
    tags: dict[str, object] = {"format": "NIfTI", "shape": list(shape)}
    if len(shape) > 3:
        tags["note"] = "4-D file: first volume shown"
    if data.ndim > 3:
        data = data.reshape(*data.shape[:3], -1)[..., 0]
    # (x, y, z) in RAS+ -> frames (z) of rows (anterior first) x cols (patient right first)
    frames = np.transpose(data[::-1, ::-1, :], (2, 1, 0))
    if frames.dtype.kind == "f" or frames.dtype.itemsize > 2:
        frames = frames.astype(np.float32)
    zooms = [float(z) for z in canon.header.get_zooms()[:3]]
    z_positions = canon.affine[2, 3] + zooms[2] * np.arange(frames.shape[0])
    return Volume(
        pixels=np.ascontiguousarray(frames),
        modality="NIfTI",
        spacing=(zooms[1], zooms[0]),
        positions=[round(float(p), 4) for p in z_positions],
        slice_spacing=zooms[2],
        tags=tags,
    )
