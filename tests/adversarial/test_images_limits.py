"""Images that must not eat the machine (issue 14, class 6): shapes, bombs, the pixel budget.

Every hostile file here is real (PNG/JPEG/TIFF/DICOM/NIfTI bytes on disk); each must be
refused with an ImageError that says why, before its pixels are decoded, or sent to the
model within the pixel budget and Qwen2.5-VL's 200:1 aspect limit.
"""

from __future__ import annotations

import base64
import io
import resource
import struct
import time
import zlib
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from knowledge.imaging import ImageError, ImageStore, fit_pixels
from knowledge.imaging.store import BoundedCache, model_image
from knowledge.imaging.volume import MAX_ASPECT_RATIO

MIN, MAX = 256 * 28 * 28, 1280 * 28 * 28


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_strip(path: Path, width: int, height: int, *, valid: bool = True) -> Path:
    """A grey PNG of ``width`` x ``height`` (all zero) written row by row, or header only."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    if valid:
        comp = zlib.compressobj(9)
        row = b"\0" * (width + 1)
        idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    else:
        idat = zlib.compress(b"\0" * 64)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )
    return path


def _sent(url: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


def test_the_1_x_40_million_png_is_refused_fast_and_small(tmp_path: Path) -> None:
    # The issue's file: 78 KB, 1 x 40,000,000 px; it took 24 s and 2.6 GB and went to the
    # model as 28 x 6,335,672 (177x the budget).
    strip = png_strip(tmp_path / "strip.png", 40_000_000, 1)
    assert strip.stat().st_size < 100_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with pytest.raises(ImageError, match=r"strip\.png: 40000000x1 pixels.*at most 200:1"):
        ImageStore(tmp_path / "store").add(strip)
    assert time.perf_counter() - started < 2.0
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 30  # nothing decoded (40 MB of grey pixels would show here)
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").glob("*.png"))


@pytest.mark.parametrize(
    ("width", "height", "accepted"),
    [(100_000, 1, False), (1, 100_000, False), (201, 1, False), (200, 1, True), (2000, 10, True)],
)
def test_aspect_ratio_beyond_200_to_1_is_refused_before_decoding(
    tmp_path: Path, width: int, height: int, accepted: bool
) -> None:
    store = ImageStore(tmp_path / "store")
    path = png_strip(tmp_path / "s.png", width, height, valid=accepted)
    if not accepted:  # a header-only file: refused by its size, never decoded
        with pytest.raises(ImageError, match=r"aspect ratio.*at most 200:1.*crop or split"):
            store.add(path)
        return
    info = store.add(path)
    sent = _sent(store.data_url(info.path, MIN, MAX))
    assert sent.width * sent.height <= MAX
    assert max(sent.size) / min(sent.size) <= MAX_ASPECT_RATIO
    assert sent.width % 28 == 0 and sent.height % 28 == 0


def _jpeg_claiming(path: Path, width: int, height: int) -> Path:
    buf = io.BytesIO()
    Image.new("L", (16, 16), 90).save(buf, format="JPEG")
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    path.write_bytes(bytes(data))
    return path


def _tiff_claiming(path: Path, width: int, height: int) -> Path:
    Image.new("L", (4, 4)).save(path, format="TIFF")
    data = bytearray(path.read_bytes())
    ifd = struct.unpack("<I", data[4:8])[0]
    count = struct.unpack("<H", data[ifd : ifd + 2])[0]
    for i in range(count):
        at = ifd + 2 + 12 * i
        tag, kind = struct.unpack("<HH", data[at : at + 4])
        if tag in (256, 257):  # ImageWidth, ImageLength
            value = width if tag == 256 else height
            packed = struct.pack("<H", value) + b"\0\0" if kind == 3 else struct.pack("<I", value)
            data[at + 8 : at + 12] = packed
    path.write_bytes(bytes(data))
    return path


def _dicom_claiming(path: Path, rows: int, cols: int, frames: int, samples: int = 1) -> Path:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
    photometric = "RGB" if samples == 3 else "MONOCHROME2"
    ds.Modality, ds.SamplesPerPixel, ds.PhotometricInterpretation = "CT", samples, photometric
    ds.Rows, ds.Columns, ds.NumberOfFrames = rows, cols, frames
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = b"\0" * 64  # far fewer bytes than the header claims
    ds.save_as(path, enforce_file_format=True)
    return path


def _bmp_claiming(path: Path, width: int, height: int) -> Path:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, format="BMP")
    data = bytearray(buf.getvalue())
    struct.pack_into("<ii", data, 18, width, height)  # BITMAPINFOHEADER width, height
    path.write_bytes(bytes(data))
    return path


def _webp_claiming(path: Path, width: int, height: int) -> Path:
    """A 4 x 4 lossless WebP behind a VP8X chunk whose canvas claims ``width`` x ``height``."""
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, format="WEBP", lossless=True)
    canvas = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    body = b"WEBP" + b"VP8X" + struct.pack("<I", 10) + b"\0" * 4 + canvas + buf.getvalue()[12:]
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def _nifti_claiming(path: Path, shape: tuple[int, ...], dtype: type = np.int16) -> Path:
    img = nib.Nifti1Image(np.zeros((2, 2, 2), dtype=np.int16), np.eye(4))
    img.header.set_data_dtype(dtype)
    img.header.set_data_shape(shape)
    header = img.header.binaryblock
    path.write_bytes(header + b"\0" * 4 + b"\0" * 16)  # vox_offset 352, almost no data
    return path


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("big.jpg", lambda p: _jpeg_claiming(p, 60_000, 60_000), "decompression bomb"),
        ("wide.jpg", lambda p: _jpeg_claiming(p, 60_000, 16), "aspect ratio"),
        ("big.tif", lambda p: _tiff_claiming(p, 60_000, 60_000), "decompression bomb"),
        ("thin.tif", lambda p: _tiff_claiming(p, 1, 50_000), "aspect ratio"),
        ("many.dcm", lambda p: _dicom_claiming(p, 4096, 4096, 5000), "decompression bomb"),
        ("frame.dcm", lambda p: _dicom_claiming(p, 20_000, 20_000, 1), "decompression bomb"),
        ("thin.dcm", lambda p: _dicom_claiming(p, 1, 60_000, 1), "aspect ratio"),
        ("huge.nii", lambda p: _nifti_claiming(p, (4000, 4000, 4000)), "decompression bomb"),
        ("thin.nii", lambda p: _nifti_claiming(p, (30_000, 2, 2)), "aspect ratio"),
        # tried by the red team after the first fix: every picture format, and samples
        ("big.bmp", lambda p: _bmp_claiming(p, 30_000, 30_000), "decompression bomb"),
        ("frame.bmp", lambda p: _bmp_claiming(p, 12_000, -12_000), "decompression bomb"),
        ("thin.bmp", lambda p: _bmp_claiming(p, 1, 300_000), "aspect ratio"),
        ("big.webp", lambda p: _webp_claiming(p, 16_384, 16_384), "decompression bomb"),
        ("wide.png", lambda p: png_strip(p, 60_000, 2, valid=False), "aspect ratio"),
        ("f64.nii", lambda p: _nifti_claiming(p, (2048, 2048, 30), np.float64), "MB decoded"),
        ("rgb.dcm", lambda p: _dicom_claiming(p, 9000, 9000, 4, samples=3), "MB decoded"),
    ],
)
def test_headers_claiming_huge_or_thin_images_are_refused_before_decoding(
    tmp_path: Path, name: str, make: object, message: str
) -> None:
    path = make(tmp_path / name)  # type: ignore[operator]
    assert path.stat().st_size < 20_000
    started = time.perf_counter()
    with pytest.raises(ImageError, match=message):
        ImageStore(tmp_path / "store").add(path)
    assert time.perf_counter() - started < 2.0


@settings(max_examples=300, deadline=None)
@given(
    width=st.integers(1, 10_000_000),
    height=st.integers(1, 10_000_000),
    min_pixels=st.integers(0, 2_000_000),
    max_pixels=st.integers(28 * 28, 4_000_000),
)
def test_fit_pixels_never_exceeds_the_budget_or_200_to_1(
    width: int, height: int, min_pixels: int, max_pixels: int
) -> None:
    w, h = fit_pixels(width, height, min_pixels, max_pixels)
    assert w * h <= max_pixels
    assert w % 28 == 0 and h % 28 == 0 and w >= 28 and h >= 28
    assert max(w, h) / min(w, h) <= MAX_ASPECT_RATIO


@pytest.mark.parametrize(("width", "height"), [(1, 100_000), (100_000, 1), (3, 5000), (7, 7)])
def test_fit_pixels_keeps_the_issue_cases_in_budget(width: int, height: int) -> None:
    w, h = fit_pixels(width, height, MIN, MAX)
    assert w * h <= MAX and max(w, h) / min(w, h) <= MAX_ASPECT_RATIO


def test_a_thin_view_is_padded_not_stretched_for_the_model() -> None:
    # A zoom can make a view thinner than 200:1 (a 2 x 1000 crop): the model gets it
    # padded with black bars, its content intact and centred, within the budget.
    thin = Image.new("L", (2, 1000), 200)
    sent = model_image(thin, MIN, MAX)
    assert sent.width * sent.height <= MAX
    assert max(sent.size) / min(sent.size) <= MAX_ASPECT_RATIO
    arr = np.asarray(sent)
    bright_cols = np.flatnonzero(arr.max(axis=0) > 150)
    assert bright_cols.size >= 1 and bright_cols.size < sent.width / 2  # a strip, not stretched
    centre = (bright_cols[0] + bright_cols[-1]) / 2
    assert abs(centre - sent.width / 2) <= 2
    assert arr[:, 0].max() == 0 and arr[:, -1].max() == 0  # black bars at both sides


def test_caches_are_bounded_by_bytes() -> None:
    cache: BoundedCache[str] = BoundedCache(1000, len)
    for i in range(50):
        cache.put(i, "x" * 100)
    assert cache.bytes <= 1000 and len(cache) == 10
    assert cache.get(49) is not None and cache.get(0) is None  # least recently used went
    cache.put("big", "y" * 5000)  # larger than the whole cache: not kept
    assert cache.get("big") is None and cache.bytes <= 1000


def test_model_urls_of_many_images_stay_within_the_cache(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "store", url_cache_bytes=2_000_000, cache_bytes=3_000_000)
    rng = np.random.default_rng(0)
    for i in range(12):
        path = tmp_path / f"noise{i}.png"
        Image.fromarray(rng.integers(0, 255, (600, 600), dtype=np.uint8)).save(path)
        info = store.add(path)
        store.data_url(info.path, MIN, MAX)
    assert store.urls.bytes <= 2_000_000 and len(store.urls) < 12
    assert store.volumes.bytes <= 3_000_000 and len(store.volumes) < 12


def test_the_service_refuses_a_thin_upload_from_its_header(tmp_path: Path) -> None:
    import httpx

    from tests.loopback import ThreadedUvicorn
    from tests.server.conftest import make_service

    strip = png_strip(tmp_path / "strip.png", 1, 40_000_000, valid=False)
    app, _ = make_service(tmp_path, [])
    with ThreadedUvicorn(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        sid = http.post("/v1/sessions", json={}).json()["session_id"]
        started = time.perf_counter()
        res = http.post(
            f"/v1/sessions/{sid}/turns",
            data={"text": "What is this?"},
            files=[("images", ("strip.png", strip.read_bytes(), "image/png"))],
        )
        assert res.status_code == 400, res.text
        assert "aspect ratio must be at most 200:1" in res.text
        assert time.perf_counter() - started < 5
        assert http.get(f"/v1/sessions/{sid}").json()["turns"] == []  # nothing half-done


def test_an_animation_is_its_first_frame_and_a_bigger_later_page_is_not_decoded(
    tmp_path: Path,
) -> None:
    """Red team: a 1.5 MB APNG of 95 frames of 2,000 x 2,000 decoded to 2.3 GB in 12 s, and a
    TIFF whose second page (9,000 x 9,000) was bigger than its first (10 x 10) decoded it."""
    frames = [Image.new("RGB", (600, 600), (i, 0, 0)) for i in range(30)]
    frames[0].save(tmp_path / "anim.png", save_all=True, append_images=frames[1:])
    frames[0].save(tmp_path / "anim.webp", save_all=True, append_images=frames[1:], lossless=True)
    Image.new("L", (10, 10)).save(
        tmp_path / "pages.tif",
        save_all=True,
        append_images=[Image.new("L", (3000, 3000))],
        compression="tiff_deflate",
    )
    store = ImageStore(tmp_path / "store")
    for name in ("anim.png", "anim.webp"):
        volume = store.volume(store.add(tmp_path / name).path)
        assert volume.pixels.shape == (1, 600, 600, 3), name
        assert volume.tags["animation_frames"] == 30
    started = time.perf_counter()
    volume = store.volume(store.add(tmp_path / "pages.tif").path)
    assert volume.pixels.shape == (1, 10, 10)
    assert time.perf_counter() - started < 1.0
