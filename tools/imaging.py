"""Image tools: list the session's images, zoom, window/level, step through slices, enhance.

Images are addressed by evidence id (``I1``), never by path. Every derived view is
computed from the root image's original full-resolution pixels (a zoom of a zoom
crops the original; a window on a CT crop re-windows its Hounsfield units), stored
as PNG under the image store, cited as a new ``I#`` with its provenance, and handed
back in the artifact's ``images`` so the graph shows it to the model as a new user
image message.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.tools import tool
from langgraph.prebuilt import ToolRuntime

from knowledge.imaging import ImageError, View, describe
from tools.imaging_views import (
    WindowArgs,
    ZoomArgs,
    choose_window,
    derive,
    image_store,
    lookup,
    parse_args,
    region,
    result,
    root_view,
    shown,
    slice_index,
)
from tools.runtime import ToolArtifact, ToolContext, ToolError, requires


@tool(parse_docstring=True, response_format="content_and_artifact")
def list_images(runtime: ToolRuntime[ToolContext, Any]) -> tuple[str, ToolArtifact]:
    """List the images of this consultation: id, modality, size and, for views, their origin.

    Args:
        runtime: The session's tool runtime (supplied by the agent, not by the model).
    """
    ctx = runtime.context
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
    runtime: ToolRuntime[ToolContext, Any],
    scale: float = 2.0,
) -> tuple[str, ToolArtifact]:
    """Zoom into a region of an image to look closer; the zoomed view is shown as a new image.

    Args:
        image_id: Id of the image to zoom into, e.g. "I1".
        box: Region as [x0, y0, x1, y1], fractions 0-1 of the image's width and height
            (0, 0 is the top-left corner).
        scale: Magnification, 1 to 8 (default 2); the result is kept within the image size limit.
    """
    ctx = runtime.context
    args = parse_args(ZoomArgs, box=box, scale=scale)
    parent_id, parent = lookup(ctx, image_id)
    _, view = root_view(parent)
    new_view = view.zoomed(args.box)
    derived_id, cit = derive(
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
        f"Zoomed view of [{parent_id}] ({region(args.box)}; {x1 - x0}x{y1 - y0} original pixels) "
        f"saved as [{derived_id}]: {describe(cit)}. {shown(ctx, derived_id)}"
    )
    return result(text, derived_id, cit)


@tool(parse_docstring=True, response_format="content_and_artifact")
def window(
    image_id: str,
    runtime: ToolRuntime[ToolContext, Any],
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
    ctx = runtime.context
    args = parse_args(WindowArgs, preset=preset, center=center, width=width)
    parent_id, parent = lookup(ctx, image_id)
    cit = parent["citation"]
    win = choose_window(args, cit)
    _, view = root_view(parent)
    new_view = View(slice=view.slice, box=view.box, window=win, method=view.method)
    derived_id, new_cit = derive(
        ctx, parent_id, parent, new_view, operation="window", provenance={"window": win.as_dict()}
    )
    text = (
        f"[{parent_id}] shown with {win.describe()} saved as [{derived_id}]: "
        f"{describe(new_cit)}. {shown(ctx, derived_id)}"
    )
    return result(text, derived_id, new_cit)


@tool(parse_docstring=True, response_format="content_and_artifact")
def select_slice(
    series_id: str,
    runtime: ToolRuntime[ToolContext, Any],
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
    ctx = runtime.context
    if (index is None) == (position is None):
        raise ToolError("give exactly one of index or position")
    parent_id, parent = lookup(ctx, series_id)
    root_path, view = root_view(parent)
    try:
        volume = image_store(ctx).volume(root_path)
    except ImageError as exc:
        raise ToolError(str(exc)) from exc
    index = slice_index(parent_id, volume, index, position)
    where = f" at {volume.positions[index]:g} mm" if volume.positions else ""
    new_view = View(slice=index, box=view.box, window=view.window, method=view.method)
    derived_id, cit = derive(
        ctx,
        parent_id,
        parent,
        new_view,
        operation="slice",
        provenance={"position_mm": volume.positions[index] if volume.positions else None},
    )
    text = (
        f"Slice {index} of {volume.frames}{where} from [{parent_id}] saved as [{derived_id}]: "
        f"{describe(cit)}. {shown(ctx, derived_id)}"
    )
    return result(text, derived_id, cit)


@tool(parse_docstring=True, response_format="content_and_artifact")
def enhance(
    image_id: str,
    method: Literal["contrast_stretch", "clahe"],
    runtime: ToolRuntime[ToolContext, Any],
) -> tuple[str, ToolArtifact]:
    """Enhance the contrast of an image to bring out faint detail; shown as a new image.

    Args:
        image_id: Id of the image, e.g. "I1".
        method: contrast_stretch (stretch the 2nd-98th percentile to full range) or clahe
            (adaptive histogram equalisation, for local detail).
    """
    ctx = runtime.context
    if method not in ("contrast_stretch", "clahe"):
        raise ToolError(f"unknown method {method!r}; use contrast_stretch or clahe")
    parent_id, parent = lookup(ctx, image_id)
    _, view = root_view(parent)
    new_view = View(slice=view.slice, box=view.box, window=view.window, method=method)
    derived_id, cit = derive(
        ctx, parent_id, parent, new_view, operation="enhance", provenance={"method": method}
    )
    text = (
        f"[{parent_id}] enhanced with {method} saved as [{derived_id}]: {describe(cit)}. "
        + shown(ctx, derived_id)
    )
    return result(text, derived_id, cit)


IMAGING_TOOLS = [list_images, zoom, window, select_slice, enhance]
for _tool in IMAGING_TOOLS:
    _tool.metadata = requires("images")
