"""The image store: formats, series, NIfTI, the pixel budget, bad input, resumed sessions."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from knowledge.imaging import ImageError, ImageStore, fit_pixels
from tests.imaging.dicom_files import ct_file, phantom_hu

MAX = 1280 * 28 * 28
MIN = 256 * 28 * 28


def _decode(url: str) -> Image.Image:
    assert url.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("retina", (1411, 1411, 3)),
        ("microaneurysms", (102, 102)),
        ("immunohistochemistry", (512, 512, 3)),
    ],
)
def test_scikit_image_pictures_are_stored_at_full_resolution(
    store: ImageStore, inputs: Path, name: str, shape: tuple[int, ...]
) -> None:
    array = getattr(skdata, name)()
    assert array.shape == shape
    path = inputs / f"{name}.png"
    Image.fromarray(array).save(path)
    info = store.add(path)
    assert (info.height, info.width, info.modality) == (shape[0], shape[1], "image")
    shown = np.asarray(store.render(info.path))
    np.testing.assert_array_equal(shown, array)  # stored losslessly, full resolution
    sent = _decode(store.data_url(info.path, MIN, MAX))
    assert sent.width % 28 == 0 and sent.height % 28 == 0
    assert MIN <= sent.width * sent.height <= MAX


def test_pixel_budget_keeps_aspect_ratio_and_original(store: ImageStore, inputs: Path) -> None:
    big = np.random.default_rng(0).integers(0, 255, (1500, 3000, 3), dtype=np.uint8)
    path = inputs / "wide.jpg"
    Image.fromarray(big).save(path, quality=90)
    info = store.add(path)
    sent = _decode(store.data_url(info.path, MIN, MAX))
    assert sent.width * sent.height <= MAX
    assert abs(sent.width / sent.height - 2.0) < 0.05
    assert store.open(info.path).size == (3000, 1500)  # the stored original is untouched
    assert fit_pixels(10, 10, MIN, MAX)[0] * fit_pixels(10, 10, MIN, MAX)[1] >= MIN


def test_same_image_is_stored_once_and_survives_a_new_store(tmp_path: Path, inputs: Path) -> None:
    path = inputs / "ihc.png"
    Image.fromarray(skdata.immunohistochemistry()).save(path)
    first = ImageStore(tmp_path / "store").add(path)
    second = ImageStore(tmp_path / "store").add(path)
    assert first.path == second.path and first.sha256 == second.sha256
    path.unlink()  # the user's original is gone; the resumed session still has the image
    resumed = ImageStore(tmp_path / "store")
    assert resumed.open(first.path).size == (512, 512)
    assert len(list((tmp_path / "store").iterdir())) == 1


def test_tiff_16_bit_and_multipage(store: ImageStore, inputs: Path) -> None:
    ramp = np.tile(np.arange(0, 4096, 16, dtype=np.uint16), (10, 1))
    single = inputs / "ramp16.tif"
    Image.fromarray(ramp).save(single)
    info = store.add(single)
    assert info.format == "TIFF" and store.volume(info.path).pixels.max() == ramp.max()
    shown = np.asarray(store.render(info.path))
    assert shown[0, 0] == 0 and shown[0, -1] == 255  # auto window spans the 16-bit range
    pages = [Image.fromarray(np.full((8, 8), v, dtype=np.uint8)) for v in (10, 20, 30)]
    multi = inputs / "pages.tif"
    pages[0].save(multi, save_all=True, append_images=pages[1:])
    assert store.add(multi).frames == 3


def test_series_folder_is_ordered_by_image_position(store: ImageStore, inputs: Path) -> None:
    folder = inputs / "series"
    folder.mkdir()
    z_order = [4, 0, 2, 1, 3]  # files written out of order, InstanceNumber deliberately reversed
    for n, z in enumerate(z_order):
        hu = np.full((16, 16), z * 100, dtype=np.int16)
        ct_file(
            folder / f"f{n}.dcm",
            hu,
            position=(0, 0, z * 2.5),
            instance=10 - z,
            series_uid="1.2.3.4",
        )
    (folder / "notes.txt").write_text("not an image")
    info = store.add(folder)
    assert (info.format, info.frames, info.modality) == ("DICOM-SERIES", 5, "CT")
    volume = store.volume(info.path)
    assert [int(f[0, 0]) for f in volume.pixels] == [0, 100, 200, 300, 400]
    assert volume.positions == [0.0, 2.5, 5.0, 7.5, 10.0] and info.slice_spacing == 2.5
    assert ImageStore(store.root).volume(info.path).positions == volume.positions  # from disk
    assert store.add(folder).sha256 == info.sha256


def test_folder_with_two_series_is_refused(store: ImageStore, inputs: Path) -> None:
    folder = inputs / "mixed"
    folder.mkdir()
    ct_file(folder / "a.dcm", phantom_hu(16), series_uid="1.2.3.1")
    ct_file(folder / "b.dcm", phantom_hu(16), series_uid="1.2.3.2")
    with pytest.raises(ImageError, match="2 series"):
        store.add(folder)


def test_nifti_volume_in_radiological_orientation(store: ImageStore, inputs: Path) -> None:
    nib = pytest.importorskip("nibabel")
    data = np.zeros((6, 5, 4), dtype=np.int16)  # RAS+: x grows to the right, y anterior, z up
    for k in range(4):
        data[:, :, k] = k * 100
    data[5, 4, 2] = 999  # the patient's right-most, most anterior voxel of slice 2
    path = inputs / "vol.nii.gz"
    nib.save(nib.Nifti1Image(data, np.diag([1.0, 1.0, 2.0, 1.0])), path)
    info = store.add(path)
    assert (info.format, info.frames, info.width, info.height) == ("NIfTI", 4, 6, 5)
    volume = store.volume(info.path)
    assert volume.positions == [0.0, 2.0, 4.0, 6.0]
    assert volume.pixels[2, 0, 0] == 999  # anterior at the top, patient's right on the left


def test_corrupt_and_non_image_files_are_refused(store: ImageStore, inputs: Path) -> None:
    text = inputs / "notes.png"
    text.write_text("this is not a picture")
    with pytest.raises(ImageError, match="not a readable image"):
        store.add(text)
    png = inputs / "ok.png"
    Image.fromarray(skdata.microaneurysms()).save(png)
    cut = inputs / "cut.png"
    cut.write_bytes(png.read_bytes()[:400])
    with pytest.raises(ImageError, match=r"cut\.png"):
        store.add(cut)
    with pytest.raises(ImageError, match="no such image"):
        store.add(inputs / "missing.png")


def _png_header_only(path: Path, width: int, height: int) -> Path:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    return path


def test_decompression_bomb_is_refused(tmp_path: Path, inputs: Path) -> None:
    bomb = _png_header_only(inputs / "bomb.png", 100_000, 100_000)
    with pytest.raises(ImageError, match="decompression bomb"):
        ImageStore(tmp_path / "s").add(bomb)
    small_limit = ImageStore(tmp_path / "s2", max_source_pixels=32 * 32)
    with pytest.raises(ImageError, match="decompression bomb"):
        small_limit.add(ct_file(inputs / "ct.dcm", phantom_hu(64)))


def test_path_outside_allowed_folders_is_refused(tmp_path: Path, inputs: Path) -> None:
    allowed = ImageStore(tmp_path / "s", allowed_dirs=[inputs])
    inside = inputs / "m.png"
    Image.fromarray(skdata.microaneurysms()).save(inside)
    assert allowed.add(inside).width == 102
    outside = tmp_path / "elsewhere.png"
    Image.fromarray(skdata.microaneurysms()).save(outside)
    with pytest.raises(ImageError, match="outside the allowed input folders"):
        allowed.add(outside)
    sneaky = inputs / "link.png"
    sneaky.symlink_to(outside)
    with pytest.raises(ImageError, match="outside the allowed input folders"):
        allowed.add(sneaky)
    with pytest.raises(ImageError, match="outside the allowed input folders"):
        allowed.add(inputs / ".." / "elsewhere.png")


def test_a_multi_picture_jpeg_from_a_phone_is_accepted(store: ImageStore, inputs: Path) -> None:
    # Pillow names a JPEG with a second picture inside (as phone cameras write) "MPO".
    main = Image.new("RGB", (64, 48), (200, 10, 10))
    preview = Image.new("RGB", (32, 24), (10, 200, 10))
    path = inputs / "phone.jpg"
    main.save(path, format="MPO", save_all=True, append_images=[preview])
    info = store.add(path)
    assert (info.format, info.width, info.height, info.path.suffix) == ("MPO", 64, 48, ".jpg")
    assert store.open(info.path).getpixel((10, 10))[0] > 150  # the main picture, not the preview
