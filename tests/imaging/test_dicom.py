"""DICOM decoding: Hounsfield units, windows, MONOCHROME1, 16-bit, frames, colour, compression."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pydicom.data import get_testdata_file

from knowledge.imaging import ImageError, ImageStore
from knowledge.imaging.dicom import decoding_support
from tests.imaging.dicom_files import (
    FAKE_PATIENT,
    FAKE_PATIENT_ID,
    colour_file,
    ct_file,
    mono_file,
    no_pixels_file,
    phantom_hu,
)


def test_ct_rescale_gives_hounsfield_units_and_file_window(store: ImageStore, inputs: Path) -> None:
    hu = phantom_hu()
    info = store.add(ct_file(inputs / "ct.dcm", hu, slope=2.0, intercept=-1024.0))
    volume = store.volume(info.path)
    assert volume.units == "HU"
    np.testing.assert_array_equal(volume.pixels[0], hu)
    assert info.window == {"center": 40.0, "width": 400.0, "name": "file"}
    shown = np.asarray(store.render(info.path))
    assert shown[0, 0] == 0  # air is black in a soft-tissue window
    assert shown[0, 63] == 128  # 40 HU sits mid-grey (DICOM linear VOI)
    assert shown[63, 63] == 255  # bone is white
    assert info.spacing == (0.5, 0.5)
    assert info.modality == "CT" and info.label() == "ct.dcm (CT, 64x64)"


def test_ct_without_window_tags_gets_an_auto_window(store: ImageStore, inputs: Path) -> None:
    info = store.add(ct_file(inputs / "ct.dcm", phantom_hu(), window=None))
    assert info.window is not None and info.window["name"] == "auto"
    shown = np.asarray(store.render(info.path))
    assert shown[0, 0] == 0 and shown[63, 63] == 255


def test_monochrome1_is_displayed_inverted(store: ImageStore, inputs: Path) -> None:
    stored = np.zeros((32, 32), dtype=np.uint16)
    stored[:, 16:] = 4095
    mono1 = store.add(
        mono_file(inputs / "m1.dcm", stored, photometric="MONOCHROME1", bits_stored=12)
    )
    mono2 = store.add(
        mono_file(inputs / "m2.dcm", stored, photometric="MONOCHROME2", bits_stored=12)
    )
    inverted, plain = np.asarray(store.render(mono1.path)), np.asarray(store.render(mono2.path))
    assert plain[0, 0] == 0 and plain[0, 31] == 255
    np.testing.assert_array_equal(inverted, 255 - plain)


def test_16bit_values_are_kept_beyond_8_bits(store: ImageStore, inputs: Path) -> None:
    stored = np.tile(np.linspace(0, 65535, 256).astype(np.uint16), (8, 1))
    info = store.add(mono_file(inputs / "mr16.dcm", stored, modality="MR"))
    volume = store.volume(info.path)
    assert volume.pixels.max() == 65535 and volume.pixels.dtype.itemsize == 2
    shown = np.asarray(store.render(info.path))
    assert shown.dtype == np.uint8 and shown[0, 0] < 5 and shown[0, -1] > 250


def test_multiframe_dicom_keeps_every_frame(store: ImageStore, inputs: Path) -> None:
    stored = np.stack([np.full((16, 24), k * 100, dtype=np.uint16) for k in range(5)])
    info = store.add(mono_file(inputs / "multi.dcm", stored, modality="MR"))
    assert info.frames == 5 and (info.width, info.height) == (24, 16)
    volume = store.volume(info.path)
    assert [int(f[0, 0]) for f in volume.pixels] == [0, 100, 200, 300, 400]


def test_rle_lossless_is_decoded_by_pydicom_itself(store: ImageStore, inputs: Path) -> None:
    stored = np.arange(32 * 32, dtype=np.uint16).reshape(32, 32) * 3
    info = store.add(mono_file(inputs / "rle.dcm", stored, modality="MR", rle=True))
    assert info.tags["TransferSyntax"] == "RLE Lossless"
    np.testing.assert_array_equal(store.volume(info.path).pixels[0], stored)


_WITHOUT_PLUGINS = """
import sys
for blocked in ("pylibjpeg", "libjpeg", "openjpeg", "gdcm"):  # as if not installed
    sys.modules[blocked] = None
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from knowledge.imaging import ImageError, ImageStore
try:
    ImageStore(Path(sys.argv[2])).add(Path(sys.argv[3]))
except ImageError as exc:
    print("REFUSED", exc)
else:
    print("DECODED")
