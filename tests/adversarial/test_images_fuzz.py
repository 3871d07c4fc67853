"""Fuzzing the image loaders: damaged PNG/JPEG/TIFF/DICOM/NIfTI files raise ImageError only.

Each example starts from a real, valid file of one format and damages it (bytes
overwritten, a cut, bytes inserted). Whatever happens, ``ImageStore.add`` and the model
rendering of what it accepted either succeed or raise the one documented error,
:class:`ImageError`; nothing else escapes, and nothing accepted exceeds the budget.
"""

from __future__ import annotations

import base64
import io
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from knowledge.imaging import ImageError, ImageStore
from tests.imaging.dicom_files import ct_file, phantom_hu

MIN, MAX = 256 * 28 * 28, 1280 * 28 * 28


def _seeds() -> dict[str, bytes]:
    rng = np.random.default_rng(7)
    grey = rng.integers(0, 255, (40, 48), dtype=np.uint8)
    out: dict[str, bytes] = {}
    for fmt, ext in (("PNG", "png"), ("JPEG", "jpg"), ("TIFF", "tif"), ("BMP", "bmp")):
        buf = io.BytesIO()
        Image.fromarray(grey).save(buf, format=fmt)
        out[ext] = buf.getvalue()
    with tempfile.TemporaryDirectory() as tmp:
        out["dcm"] = ct_file(Path(tmp) / "ct.dcm", phantom_hu(32)).read_bytes()
        nii = Path(tmp) / "v.nii"
        nib.save(
            nib.Nifti1Image(rng.integers(0, 900, (12, 10, 4)).astype(np.int16), np.eye(4)), nii
        )
        out["nii"] = nii.read_bytes()
    return out


SEEDS = _seeds()

damage = st.lists(
    st.tuples(
        st.sampled_from(["set", "cut", "insert"]),
        st.floats(0, 1, allow_nan=False),
        st.binary(min_size=1, max_size=8),
    ),
    min_size=1,
    max_size=4,
)


def _damaged(data: bytes, steps: list[tuple[str, float, bytes]]) -> bytes:
    buf = bytearray(data)
    for kind, where, chunk in steps:
        at = min(len(buf) - 1, int(where * len(buf))) if buf else 0
        if kind == "set":
            buf[at : at + len(chunk)] = chunk
        elif kind == "cut":
            del buf[at:]
        else:
            buf[at:at] = chunk
    return bytes(buf)


@pytest.mark.parametrize("ext", sorted(SEEDS))
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=damage)
def test_damaged_files_raise_only_image_error(
    tmp_path: Path, ext: str, steps: list[tuple[str, float, bytes]]
) -> None:
    path = tmp_path / f"fuzzed.{ext}"
    path.write_bytes(_damaged(SEEDS[ext], steps))
    store = ImageStore(tmp_path / "store")
    try:
        info = store.add(path)
        url = store.data_url(info.path, MIN, MAX)
    except ImageError as exc:
        assert str(exc)  # the reason, in words
        return
    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as sent:
        assert sent.width * sent.height <= MAX


def test_every_seed_is_valid_before_damage(tmp_path: Path) -> None:
    # The fuzz must start from files the loaders accept, or it only tests refusal.
    store = ImageStore(tmp_path / "store")
    for ext, data in SEEDS.items():
        path = tmp_path / f"seed.{ext}"
        path.write_bytes(data)
        assert store.add(path).width > 0, ext
