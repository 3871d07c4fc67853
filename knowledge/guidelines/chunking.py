"""Section-aware chunking with citation metadata on every chunk.

Blocks of one section (and one PDF page) are packed into chunks of about
``chunk_tokens`` tokens, the next chunk starting with the last ``overlap_tokens``
of the previous one. A list or table is never cut in the middle when it fits in
one chunk; a longer one is cut between items or rows (a table repeats its header
row). Tokens are estimated from words (about 4 tokens for every 3 words), close to
the word-piece count of MiniLM/BERT tokenizers on English prose.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from knowledge.guidelines.readers import Block, Document

SECTION_SEP = " > "


@dataclass(frozen=True)
class ChunkConfig:
    """How big chunks are; changing it re-chunks every file on the next ingest."""

    chunk_tokens: int = 200
    overlap_tokens: int = 30

    def __post_init__(self) -> None:
        if self.chunk_tokens < 20:
            raise ValueError("chunk_tokens must be at least 20")
        if not 0 <= self.overlap_tokens < self.chunk_tokens // 2:
            raise ValueError("overlap_tokens must be >= 0 and below half of chunk_tokens")

    @property
    def key(self) -> str:
        return f"{self.chunk_tokens}/{self.overlap_tokens}"


@dataclass
class Chunk:
    """One retrievable passage and everything needed to cite it."""

    id: str
    text: str
    source: str
    title: str
    section: str
    publisher: str
    year: int | None
    url: str
    page: int | None
    tags: list[str] = field(default_factory=list)
    content_hash: str = ""
    doc_hash: str = ""

    @property
    def embed_text(self) -> str:
        """What is embedded and indexed: the passage with its title and section for context."""
        head = f"{self.title}. {self.section}." if self.section else f"{self.title}."
        return f"{head}\n{self.text}"

    def citation(self) -> dict[str, Any]:
        """Where the passage comes from, as a reference shows it."""
        return {
            "title": self.title,
            "section": self.section,
            "publisher": self.publisher,
            "year": self.year,
            "url": self.url,
            "page": self.page,
            "source_path": self.source,
            "chunk_id": self.id,
        }

    def metadata(self) -> dict[str, Any]:
        """Flat metadata for Chroma (scalars only; one boolean key per tag for filters)."""
        meta: dict[str, Any] = {
            "source": self.source,
            "title": self.title,
            "section": self.section,
            "publisher": self.publisher,
            "url": self.url,
            "tags": ",".join(self.tags),
            "content_hash": self.content_hash,
            "doc_hash": self.doc_hash,
        }
        if self.year is not None:
            meta["year"] = self.year
        if self.page is not None:
            meta["page"] = self.page
        for key in filter_keys(self.publisher, self.tags):
            meta[key] = True
        return meta

    @classmethod
    def from_record(cls, chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
        tags = [t for t in str(meta.get("tags") or "").split(",") if t]
        year, page = meta.get("year"), meta.get("page")
        return cls(
            id=chunk_id,
            text=text,
            source=str(meta.get("source", "")),
            title=str(meta.get("title", "")),
            section=str(meta.get("section", "")),
            publisher=str(meta.get("publisher", "")),
            year=int(year) if year is not None else None,
            url=str(meta.get("url", "")),
            page=int(page) if page is not None else None,
            tags=tags,
            content_hash=str(meta.get("content_hash", "")),
            doc_hash=str(meta.get("doc_hash", "")),
        )


def tag_key(tag: str) -> str:
    """Metadata key that marks a chunk with a specialty tag."""
    return "tag_" + re.sub(r"[^a-z0-9]+", "_", tag.lower()).strip("_")


def publisher_keys(publisher: str) -> list[str]:
    """Metadata keys for a publisher, one per word: "ACC/AHA" -> pub_acc, pub_aha."""
    return sorted({"pub_" + w for w in re.findall(r"[a-z0-9]+", publisher.lower())})


def filter_keys(publisher: str, tags: list[str]) -> frozenset[str]:
    """Every boolean filter key of a chunk."""
    return frozenset(publisher_keys(publisher) + [tag_key(t) for t in tags])


def estimate_tokens(text: str) -> int:
    return (len(text.split()) * 4 + 2) // 3


def chunk_document(doc: Document, config: ChunkConfig | None = None) -> list[Chunk]:
    """Cut a document into chunks; chunk ids are stable for unchanged text."""
    config = config or ChunkConfig()
    texts: list[tuple[tuple[str, ...], int | None, str]] = []
    for (section, page), group in groupby(doc.blocks, key=lambda b: (b.section, b.page)):
        for text in _pack(list(group), config):
            texts.append((section, page, text))
    doc_key = hashlib.sha256(doc.source.encode()).hexdigest()[:10]
    chunks: list[Chunk] = []
    seen: set[str] = set()
    for section, page, text in texts:
        digest = hashlib.sha256(text.encode()).hexdigest()
        chunk_id = f"{doc_key}-{digest[:12]}"
        n = 1
        while chunk_id in seen:
            n += 1
            chunk_id = f"{doc_key}-{digest[:12]}-{n}"
        seen.add(chunk_id)
        chunks.append(
            Chunk(
                id=chunk_id,
                text=text,
                source=doc.source,
                title=doc.title,
                section=SECTION_SEP.join(section),
                publisher=doc.publisher,
                year=doc.year,
                url=doc.url,
                page=page,
                tags=list(doc.tags),
                content_hash=digest,
                doc_hash=doc.content_hash,
            )
        )
    return chunks


def _pack(blocks: list[Block], config: ChunkConfig) -> list[str]:
    """Pack the pieces of one section into chunk texts of bounded size, with overlap."""
    pieces: list[str] = []
    for block in blocks:
        pieces.extend(_split_block(block, config.chunk_tokens, config.overlap_tokens))
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for piece in pieces:
        piece_size = estimate_tokens(piece)
        if current and size + piece_size > config.chunk_tokens:
            chunks.append("\n\n".join(current))
            tail = _tail(current[-1], config.overlap_tokens)
            current, size = ([tail], estimate_tokens(tail)) if tail else ([], 0)
            if size + piece_size > config.chunk_tokens:
                current, size = [], 0
        current.append(piece)
        size += piece_size
    if current:
        chunks.append("\n\n".join(current))
    return chunks


def _split_block(block: Block, limit: int, overlap: int) -> list[str]:
    """A block that fits stays whole; a longer one is cut at items, rows or sentences.

    Pieces of a cut paragraph, list or code block leave room for the overlap carried
    into the next chunk (a table repeats its header instead).
    """
    if estimate_tokens(block.text) <= limit:
        return [block.text]
    if block.kind != "table":
        limit -= overlap
    if block.kind == "table":
        lines = block.text.splitlines()
        header = lines[:2] if len(lines) > 1 and set(lines[1]) <= set("|-: ") else lines[:1]
        return _group(lines[len(header) :], limit, "\n", prefix=header)
    if block.kind == "list":
        items = re.split(r"\n(?=\s{0,3}(?:[-*+]|\d+[.)])\s)", block.text)
        return _group(items, limit, "\n")
    if block.kind == "code":
        return _group(block.text.splitlines(), limit, "\n")
    return _group(_sentences(block.text), limit, " ")


def _group(units: list[str], limit: int, joiner: str, prefix: list[str] | None = None) -> list[str]:
    """Pack units into pieces of at most ``limit`` tokens, balanced in size."""
    prefix = prefix or []
    base = sum(estimate_tokens(p) for p in prefix)
    parts = [p for unit in units for p in _hard_split(unit, limit - base)]
    # Balance the pieces: three of two thirds each rather than two full ones and a scrap.
    total = sum(estimate_tokens(p) for p in parts)
    count = -(-total // max(1, limit - base))
    limit = min(limit, base + -(-total // max(1, count)) + 8)
    out: list[str] = []
    current: list[str] = []
    size = base
    for part in parts:
        part_size = estimate_tokens(part)
        if current and size + part_size > limit:
            out.append(joiner.join(prefix + current))
            current, size = [], base
        current.append(part)
        size += part_size
    if current:
        out.append(joiner.join(prefix + current))
    return out


def _hard_split(text: str, limit: int) -> list[str]:
    """Last resort for one unit longer than a chunk: cut it by words."""
    words = text.split()
    per = max(1, (max(limit, 4) * 3) // 4)
    if len(words) <= per:
        return [text]
    return [" ".join(words[i : i + per]) for i in range(0, len(words), per)]


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?;])\s+(?=[A-Z0-9(\"'])", " ".join(text.split())) if s]


def _tail(text: str, tokens: int) -> str:
    """The last whole sentences of ``text`` within ``tokens`` (the overlap)."""
    if tokens <= 0 or text.lstrip().startswith("|"):
        return ""
    kept: list[str] = []
    size = 0
    for sentence in reversed(_sentences(text)):
        size += estimate_tokens(sentence)
        if size > tokens:
            break
        kept.insert(0, sentence)
    return " ".join(kept)
