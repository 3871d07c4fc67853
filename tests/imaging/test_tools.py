"""The image tools as the act node runs them: ids in, derived images cited and handed back."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from PIL import Image
from skimage import data as skdata

from knowledge.imaging import ImageStore
from knowledge.imaging.overlay import outline_regions
from tests.imaging.dicom_files import ct_file, phantom_hu
from tools.evidence import EvidenceLedger
from tools.imaging import IMAGING_TOOLS, enhance, list_images, select_slice, window, zoom
from tools.runtime import ToolContext, ToolError, call_tool


@pytest.fixture
def ctx(store: ImageStore) -> ToolContext:
    return ToolContext(ledger=EvidenceLedger(), images=store)


def register(ctx: ToolContext, path: Path) -> str:
    """What the graph's intake does for a user image."""
    info = ctx.images.add(path)
    return ctx.ledger.cite("image", key=info.sha256, label=info.label(), citation=info.citation())


def call(tool: BaseTool, ctx: ToolContext, **args: Any) -> ToolMessage:
    message = call_tool(tool, ctx, call_id="c1", **args)
    assert isinstance(message, ToolMessage)
    return message


def pixels(ctx: ToolContext, eid: str) -> np.ndarray:
    record = ctx.ledger.get(eid)
    assert record is not None
    return np.asarray(Image.open(record["citation"]["path"]))


@pytest.fixture
def ct_id(ctx: ToolContext, inputs: Path) -> str:
    return register(ctx, ct_file(inputs / "phantom.dcm", phantom_hu(64)))


def test_tools_hide_the_context_and_need_the_image_store() -> None:
    assert [t.name for t in IMAGING_TOOLS] == [
        "list_images",
        "zoom",
        "window",
        "select_slice",
        "enhance",
    ]
    for tool in IMAGING_TOOLS:
        assert tool.metadata == {"requires": ["images"]}
        assert "runtime" not in tool.tool_call_schema.model_json_schema()["properties"]  # type: ignore[union-attr]
    schema = zoom.tool_call_schema.model_json_schema()  # type: ignore[union-attr]
    zoom_doc = schema["properties"]["box"]["description"]
    assert "fractions 0-1" in zoom_doc


def test_zoom_crop_has_exactly_the_expected_pixels(ctx: ToolContext, ct_id: str) -> None:
    message = call(zoom, ctx, image_id=ct_id, box=[0.5, 0.0, 1.0, 0.5], scale=1)
    derived = message.artifact["images"][0]
    assert derived == "I2" and message.artifact["evidence"] == ["I2"]
    assert "[I1]" in message.content and "[I2]" in message.content
    crop = pixels(ctx, derived)
    assert crop.shape == (32, 32) and (crop == 128).all()  # 40 HU in the file's 40/400 window
    cit = ctx.ledger.get(derived)["citation"]  # type: ignore[index]
    assert cit["parent"] == "I1" and cit["box"] == [0.5, 0.0, 1.0, 0.5]
    assert cit["source_region_px"] == [32, 0, 64, 32] and cit["spacing"] == [0.5, 0.5]
    for key in ("path", "sha256", "width", "height", "source_name"):
        assert cit[key]


def test_zoom_of_a_zoom_crops_the_original_pixels(ctx: ToolContext, ct_id: str) -> None:
    first = call(zoom, ctx, image_id=ct_id, box=[0.5, 0.0, 1.0, 1.0], scale=4).artifact["images"][0]
    second = call(zoom, ctx, image_id=first, box=[0.0, 0.5, 1.0, 1.0], scale=1)
    cit = ctx.ledger.get(second.artifact["images"][0])["citation"]  # type: ignore[index]
    assert cit["source_region_px"] == [32, 32, 64, 64]
    assert cit["view"]["box"] == [0.5, 0.5, 1.0, 1.0] and cit["root"] == "I1"
    assert (pixels(ctx, second.artifact["images"][0]) == 255).all()  # bone quadrant, white
    assert cit["width"] == 32  # scale 1: original pixels, one for one
    windowed = call(window, ctx, image_id=first, preset="bone").artifact["data"]
    assert (windowed["width"], windowed["height"]) == (128, 256)  # the 4x zoom carries over


