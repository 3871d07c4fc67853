"""Turn guideline files into documents: citation metadata plus sectioned blocks.

Supported: Markdown (YAML front matter), plain text, HTML and PDF. A reader keeps
the structure the chunker needs: each block knows its heading path, whether it
is a paragraph, a list, a table or code, and (PDF) its page.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from knowledge.guidelines.documents import (
    DOI,
    SUFFIXES,
    Block,
    BlockKind,
    Document,
    ReadError,
    make_document,
    title_from_name,
)
from knowledge.guidelines.pdf import read_pdf
from knowledge.guidelines.registry import front_matter_from_registry, registry_entry


def iter_files(paths: list[Path]) -> Iterator[Path]:
    """Every supported file under ``paths`` (files given directly are kept as they are)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in SUFFIXES:
                    yield child.resolve()
        else:
            yield path.resolve()


def read_document(path: Path) -> Document:
    """Read one file; raises :class:`ReadError` with the reason when it cannot."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ReadError(f"unsupported file type {path.suffix or '(none)'!r}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReadError(f"cannot read file: {exc.strerror or exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if kind == "pdf":
        return read_pdf(path, data, digest)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReadError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    if kind == "markdown":
        return _read_markdown(path, text, digest)
    if kind == "html":
        return _read_html(path, text, digest)
    return _read_text(path, text, digest)


# --- Markdown ------------------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.DOTALL)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


def _read_markdown(path: Path, text: str, digest: str) -> Document:
    meta: dict[str, Any] = {}
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            loaded = yaml.safe_load(match.group(1))
        except yaml.YAMLError as exc:
            raise ReadError(f"invalid YAML front matter: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ReadError("front matter must be a YAML mapping")
        meta = loaded or {}
        text = text[match.end() :]
    entry = None if meta else registry_entry(path)
    if entry is not None:
        # One file of a registry guideline: its H1 names the part, e.g. "Empiric Therapy".
        package = "open-medicine" if "open_medicine" in path.parts else "registry"
        meta = front_matter_from_registry(entry, package)
    blocks, first_heading = markdown_blocks(text, drop_title=entry is None)
    if entry is not None:
        for block in blocks:
            block.section = tuple(s.split(" — ")[0] for s in block.section)
    doc = make_document(path, digest, meta, fallback_title=first_heading or title_from_name(path))
    doc.blocks = blocks
    return doc


def markdown_blocks(
    text: str, page: int | None = None, *, drop_title: bool = True
) -> tuple[list[Block], str | None]:
    """Split Markdown into blocks under their heading path; also return the first heading.

    With ``drop_title``, a single H1 above everything is taken as the document's
    title and left out of the section paths.
    """
    out = _BlockWriter(page)
    in_code = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            if not in_code:
                out.flush()
                out.kind = "code"
            out.lines.append(line)
            in_code = not in_code
            if not in_code:
                out.flush()
        elif in_code:
            out.lines.append(line)
        elif heading := _HEADING.match(line):
            out.heading(len(heading.group(1)), heading.group(2).strip())
        else:
            out.line(line)
    out.flush()
    blocks, first = out.blocks, out.first
    return (_drop_title_heading(blocks, first) if drop_title else blocks), first


@dataclass
class _BlockWriter:
    """The blocks read so far, the heading path they sit under and the block being read."""

    page: int | None
    blocks: list[Block] = field(default_factory=list)
    headings: list[tuple[int, str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    kind: BlockKind | None = None
    first: str | None = None

    def flush(self) -> None:
        body = "\n".join(self.lines).strip()
        if body and self.kind is not None:
            section = tuple(h for _, h in self.headings)
            self.blocks.append(Block(self.kind, body, section, self.page))
        self.lines, self.kind = [], None

    def heading(self, level: int, title: str) -> None:
        self.flush()
        self.first = self.first or title
        self.headings = [(lv, h) for lv, h in self.headings if lv < level] + [(level, title)]

    def line(self, line: str) -> None:
        if not line.strip():
            if self.kind != "list":
                self.flush()
            return
        line_kind: BlockKind = _line_kind(line, self.kind)
        if line_kind != self.kind:
            self.flush()
            self.kind = line_kind
        self.lines.append(line)


def _line_kind(line: str, current: BlockKind | None) -> BlockKind:
    stripped = line.strip()
    if stripped.startswith("|"):
        return "table"
    if _LIST_ITEM.match(line) or (current == "list" and line.startswith((" ", "\t"))):
        return "list"
    return "para"


def _drop_title_heading(blocks: list[Block], first: str | None) -> list[Block]:
    """A document's single H1 is its title, not a section: drop it from section paths."""
    if first is None or not blocks or any(b.section[:1] != (first,) for b in blocks):
        return blocks
    for block in blocks:
        block.section = block.section[1:]
    return blocks


