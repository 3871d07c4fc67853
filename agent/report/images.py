"""The images of an answer as embeddable pictures: each original with the inspected
regions outlined and labelled by their ids, and every derived view (zoom, window,
slice, enhancement) as its own picture, all as PNG data URLs.

Stored image paths are absolute when the session wrote them; a report written on
another machine (or after the data folder moved) finds them under ``image_root``
by file name, since stored files are named by content hash.
"""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from knowledge.imaging import ImageError, ImageStore
from knowledge.imaging.derive import FULL
from knowledge.imaging.overlay import outline_regions
from tools.evidence import EvidenceRecord

log = logging.getLogger(__name__)

ORIGINAL_SIDE = 1000
"""Longest side of an embedded original (keeps the HTML file small)."""
VIEW_SIDE = 420
"""Longest side of an embedded derived view."""


@dataclass
class Picture:
    """One image of the report: its id, the picture (or why it is missing), what it shows."""

    eid: str
    title: str
    facts: str
    data_url: str | None = None
    missing: str = ""
    root: str = ""
    """For a derived view, the original it was made from; empty for an original."""
    regions: list[tuple[str, str]] = field(default_factory=list)
    """(derived id, where on the original) of each outlined region."""


def region_text(citation: Mapping[str, Any]) -> str:
    """Where on the original a derived view looks, e.g. ``x 0.40-0.70, y 0.30-0.60``."""
    view = citation.get("view") or {}
    box = view.get("box") or citation.get("box") or FULL
    where = f"x {box[0]:.2f}-{box[2]:.2f}, y {box[1]:.2f}-{box[3]:.2f}"
    region = citation.get("source_region_px")
    if region:
        where += f" ({region[2] - region[0]}x{region[3] - region[1]} px)"
    if citation.get("slice") is not None:
        where += f", slice {citation['slice']}"
    return where


def view_facts(citation: Mapping[str, Any]) -> str:
    """What was done to make a view: operation of parent, scale, window, method."""
    parts = [f"{citation.get('operation', 'view')} of {citation.get('parent', '?')}"]
    if citation.get("scale"):
        parts.append(f"{float(citation['scale']):g}× magnification")
    win = citation.get("window")
    if isinstance(win, Mapping) and citation.get("operation") == "window":
        name = f"{win.get('name')} " if win.get("name") else ""
        parts.append(f"{name}window C {win.get('center')} / W {win.get('width')}")
    if citation.get("method"):
        parts.append(str(citation["method"]).replace("_", " "))
    return ", ".join(parts)


def _resolve(path: str | None, image_root: Path | None) -> str | None:
    if not path:
        return None
    p = Path(path)
    if p.is_file():
        return str(p)
    if image_root is not None:
        for candidate in (image_root / p, image_root / p.name):
            if candidate.is_file():
                return str(candidate)
    return str(p)


def _data_url(img: Image.Image, side: int) -> str:
    img = img.convert("RGB")
    if max(img.size) > side:
        img.thumbnail((side, side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _citations(
    records: Iterable[EvidenceRecord], image_root: Path | None
) -> dict[str, dict[str, Any]]:
    """Image citations by id with resolved paths, plus a stand-in for each uncited original."""
    cits: dict[str, dict[str, Any]] = {}
    for r in records:
        if r["kind"] != "image":
            continue
        c = dict(r["citation"])
        c["path"] = _resolve(c.get("path"), image_root)
        c["source_path"] = _resolve(c.get("source_path"), image_root) or c["path"]
        c.setdefault("label", r["label"])
        cits[r["id"]] = c
    for c in list(cits.values()):
        root = c.get("root")
        if root and root not in cits:
            cits[root] = {
                "path": c["source_path"],
                "source_path": c["source_path"],
                "source_name": c.get("source_name", ""),
                "modality": c.get("modality", "image"),
                "label": f"{c.get('source_name') or 'original image'} (not cited itself)",
            }
    return cits


def pictures(
    records: Iterable[EvidenceRecord], image_root: str | Path | None = None
) -> list[Picture]:
    """Originals (regions outlined) first, each followed by the views derived from it."""
    root_dir = Path(image_root).expanduser() if image_root else None
    cits = _citations(records, root_dir)
    store = ImageStore(root_dir or Path("."))
    out: list[Picture] = []
    roots = [eid for eid, c in cits.items() if not c.get("parent")]
    for root in roots:
        c = cits[root]
        pic = Picture(root, str(c.get("label") or root), _root_facts(c))
        pic.regions = [
            (eid, region_text(d))
            for eid, d in cits.items()
            if d.get("root") == root and eid != root and _is_region(d)
        ]
        try:
            pic.data_url = _data_url(outline_regions(store, root, cits), ORIGINAL_SIDE)
        except (ImageError, OSError, KeyError, ValueError) as exc:
            log.warning("report: cannot show image %s: %s", root, exc)
            pic.missing = f"image file not available ({Path(str(c.get('path'))).name})"
        out.append(pic)
        out.extend(_derived(store, root, cits))
    return out


def _is_region(c: Mapping[str, Any]) -> bool:
    box = (c.get("view") or {}).get("box") or FULL
    return tuple(float(v) for v in box) != FULL


def _root_facts(c: Mapping[str, Any]) -> str:
    size = f"{c['width']}x{c['height']}" if c.get("width") else ""
    frames = f", {c['frames']} slices" if (c.get("frames") or 1) > 1 else ""
    return f"original, {c.get('modality', 'image')} {size}{frames}".rstrip(", ")


def _derived(store: ImageStore, root: str, cits: Mapping[str, dict[str, Any]]) -> list[Picture]:
    found = []
    for eid, c in cits.items():
        if c.get("root") != root or eid == root:
            continue
        facts = f"{view_facts(c)}; region {region_text(c)} of {root}"
        size = f"{c['width']}x{c['height']} px" if c.get("width") else ""
        title = ", ".join(str(p) for p in (c.get("source_name"), size) if p) or eid
        pic = Picture(eid, title, facts, root=root)
        try:
            pic.data_url = _data_url(store.open(str(c["path"])), VIEW_SIDE)
        except (ImageError, OSError, KeyError, ValueError) as exc:
            log.warning("report: cannot show image %s: %s", eid, exc)
            pic.missing = f"image file not available ({Path(str(c.get('path'))).name})"
        found.append(pic)
    return found