def test_same_zoom_twice_keeps_its_id(ctx: ToolContext, ct_id: str) -> None:
    a = call(zoom, ctx, image_id=ct_id, box=[0.1, 0.1, 0.6, 0.6]).artifact["images"]
    b = call(zoom, ctx, image_id=f"[{ct_id}]", box=[0.1, 0.1, 0.6, 0.6]).artifact["images"]
    assert a == b == ["I2"]


def test_window_preset_rewindows_hounsfield_units_of_a_crop(ctx: ToolContext, ct_id: str) -> None:
    crop = call(zoom, ctx, image_id=ct_id, box=[0.0, 0.0, 1.0, 0.5], scale=1).artifact["images"][0]
    message = call(window, ctx, image_id=crop, preset="lung")
    lung = pixels(ctx, message.artifact["images"][0])
    assert lung.shape == (32, 64)
    # lung window C-600/W1500, DICOM linear VOI ((x - (c - 0.5)) / (w - 1) + 0.5) * 255:
    # -1000 HU -> 59.5 -> 60, 40 HU -> 236.5 -> 236
    assert lung[0, 0] == 60 and lung[0, 63] == 236
    assert "lung window C-600/W1500" in message.content
    custom = call(window, ctx, image_id=ct_id, center=1000, width=1)
    assert set(np.unique(pixels(ctx, custom.artifact["images"][0]))) == {0, 255}


def test_window_errors_the_model_can_act_on(ctx: ToolContext, inputs: Path, ct_id: str) -> None:
    photo = inputs / "ma.png"
    Image.fromarray(skdata.microaneurysms()).save(photo)
    photo_id = register(ctx, photo)
    with pytest.raises(ToolError, match="not in HU"):
        call(window, ctx, image_id=photo_id, preset="lung")
    with pytest.raises(ToolError, match="not both"):
        call(window, ctx, image_id=ct_id, preset="bone", center=10, width=100)
    with pytest.raises(ToolError, match="both center and width"):
        call(window, ctx, image_id=ct_id, center=10)
    with pytest.raises(ToolError, match="width"):
        call(window, ctx, image_id=ct_id, center=10, width=0)
    rgb = inputs / "ihc.png"
    Image.fromarray(skdata.immunohistochemistry()).save(rgb)
    with pytest.raises(ToolError, match="colour image"):
        call(window, ctx, image_id=register(ctx, rgb), center=100, width=50)


def test_boxes_are_clamped_or_refused_clearly(ctx: ToolContext, ct_id: str) -> None:
    clamped = call(zoom, ctx, image_id=ct_id, box=[-0.3, 0.0, 0.5, 1.4], scale=1)
    cit = ctx.ledger.get(clamped.artifact["images"][0])["citation"]  # type: ignore[index]
    assert cit["box"] == [0.0, 0.0, 0.5, 1.0] and cit["source_region_px"] == [0, 0, 32, 64]
    with pytest.raises(ToolError, match="zero area"):
        call(zoom, ctx, image_id=ct_id, box=[0.5, 0.2, 0.5, 0.8])
    with pytest.raises(ToolError, match="outside the image"):
        call(zoom, ctx, image_id=ct_id, box=[1.2, 0.0, 1.5, 1.0])
    with pytest.raises(ToolError, match="box"):
        call(zoom, ctx, image_id=ct_id, box=[0.1, 0.2, 0.3])
    assert (
        call(zoom, ctx, image_id=ct_id, box=[0, 0, 1, 1], scale=100).artifact["data"]["scale"] == 8
    )


def test_unknown_image_id_names_the_known_ones(ctx: ToolContext, ct_id: str) -> None:
    with pytest.raises(ToolError, match=r"unknown image id 'I9'.*I1"):
        call(zoom, ctx, image_id="I9", box=[0, 0, 1, 1])
    with pytest.raises(ToolError, match="unknown image id"):
        call(enhance, ctx, image_id="/etc/passwd", method="clahe")
    ctx.ledger.cite("guideline", "chunk-1", label="a guideline")
    with pytest.raises(ToolError, match="unknown image id"):
        call(zoom, ctx, image_id="G1", box=[0, 0, 1, 1])


