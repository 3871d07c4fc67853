"""How the image tools make a derived view: look up the image, render, store, cite.

Every derived view is rendered from the root image's original pixels (``View``),
saved as PNG in the session's image store and cited as a new ``I#`` whose
citation records its lineage (parent, root, region of the source in pixels).
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

from PIL import Image
from pydantic import BaseModel, Field, ValidationError, field_validator

from knowledge.imaging import PRESETS, ImageError, ImageStore, View, Window, describe
from knowledge.imaging.derive import Box, frame_index, pixel_bounds, scaled
from knowledge.imaging.volume import Volume
from tools.evidence import EvidenceRecord, parse_id
from tools.look import PERCEIVER
from tools.runtime import ToolArtifact, ToolContext, ToolError

SHOWN = "It is shown to you as the next image."
"""The result's last sentence when the model reading it sees images (the default)."""
FOR_LOOK = "You cannot see it: to learn what it shows, call look with [{id}] and one question."
"""The last sentence in split mode (a perceiver in the context): the planner is sent no
pixels; Lingshu sees the view through ``look`` (tools/look.py)."""


def shown(ctx: ToolContext, image_id: str) -> str:
    """How the model reading the result gets to see the derived image ``image_id``."""
    return FOR_LOOK.format(id=image_id) if PERCEIVER in ctx.extras else SHOWN


class ZoomArgs(BaseModel):
    """A zoom request: box normalised to the image (clamped to 0-1), scale clamped to 1-8."""

    box: tuple[float, float, float, float]
    scale: float = 2.0

    @field_validator("box")
    @classmethod
    def _clamp_box(
        cls, box: tuple[float, float, float, float]
    ) -> tuple[float, float, float, float]:
        if not all(math.isfinite(v) for v in box):
            raise ValueError("box values must be finite numbers")
        x0, y0, x1, y1 = (min(1.0, max(0.0, v)) for v in box)
        if x1 <= x0 or y1 <= y0:
            if box[2] <= box[0] or box[3] <= box[1]:
                raise ValueError(f"box {list(box)} has zero area: need x0 < x1 and y0 < y1")
            raise ValueError(f"box {list(box)} lies outside the image (coordinates are 0-1)")
        return (x0, y0, x1, y1)

    @field_validator("scale")
    @classmethod
    def _clamp_scale(cls, scale: float) -> float:
        if not math.isfinite(scale):
            raise ValueError("scale must be a finite number")
        return min(8.0, max(1.0, scale))


class WindowArgs(BaseModel):
    """Either a named preset or a centre and width (width at least 1)."""

    preset: str | None = None
    center: float | None = None
    width: float | None = Field(None, ge=1)


M = TypeVar("M", bound=BaseModel)


def parse_args(model: type[M], **values: Any) -> M:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: "
            + e["msg"].removeprefix("Value error, ")
            for e in exc.errors()
        )
        raise ToolError(problems) from exc


def image_store(ctx: ToolContext) -> ImageStore:
    if ctx.images is None:
        raise ToolError("no image store is available in this session")
    store: ImageStore = ctx.images
    return store


def lookup(ctx: ToolContext, image_id: str) -> tuple[str, EvidenceRecord]:
    eid = parse_id(image_id)  # "I2", " [i2] ": the one id grammar of tools.evidence
    record = ctx.ledger.get(eid) if eid else None
    if record is None or record["kind"] != "image":
        known = ", ".join(ctx.ledger.ids("image")) or "none"
        raise ToolError(f"unknown image id {image_id!r}; this session's images: {known}")
    return record["id"], record


def root_view(record: EvidenceRecord) -> tuple[str, View]:
    cit = record["citation"]
    return str(cit.get("source_path") or cit["path"]), View.from_dict(cit.get("view"))