# --- plain text, HTML, PDF -----------------------------------------------------------


def _read_text(path: Path, text: str, digest: str) -> Document:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    if not paragraphs:
        raise ReadError("file is empty")
    doc = make_document(path, digest, {}, fallback_title=paragraphs[0].splitlines()[0][:120])
    doc.blocks = [Block("para", p) for p in paragraphs]
    return doc


_HTML_META: dict[str, tuple[str, ...]] = {
    # field: meta names (``name=`` or ``property=``, lower-cased), best first
    "title": ("citation_title", "dc.title", "dcterms.title", "og:title"),
    "publisher": (
        "citation_publisher",
        "dc.publisher",
        "dcterms.publisher",
        "citation_journal_title",
        "og:site_name",
    ),
    "year": (
        "citation_publication_date",
        "citation_date",
        "citation_online_date",
        "citation_year",
        "dcterms.issued",
        "dc.date.issued",
        "dcterms.date",
        "dc.date",
        "article:published_time",
    ),
    "url": (
        "citation_public_url",
        "citation_abstract_html_url",
        "citation_fulltext_html_url",
        "dcterms.identifier",
        "dc.identifier",
        "og:url",
    ),
    "doi": ("citation_doi", "dc.identifier", "dcterms.identifier", "prism.doi"),
    "tags": ("citation_keywords", "keywords", "dc.subject", "dcterms.subject"),
}
"""Standard citation metadata in HTML: Highwire ``citation_*`` (Google Scholar),
Dublin Core (``DC.*`` / ``DCTERMS.*``) and Open Graph (``og:*``), best source first."""


def html_metadata(soup: Any) -> dict[str, Any]:
    """Title, publisher, year, URL, DOI and keywords from an HTML page's head."""
    found: dict[str, list[str]] = {}
    for tag in soup.find_all("meta"):
        name = str(tag.get("name") or tag.get("property") or "").strip().lower()
        content = " ".join(str(tag.get("content") or "").split())
        if name and content:
            found.setdefault(name, []).append(content)
    meta: dict[str, Any] = {}
    for wanted, names in _HTML_META.items():
        for name in names:
            values = found.get(name, [])
            if wanted == "url":
                values = [v for v in values if v.lower().startswith(("http://", "https://"))]
            elif wanted == "doi":
                values = [m.group(1).rstrip(".") for v in values if (m := DOI.search(v))]
            elif wanted == "tags":
                values = [", ".join(values)] if values else []
            if values:
                meta[wanted] = values[0]
                break
    if "url" not in meta:
        canonical = soup.find("link", rel="canonical")
        href = str(canonical.get("href") or "") if canonical else ""
        if href.lower().startswith(("http://", "https://")):
            meta["url"] = href
    if isinstance(meta.get("tags"), str):
        meta["tags"] = [t.strip() for t in re.split(r"[,;]", meta["tags"]) if t.strip()]
    if "title" not in meta and soup.title and soup.title.string:
        meta["title"] = soup.title.string.strip()
    return meta


def _read_html(path: Path, text: str, digest: str) -> Document:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    meta = html_metadata(soup)
    for junk in soup(["script", "style", "nav", "header", "footer"]):
        junk.decompose()
    body = soup.body or soup
    markdown = "\n\n".join(_html_to_markdown(el) for el in body.find_all(_HTML_BLOCKS))
    blocks, first = markdown_blocks(markdown)
    if not blocks:
        raise ReadError("no text found in the HTML")
    doc = make_document(path, digest, meta, fallback_title=first or title_from_name(path))
    doc.blocks = blocks
    return doc


_HTML_BLOCKS = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "ul", "ol", "table", "pre"]


def _html_to_markdown(el: Any) -> str:
    """One top-level HTML block as Markdown (nested blocks are rendered by their parent)."""
    if el.find_parent(["ul", "ol", "table", "pre"]) is not None or el.find_parent("li"):
        return ""
    name = el.name
    if name[0] == "h" and name[1:].isdigit():
        return "#" * int(name[1:]) + " " + el.get_text(" ", strip=True)
    if name in ("ul", "ol"):
        items = el.find_all("li")
        marks = [f"{i}." if name == "ol" else "-" for i in range(1, len(items) + 1)]
        pairs = zip(marks, items, strict=True)
        return "\n".join(f"{m} {li.get_text(' ', strip=True)}" for m, li in pairs)
    if name == "table":
        rows = [
            "| " + " | ".join(c.get_text(" ", strip=True) for c in tr.find_all(["th", "td"])) + " |"
            for tr in el.find_all("tr")
        ]
        return "\n".join(rows)
    if name == "pre":
        return "```\n" + el.get_text() + "\n```"
    return " ".join(el.get_text(" ", strip=True).split())