def _series(ctx: ToolContext, inputs: Path) -> str:
    folder = inputs / "series"
    folder.mkdir()
    for n, z in enumerate([3, 1, 0, 2]):
        hu = np.full((16, 16), -1000 + z * 400, dtype=np.int16)
        ct_file(
            folder / f"s{n}.dcm",
            hu,
            position=(0, 0, -50 + z * 5.0),
            window=(0, 2000),
            series_uid="9.9",
        )
    return register(ctx, folder)


def test_select_slice_by_index_and_position(ctx: ToolContext, inputs: Path) -> None:
    series = _series(ctx, inputs)
    by_index = call(select_slice, ctx, series_id=series, index=1)
    cit = by_index.artifact["data"]
    assert (
        cit["slice"] == 1
        and cit["position_mm"] == -45.0
        and "Slice 1 of 4 at -45 mm" in by_index.content
    )
    by_position = call(select_slice, ctx, series_id=series, position=-39.0)
    assert by_position.artifact["data"]["slice"] == 2
    # C0/W2000: -1000 + 2*400 = -200 HU -> 102
    assert (pixels(ctx, by_position.artifact["images"][0]) == 102).all()
    zoomed = call(
        zoom, ctx, image_id=by_position.artifact["images"][0], box=[0, 0, 0.5, 0.5], scale=1
    )
    next_slice = call(select_slice, ctx, series_id=zoomed.artifact["images"][0], index=3)
    kept = next_slice.artifact["data"]
    assert kept["slice"] == 3 and kept["source_region_px"] == [0, 0, 8, 8]  # region kept
    with pytest.raises(ToolError, match="slices 0-3"):
        call(select_slice, ctx, series_id=series, index=4)
    with pytest.raises(ToolError, match="exactly one"):
        call(select_slice, ctx, series_id=series)


def test_select_slice_on_a_single_image_is_refused(ctx: ToolContext, ct_id: str) -> None:
    with pytest.raises(ToolError, match="single image"):
        call(select_slice, ctx, series_id=ct_id, index=0)


def test_enhance_brings_out_contrast(ctx: ToolContext, inputs: Path) -> None:
    path = inputs / "ma.png"
    original = skdata.microaneurysms()
    Image.fromarray(original).save(path)
    image_id = register(ctx, path)
    for method in ("contrast_stretch", "clahe"):
        message = call(enhance, ctx, image_id=image_id, method=method)
        out = pixels(ctx, message.artifact["images"][0])
        assert out.shape == original.shape
        assert out.std() > original.std() * 1.2, method
        assert message.artifact["data"]["method"] == method


def test_list_images_and_derived_image_for_the_model(ctx: ToolContext, ct_id: str) -> None:
    derived = call(zoom, ctx, image_id=ct_id, box=[0, 0, 0.5, 0.5]).artifact["images"][0]
    listing = call(list_images, ctx)
    assert listing.artifact["evidence"] == ["I1", "I2"]
    assert "[I1] phantom.dcm: CT 64x64" in listing.content
    assert "zoom of [I1]" in listing.content
    store: ImageStore = ctx.images
    url = store.data_url(ctx.ledger.get(derived)["citation"]["path"], 256 * 28 * 28, 1280 * 28 * 28)  # type: ignore[index]
    assert url.startswith("data:image/png;base64,")


def test_outline_shows_where_the_model_looked(ctx: ToolContext, ct_id: str) -> None:
    call(zoom, ctx, image_id=ct_id, box=[0.25, 0.25, 0.75, 0.75])
    citations = {eid: ctx.ledger.get(eid)["citation"] for eid in ctx.ledger.ids("image")}  # type: ignore[index]
    picture = outline_regions(ctx.images, "I1", citations)
    assert picture.size == (512, 512)  # small images are enlarged so the labels read
    rgb = np.asarray(picture).astype(int)
    yellow = (rgb[:, :, 0] > 200) & (rgb[:, :, 1] > 180) & (rgb[:, :, 2] < 80)
    assert yellow[256, 128:132].any() and yellow[128:132, 256].any()  # left and top edges
    assert not yellow[:100, :100].any()  # nothing drawn outside the region
    buf = io.BytesIO()
    picture.save(buf, format="PNG")
    assert buf.getvalue().startswith(b"\x89PNG")