def derive(
    ctx: ToolContext,
    parent_id: str,
    parent: EvidenceRecord,
    view: View,
    *,
    operation: str,
    scale: float | None = None,
    provenance: dict[str, Any],
) -> tuple[str, dict[str, Any]]:
    """Render ``view`` of the parent's root, store it as PNG, cite it; return (id, citation)."""
    store = image_store(ctx)
    source_path, _ = root_view(parent)
    try:
        volume = store.volume(source_path)
        if scale is None:
            scale = _magnification(parent["citation"])
        img = scaled(store.render(source_path, view), scale, store.max_pixels)
    except ImageError as exc:
        raise ToolError(str(exc)) from exc
    sha, path = store.save_png(img, derived_from=source_path)
    citation: dict[str, Any] = {
        "path": str(path),
        "sha256": sha,
        **_derived_citation(parent_id, parent, view, volume, img, source_path),
        "operation": operation,
        **provenance,
    }
    size = f"{img.width}x{img.height}"
    name = parent["citation"].get("source_name", parent_id)
    label = f"{name} ({citation['modality']}, {size}), {operation} of {parent_id}"
    key = f"{citation['root']}|{source_path}|{view.key()}|{size}"
    derived_id = ctx.ledger.cite(
        "image", key, label=label, excerpt=describe(citation), citation=citation
    )
    return derived_id, citation


def _derived_citation(
    parent_id: str,
    parent: EvidenceRecord,
    view: View,
    volume: Volume,
    img: Image.Image,
    source_path: str,
) -> dict[str, Any]:
    """What a derived view records: its size, spacing, region of the source and lineage."""
    cit = parent["citation"]
    x0, y0, x1, y1 = pixel_bounds(view.box, volume.width, volume.height)
    spacing = volume.spacing
    out_spacing = (
        [
            round(spacing[0] * (y1 - y0) / img.height, 4),
            round(spacing[1] * (x1 - x0) / img.width, 4),
        ]
        if spacing
        else None
    )
    return {
        "width": img.width,
        "height": img.height,
        "frames": 1,
        "source_name": cit.get("source_name", ""),
        "parent": parent_id,
        "root": cit.get("root", parent_id),
        "source_path": source_path,
        "source_spacing": list(spacing) if spacing else None,
        "format": "PNG",
        "modality": cit.get("modality", "image"),
        "units": cit.get("units", ""),
        "spacing": out_spacing,
        "dicom": cit.get("dicom", {}),
        "view": view.as_dict(),
        "source_region_px": [x0, y0, x1, y1],
        "slice": frame_index(volume, view) if volume.frames > 1 else None,
    }


def _magnification(cit: dict[str, Any]) -> float:
    """How much a derived parent was enlarged from its original pixels (1 for a root image)."""
    region = cit.get("source_region_px")
    if not region or region[2] <= region[0]:
        return 1.0
    return max(1.0, min(8.0, cit["width"] / (region[2] - region[0])))


def result(text: str, image_id: str, citation: dict[str, Any]) -> tuple[str, ToolArtifact]:
    return text, ToolArtifact(images=[image_id], evidence=[image_id], data=citation)


def region(box: Box) -> str:
    return f"x {box[0]:.2f}-{box[2]:.2f}, y {box[1]:.2f}-{box[3]:.2f}"


def choose_window(args: WindowArgs, cit: dict[str, Any]) -> Window:
    if args.preset and (args.center is not None or args.width is not None):
        raise ToolError("give either a preset or center and width, not both")
    if args.preset:
        if cit.get("units") != "HU":
            raise ToolError(
                "window presets are CT Hounsfield-unit windows; this "
                f"{cit.get('modality', 'image')} image is not in HU: give center and width "
                "in its own units instead"
            )
        try:
            return PRESETS[args.preset.strip().lower()]
        except KeyError:
            raise ToolError(
                f"unknown preset {args.preset!r}; known: {', '.join(PRESETS)}"
            ) from None
    if args.center is None or args.width is None:
        raise ToolError("give a preset, or both center and width")
    return Window(args.center, args.width)


def slice_index(parent_id: str, volume: Volume, index: int | None, position: float | None) -> int:
    """The slice asked for, by index or by the nearest position (mm); refused clearly."""
    if volume.frames < 2:
        raise ToolError(f"[{parent_id}] is a single image, not a series")
    if position is not None:
        positions = volume.positions
        if not positions:
            raise ToolError(
                f"[{parent_id}] has no slice positions; give an index 0-{volume.frames - 1}"
            )
        index = min(range(volume.frames), key=lambda i: abs(positions[i] - position))
    assert index is not None
    if not 0 <= index < volume.frames:
        raise ToolError(
            f"index {index} out of range: [{parent_id}] has slices 0-{volume.frames - 1}"
        )
    return index
