"""PDF guidelines: text per page, citation metadata from XMP and the Info dictionary."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from knowledge.guidelines.documents import (
    DOI,
    Block,
    Document,
    ReadError,
    make_document,
    title_from_name,
)


def read_pdf(path: Path, data: bytes, digest: str) -> Document:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        meta = pdf_metadata(reader)
    except (PdfReadError, ValueError, KeyError) as exc:
        raise ReadError(f"not a readable PDF: {exc}") from exc
    blocks: list[Block] = []
    for number, page_text in enumerate(pages, start=1):
        for para in re.split(r"\n\s*\n", page_text):
            if para.strip():
                joined = " ".join(para.split())
                blocks.append(Block("para", joined, (f"Page {number}",), number))
    if not blocks:
        raise ReadError("the PDF has no extractable text (scanned images need OCR first)")
    doc = make_document(path, digest, meta, fallback_title=title_from_name(path))
    doc.blocks = blocks
    return doc


def pdf_metadata(reader: Any) -> dict[str, Any]:
    """Title, publisher, year, URL, DOI and keywords from a PDF's XMP and Info dictionary.

    XMP (Dublin Core ``dc:title``, ``dc:publisher``, ``dc:date``, ``dc:identifier``,
    ``dc:subject``) is preferred; then the Info dictionary (``/Title``, ``/Publisher``
    or else ``/Author``, ``/CreationDate``, ``/URL``, ``/DOI``, ``/Keywords``).
    """
    meta: dict[str, Any] = {}
    try:
        xmp = reader.xmp_metadata
    except Exception:  # pypdf raises several kinds on a damaged XMP packet; use the Info dict
        xmp = None
    if xmp is not None:
        _xmp_into(meta, xmp)
    info = reader.metadata or {}
    for wanted, key in (("title", "/Title"), ("publisher", "/Publisher"), ("url", "/URL")):
        value = " ".join(str(info.get(key) or "").split())
        if value and wanted not in meta:
            meta[wanted] = value
    if "publisher" not in meta and info.get("/Author"):
        meta["publisher"] = " ".join(str(info["/Author"]).split())
    if "doi" not in meta:
        for key in ("/DOI", "/doi", "/Subject"):
            match = DOI.search(str(info.get(key) or ""))
            if match:
                meta["doi"] = match.group(1).rstrip(".")
                break
    if "year" not in meta:
        created = getattr(reader.metadata, "creation_date", None) if reader.metadata else None
        if created is not None:
            meta["year"] = created.year
    if "tags" not in meta and info.get("/Keywords"):
        meta["tags"] = [t.strip() for t in re.split(r"[,;]", str(info["/Keywords"])) if t.strip()]
    if meta.get("url") and not str(meta["url"]).lower().startswith(("http://", "https://")):
        del meta["url"]
    return meta


def _xmp_into(meta: dict[str, Any], xmp: Any) -> None:
    def first(value: Any) -> str:
        if isinstance(value, dict):
            value = value.get("x-default") or next(iter(value.values()), "")
        if isinstance(value, list):
            value = value[0] if value else ""
        return " ".join(str(value or "").split())

    title, publisher = first(xmp.dc_title), first(xmp.dc_publisher)
    if title:
        meta["title"] = title
    if publisher:
        meta["publisher"] = publisher
    dates = xmp.dc_date or []
    if dates:
        meta["year"] = getattr(dates[0], "year", dates[0])
    identifier = first(xmp.dc_identifier)
    if identifier.lower().startswith(("http://", "https://")):
        meta["url"] = identifier
    match = DOI.search(identifier)
    if match:
        meta["doi"] = match.group(1).rstrip(".")
    subjects = [s for s in (xmp.dc_subject or []) if str(s).strip()]
    if subjects:
        meta["tags"] = [str(s).strip() for s in subjects]