"""


def _add_without_plugins(tmp_path: Path, testdata: str) -> str:
    """Add a pydicom test file in a fresh interpreter where pylibjpeg and gdcm cannot import."""
    source = str(get_testdata_file(testdata))
    root = str(Path(__file__).resolve().parents[2])
    proc = subprocess.run(
        [sys.executable, "-c", _WITHOUT_PLUGINS, root, str(tmp_path / "store"), source],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return proc.stdout.strip()


def test_unsupported_transfer_syntax_is_refused_with_what_to_install(tmp_path: Path) -> None:
    out = _add_without_plugins(tmp_path, "MR_small_jpeg_ls_lossless.dcm")
    assert out.startswith("REFUSED MR_small_jpeg_ls_lossless.dcm: pixel data is compressed as ")
    assert "JPEG-LS Lossless" in out and "no installed decoder" in out
    assert "pylibjpeg" in out and "lingshu-agent[dicom]" in out
    assert "pydicom" in decoding_support()["RLE Lossless"]


def test_12_bit_jpeg_extended_without_a_plugin_names_the_plugins(tmp_path: Path) -> None:
    # Pillow claims JPEG Extended but cannot decode 12-bit samples: the refusal must say
    # which plugin would (the README's promise), not only that Pillow failed.
    out = _add_without_plugins(tmp_path, "JPGExtended.dcm")
    assert out.startswith("REFUSED JPGExtended.dcm: pixel data cannot be decoded"), out
    assert "12-bit" in out
    assert "pylibjpeg>=2.0 and pylibjpeg-libjpeg" in out and "gdcm" in out
    assert "pip install 'lingshu-agent[dicom]'" in out and "python-gdcm" in out


def test_12_bit_jpeg_extended_decodes_with_the_dicom_extra(store: ImageStore) -> None:
    pytest.importorskip("pylibjpeg")
    pytest.importorskip("libjpeg")
    info = store.add(Path(str(get_testdata_file("JPGExtended.dcm"))))
    volume = store.volume(info.path)
    assert (info.width, info.height) == (256, 1024)
    assert info.tags["BitsStored"] == 12
    assert volume.pixels.dtype.itemsize == 2  # 12-bit values kept, not squeezed to 8 bits
    assert 255 < int(volume.pixels.max()) <= 4095
    assert len(np.unique(volume.pixels)) > 200  # a real picture, not a constant
    assert "JPEG Lossless, Non-Hierarchical (Process 14)" in decoding_support()
    assert "pylibjpeg" in decoding_support()["JPEG-LS Lossless Image Compression"]


def test_colour_ultrasound_rgb_and_ybr_full(store: ImageStore, inputs: Path) -> None:
    rgb = np.zeros((20, 30, 3), dtype=np.uint8)
    rgb[:, :10] = (200, 30, 30)
    rgb[:, 10:20] = (30, 200, 30)
    rgb[:, 20:] = (30, 30, 200)
    as_rgb = store.add(colour_file(inputs / "us_rgb.dcm", rgb))
    as_ybr = store.add(colour_file(inputs / "us_ybr.dcm", rgb, photometric="YBR_FULL"))
    np.testing.assert_array_equal(np.asarray(store.open(as_rgb.path)), rgb)
    shown = np.asarray(store.open(as_ybr.path)).astype(int)
    assert np.abs(shown - rgb).max() <= 2  # YBR_FULL -> RGB round trip
    assert as_ybr.modality == "US"


@pytest.mark.parametrize(
    ("filename", "modality", "size", "frames"),
    [
        ("CT_small.dcm", "CT", (128, 128), 1),
        ("examples_overlay.dcm", "MR", (484, 300), 1),
        ("examples_palette.dcm", "US", (800, 350), 1),
        ("examples_ybr_color.dcm", "US", (320, 240), 30),
        ("examples_jpeg2k.dcm", "US", (640, 480), 1),
    ],
)
def test_pydicom_shipped_files(
    store: ImageStore, filename: str, modality: str, size: tuple[int, int], frames: int
) -> None:
    info = store.add(str(get_testdata_file(filename)))
    assert (info.modality, (info.width, info.height), info.frames) == (modality, size, frames)
    shown = np.asarray(store.open(info.path))
    assert shown.shape == (size[1], size[0], 3) and shown.std() > 5  # a real picture, not blank
    if modality == "US":
        channels = shown.reshape(-1, 3).astype(int)
        assert np.abs(channels[:, 0] - channels[:, 2]).max() > 40  # colour survived


def test_citation_keeps_tags_but_no_patient_identifiers(store: ImageStore, inputs: Path) -> None:
    info = store.add(ct_file(inputs / "ct.dcm", phantom_hu()))
    cit = info.citation()
    for key in ("path", "sha256", "width", "height", "source_name"):
        assert cit[key]
    assert cit["dicom"]["Modality"] == "CT" and cit["dicom"]["BodyPartExamined"] == "CHEST"
    assert cit["dicom"]["RescaleSlope"] == 2.0 and cit["dicom"]["PixelSpacing"] == [0.5, 0.5]
    text = json.dumps(cit)
    for identifier in (FAKE_PATIENT, FAKE_PATIENT_ID, "19700101", "Test Hospital"):
        assert identifier not in text
    shipped = json.dumps(store.add(str(get_testdata_file("CT_small.dcm"))).citation())
    assert "CompressedSamples" not in shipped  # CT_small's patient name


def test_dicom_without_pixel_data_is_refused(store: ImageStore, inputs: Path) -> None:
    with pytest.raises(ImageError, match="no pixel data"):
        store.add(no_pixels_file(inputs / "empty.dcm"))


def test_truncated_dicom_is_refused(store: ImageStore, inputs: Path) -> None:
    whole = ct_file(inputs / "ct.dcm", phantom_hu()).read_bytes()
    cut = inputs / "cut.dcm"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ImageError, match=r"cut\.dcm"):
        store.add(cut)
    assert not store.root.exists() or not any(store.root.iterdir())  # nothing half-stored
