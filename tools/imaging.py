"""Image tools: list the session's images, zoom, window/level, step through slices, enhance.

Images are addressed by evidence id (``I1``), never by path. Every derived view is
computed from the root image's original full-resolution pixels (a zoom of a zoom
crops the original; a window on a CT crop re-windows its Hounsfield units), stored
as PNG under the image store, cited as a new ``I#`` with its provenance, and handed
back in the artifact's ``images`` so the graph shows it to the model as a new user
image message.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal, TypeVar

from langchain_core.tools import InjectedToolArg, tool
from pydantic import BaseModel, Field, ValidationError, field_validator

from knowledge.imaging import PRESETS, ImageError, ImageStore, View, Window, describe
from knowledge.imaging.derive import Box, frame_index, pixel_bounds, scaled
from tools.evidence import EvidenceRecord
from tools.runtime import ToolArtifact, ToolContext, ToolError, requires

_SHOWN = "It is shown to you as the next image."
_ID = re.compile(r"^\[?\s*(I\d+)\s*\]?$", re.IGNORECASE)


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


def _parse(model: type[M], **values: Any) -> M:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: "
            + e["msg"].removeprefix("Value error, ")
            for e in exc.errors()
        )
        raise ToolError(problems) from exc


def _store(ctx: ToolContext) -> ImageStore:
    if ctx.images is None:
        raise ToolError("no image store is available in this session")
    store: ImageStore = ctx.images
    return store


def _lookup(ctx: ToolContext, image_id: str) -> tuple[str, EvidenceRecord]:
    match = _ID.match(str(image_id).strip())
    record = ctx.ledger.get(match.group(1).upper()) if match else None
    if record is None or record["kind"] != "image":
        known = ", ".join(ctx.ledger.ids("image")) or "none"
        raise ToolError(f"unknown image id {image_id!r}; this session's images: {known}")
    return record["id"], record


def _root_view(record: EvidenceRecord) -> tuple[str, View]:
    cit = record["citation"]
    return str(cit.get("source_path") or cit["path"]), View.from_dict(cit.get("view"))


def _derive(
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
    store = _store(ctx)
    source_path, _ = _root_view(parent)
    try:
        volume = store.volume(source_path)
        if scale is None:
            scale = _magnification(parent["citation"])
        img = scaled(store.render(source_path, view), scale, store.max_pixels)
    except ImageError as exc:
        raise ToolError(str(exc)) from exc
    sha, path = store.save_png(img, derived_from=source_path)
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
    citation: dict[str, Any] = {
        "path": str(path),
        "sha256": sha,
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
        "operation": operation,
        "view": view.as_dict(),
        "source_region_px": [x0, y0, x1, y1],
        "slice": frame_index(volume, view) if volume.frames > 1 else None,
        **provenance,
    }
    size = f"{img.width}x{img.height}"
    name = cit.get("source_name", parent_id)
    label = f"{name} ({citation['modality']}, {size}), {operation} of {parent_id}"
    key = f"{citation['root']}|{source_path}|{view.key()}|{size}"
    derived_id = ctx.ledger.cite(
        "image", key, label=label, excerpt=describe(citation), citation=citation
    )
    return derived_id, citation


def _magnification(cit: dict[str, Any]) -> float:
    """How much a derived parent was enlarged from its original pixels (1 for a root image)."""
    region = cit.get("source_region_px")
    if not region or region[2] <= region[0]:
        return 1.0
    return max(1.0, min(8.0, cit["width"] / (region[2] - region[0])))


def _result(text: str, image_id: str, citation: dict[str, Any]) -> tuple[str, ToolArtifact]:
    return text, ToolArtifact(images=[image_id], evidence=[image_id], data=citation)


def _region(box: Box) -> str:
    return f"x {box[0]:.2f}-{box[2]:.2f}, y {box[1]:.2f}-{box[3]:.2f}"


@tool(parse_docstring=True, response_format="content_and_artifact")
def list_images(ctx: Annotated[ToolContext, InjectedToolArg]) -> tuple[str, ToolArtifact]:
    """List the images of this consultation: id, modality, size and, for views, their origin.

    Args:
        ctx: The session's tool context (supplied by the agent, not by the model).
    """
    ids = ctx.ledger.ids("image")
    if not ids:
        return "No images in this session.", ToolArtifact(evidence=[])
    lines = []
    for eid in ids:
        record = ctx.ledger.get(eid)
        if record is None:
            continue
        cit = record["citation"]
        origin = f" - {cit['operation']} of [{cit['parent']}]" if cit.get("parent") else ""
        lines.append(f"[{eid}] {cit.get('source_name', '')}: {describe(cit)}{origin}")
    return "\n".join(lines), ToolArtifact(evidence=ids)


@tool(parse_docstring=True, response_format="content_and_artifact")
def zoom(
    image_id: str,
    box: list[float],
    ctx: Annotated[ToolContext, InjectedToolArg],
    scale: float = 2.0,
) -> tuple[str, ToolArtifact]:
    """Zoom into a region of an image to look closer; the zoomed view is shown as a new image.

    Args:
        image_id: Id of the image to zoom into, e.g. "I1".
        box: Region as [x0, y0, x1, y1], fractions 0-1 of the image's width and height
            (0, 0 is the top-left corner).
        scale: Magnification, 1 to 8 (default 2); the result is kept within the image size limit.
    """
    args = _parse(ZoomArgs, box=box, scale=scale)
    parent_id, parent = _lookup(ctx, image_id)
    _, view = _root_view(parent)
    new_view = view.zoomed(args.box)
    derived_id, cit = _derive(
        ctx,
        parent_id,
        parent,
        new_view,
        operation="zoom",
        scale=args.scale,
        provenance={"box": [round(v, 6) for v in args.box], "scale": args.scale},
    )
    x0, y0, x1, y1 = cit["source_region_px"]
    text = (
        f"Zoomed view of [{parent_id}] ({_region(args.box)}; {x1 - x0}x{y1 - y0} original pixels) "
        f"saved as [{derived_id}]: {describe(cit)}. {_SHOWN}"
    )
    return _result(text, derived_id, cit)


@tool(parse_docstring=True, response_format="content_and_artifact")
def window(
    image_id: str,
    ctx: Annotated[ToolContext, InjectedToolArg],
    preset: Literal["lung", "mediastinum", "bone", "brain", "abdomen", "liver"] | None = None,
    center: float | None = None,
    width: float | None = None,
) -> tuple[str, ToolArtifact]:
    """Change the window/level (brightness/contrast) of a grey-scale image such as CT, MR or X-ray.

    Give either a preset (CT only, in Hounsfield units) or a center and width in the
    image's own units.

    Args:
        image_id: Id of the image, e.g. "I1" (a zoomed or slice view keeps its region and slice).
        preset: CT window preset: lung, mediastinum, bone, brain, abdomen or liver.
        center: Window centre (level), e.g. 40 for soft tissue in HU.
        width: Window width, at least 1, e.g. 400 for soft tissue in HU.
    """
    args = _parse(WindowArgs, preset=preset, center=center, width=width)
    parent_id, parent = _lookup(ctx, image_id)
    cit = parent["citation"]
    win = _choose_window(args, cit)
    _, view = _root_view(parent)
    new_view = View(slice=view.slice, box=view.box, window=win, method=view.method)
    derived_id, new_cit = _derive(
        ctx, parent_id, parent, new_view, operation="window", provenance={"window": win.as_dict()}
    )
    text = (
        f"[{parent_id}] shown with {win.describe()} saved as [{derived_id}]: "
        f"{describe(new_cit)}. {_SHOWN}"
    )
    return _result(text, derived_id, new_cit)


def _choose_window(args: WindowArgs, cit: dict[str, Any]) -> Window:
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


@tool(parse_docstring=True, response_format="content_and_artifact")
def select_slice(
    series_id: str,
    ctx: Annotated[ToolContext, InjectedToolArg],
    index: int | None = None,
    position: float | None = None,
) -> tuple[str, ToolArtifact]:
    """Show one slice or frame of a CT/MR series, multi-frame image or NIfTI volume as a new image.

    Give either index or position. Slices are ordered along the slice direction
    (for axial CT: feet to head).

    Args:
        series_id: Id of the series or of any view of it, e.g. "I1" (a zoomed view keeps
            its region and window).
        index: Slice number, 0 = first slice.
        position: Slice position in mm along the slice direction; the nearest slice is shown.
    """
    if (index is None) == (position is None):
        raise ToolError("give exactly one of index or position")
    parent_id, parent = _lookup(ctx, series_id)
    store = _store(ctx)
    root_path, view = _root_view(parent)
    try:
        volume = store.volume(root_path)
    except ImageError as exc:
        raise ToolError(str(exc)) from exc
    if volume.frames < 2:
        raise ToolError(f"[{parent_id}] is a single image, not a series")
    if position is not None:
        if not volume.positions:
            raise ToolError(
                f"[{parent_id}] has no slice positions; give an index 0-{volume.frames - 1}"
            )
        index = min(range(volume.frames), key=lambda i: abs(volume.positions[i] - position))  # type: ignore[index]
    assert index is not None
    if not 0 <= index < volume.frames:
        raise ToolError(
            f"index {index} out of range: [{parent_id}] has slices 0-{volume.frames - 1}"
        )
    where = f" at {volume.positions[index]:g} mm" if volume.positions else ""
    new_view = View(slice=index, box=view.box, window=view.window, method=view.method)
    derived_id, cit = _derive(
        ctx,
        parent_id,
        parent,
        new_view,
        operation="slice",
        provenance={"position_mm": volume.positions[index] if volume.positions else None},
    )
    text = (
        f"Slice {index} of {volume.frames}{where} from [{parent_id}] saved as [{derived_id}]: "
        f"{describe(cit)}. {_SHOWN}"
    )
    return _result(text, derived_id, cit)


@tool(parse_docstring=True, response_format="content_and_artifact")
def enhance(
    image_id: str,
    method: Literal["contrast_stretch", "clahe"],
    ctx: Annotated[ToolContext, InjectedToolArg],
) -> tuple[str, ToolArtifact]:
    """Enhance the contrast of an image to bring out faint detail; shown as a new image.

    Args:
        image_id: Id of the image, e.g. "I1".
        method: contrast_stretch (stretch the 2nd-98th percentile to full range) or clahe
            (adaptive histogram equalisation, for local detail).
    """
    if method not in ("contrast_stretch", "clahe"):
        raise ToolError(f"unknown method {method!r}; use contrast_stretch or clahe")
    parent_id, parent = _lookup(ctx, image_id)
    _, view = _root_view(parent)
    new_view = View(slice=view.slice, box=view.box, window=view.window, method=method)
    derived_id, cit = _derive(
        ctx, parent_id, parent, new_view, operation="enhance", provenance={"method": method}
    )
    text = (
        f"[{parent_id}] enhanced with {method} saved as [{derived_id}]: {describe(cit)}. " + _SHOWN
    )
    return _result(text, derived_id, cit)


IMAGING_TOOLS = [list_images, zoom, window, select_slice, enhance]
for _tool in IMAGING_TOOLS:
    _tool.metadata = requires("images")
