"""Pictures for people: an image with the regions the agent zoomed into outlined.

Given the session's image citations (evidence id -> citation dict), draw on the
root image every derived view's region, labelled with its id, so a clinician sees
where the model looked.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from knowledge.imaging.derive import FULL, View
from knowledge.imaging.errors import ImageError
from knowledge.imaging.store import ImageStore

_COLOURS = ("#ffd400", "#00e5ff", "#ff4fd8", "#7CFC00", "#ff8c00", "#ff3b3b")
MIN_SIDE = 512


def regions_of(root_id: str, citations: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, View]]:
    """(id, view) of every derived image of ``root_id`` that shows a region of it."""
    found = []
    for eid, cit in citations.items():
        if cit.get("root") != root_id or eid == root_id:
            continue
        view = View.from_dict(cit.get("view"))
        if view.box != FULL:
            found.append((eid, view))
    return found


def outline_regions(
    store: ImageStore, root_id: str, citations: Mapping[str, Mapping[str, Any]]
) -> Image.Image:
    """The root image (default view) with each zoomed region outlined and labelled by its id."""
    root = citations.get(root_id)
    if root is None:
        raise ImageError(f"unknown image id {root_id}")
    img = store.open(root.get("source_path") or root["path"])
    factor = max(1.0, MIN_SIDE / max(img.width, img.height))
    if factor > 1:
        size = (round(img.width * factor), round(img.height * factor))
        img = img.resize(size, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=max(12, img.width // 40))
    line = max(2, img.width // 300)
    for n, (eid, view) in enumerate(regions_of(root_id, citations)):
        colour = _COLOURS[n % len(_COLOURS)]
        x0, y0, x1, y1 = view.box
        rect = (x0 * img.width, y0 * img.height, x1 * img.width - 1, y1 * img.height - 1)
        draw.rectangle(rect, outline=colour, width=line)
        label = eid if view.slice is None else f"{eid} (slice {view.slice})"
        draw.text(
            (rect[0] + line + 2, rect[1] + line),
            label,
            fill=colour,
            font=font,
            stroke_width=2,
            stroke_fill="black",
        )
    return img


def save_outlined(
    store: ImageStore, root_id: str, citations: Mapping[str, Mapping[str, Any]], target: Path
) -> Path:
    """Write :func:`outline_regions` as a PNG file and return its path."""
    target.parent.mkdir(parents=True, exist_ok=True)
    outline_regions(store, root_id, citations).save(target, format="PNG")
    return target
