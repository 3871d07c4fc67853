"""What a reader makes of a guideline file: a :class:`Document` of :class:`Block` s with
its citation metadata (shared by the Markdown, text, HTML and PDF readers)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

BlockKind = Literal["para", "list", "table", "code"]

SUFFIXES: dict[str, str] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}


class ReadError(ValueError):
    """A file that could not be read as a guideline, with the reason in words."""


@dataclass
class Block:
    """A run of text that the chunker keeps together where it can."""

    kind: BlockKind
    text: str
    section: tuple[str, ...] = ()
    page: int | None = None


@dataclass
class Document:
    """One guideline file, ready to chunk."""

    source: str
    """Where it came from (absolute path); the key for re-ingest and prune."""
    content_hash: str
    """sha256 of the file's bytes."""
    title: str
    publisher: str = ""
    year: int | None = None
    url: str = ""
    tags: list[str] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)


# --- metadata ----------------------------------------------------------------------


def make_document(
    path: Path, digest: str, meta: dict[str, Any], *, fallback_title: str
) -> Document:
    publisher = meta.get("publisher") or meta.get("organisation") or meta.get("organization")
    url = meta.get("url") or ""
    if not url and meta.get("doi"):
        url = f"https://doi.org/{meta['doi']}"
    tags = meta.get("tags") or meta.get("specialty") or []
    if isinstance(tags, str):
        tags = [tags]
    return Document(
        source=str(path),
        content_hash=digest,
        title=str(meta.get("title") or fallback_title).strip(),
        publisher=str(publisher or "").strip(),
        year=_year(meta.get("year")),
        url=str(url).strip(),
        tags=sorted({str(t).strip().lower() for t in tags if str(t).strip()}),
    )


def _year(value: object) -> int | None:
    match = re.search(r"(19|20)\d\d", str(value or ""))
    return int(match.group(0)) if match else None


def title_from_name(path: Path) -> str:
    return path.stem.replace("_", " ").replace("-", " ").strip().capitalize()


DOI = re.compile(r"\b(10\.\d{4,9}/\S+)", re.IGNORECASE)
