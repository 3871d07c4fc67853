"""Incremental ingestion: read, chunk, embed and store guideline files.

Re-ingesting an unchanged file does nothing (its sha256 is compared with the one
stored on its chunks); a changed file replaces its old chunks; ``prune`` drops
the chunks of files that are gone. A file that cannot be read is reported with
the reason and the rest goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from knowledge.guidelines.chunking import Chunk, ChunkConfig, chunk_document
from knowledge.guidelines.readers import ReadError, iter_files, read_document
from knowledge.guidelines.store import GuidelineStore
from knowledge.guidelines.vectors import VectorCache, model_fingerprint

log = logging.getLogger(__name__)


class Progress(Protocol):
    """Receives progress: tasks ``"files"`` and ``"embedding"``."""

    def start(self, task: str, total: int) -> None: ...

    def advance(self, task: str, n: int = 1, detail: str = "") -> None: ...


@dataclass
class IngestReport:
    """What an ingest run did, file by file."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(file, reason) for every file that could not be ingested."""
    chunks_added: int = 0
    chunks_removed: int = 0
    chunks_precomputed: int = 0
    """Chunks whose vectors came precomputed instead of being embedded."""
    embed_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.pruned)


@dataclass
class _Pending:
    source: str
    chunks: list[Chunk]
    old_ids: list[str]


def ingest_paths(
    store: GuidelineStore,
    paths: Iterable[Path],
    *,
    chunking: ChunkConfig | None = None,
    prune: bool = False,
    progress: Progress | None = None,
    batch_size: int = 32,
    precomputed: VectorCache | None = None,
) -> IngestReport:
    """Bring the store up to date with the files under ``paths``.

    ``precomputed`` vectors (see :mod:`knowledge.guidelines.vectors`) are used for
    chunks whose embedded text they hold, when they were made by the store's model;
    everything else is embedded.
    """
    started = time.perf_counter()
    chunking = chunking or ChunkConfig()
    roots = [Path(p).expanduser().resolve() for p in paths]
    report = IngestReport()
    for root in roots:
        if not root.exists():
            report.failed.append((str(root), "no such file or folder"))
    files = list(iter_files([r for r in roots if r.exists()]))
    stored = store.sources()
    rechunk = store.count() > 0 and store.metadata.get("chunking") not in (None, chunking.key)
    pending = _read_all(files, stored, chunking, rechunk, report, progress)
    if precomputed is not None and not precomputed.usable_for(
        store.embedder.name, model_fingerprint(store.embedder.location)
    ):
        log.info("precomputed vectors are for %s; embedding everything", precomputed.model)
        precomputed = None
    _embed_and_store(store, pending, report, progress, batch_size, precomputed)
    if prune:
        seen = {str(f) for f in files}
        _prune(store, stored, roots, seen, report)
    if report.changed or rechunk:
        store.commit(chunking)
    report.seconds = time.perf_counter() - started
    return report


def _read_all(
    files: list[Path],
    stored: dict[str, tuple[str, list[str]]],
    chunking: ChunkConfig,
    rechunk: bool,
    report: IngestReport,
    progress: Progress | None,
) -> list[_Pending]:
    if progress:
        progress.start("files", len(files))
    pending: list[_Pending] = []
    for path in files:
        source = str(path)
        try:
            doc = read_document(path)
            previous = stored.get(source)
            if previous and previous[0] == doc.content_hash and not rechunk:
                report.unchanged.append(source)
            else:
                chunks = chunk_document(doc, chunking)
                if not chunks:
                    raise ReadError("no text to index")
                old = previous[1] if previous else []
                pending.append(_Pending(source, chunks, old))
                (report.updated if previous else report.added).append(source)
        except ReadError as exc:
            report.failed.append((source, str(exc)))
        except Exception as exc:  # a parser's own error: report the file, go on with the rest
            log.debug("failed to read %s", source, exc_info=True)
            report.failed.append((source, f"{type(exc).__name__}: {exc}"))
        if progress:
            progress.advance("files", 1, path.name)
    return pending


def _embed_and_store(
    store: GuidelineStore,
    pending: list[_Pending],
    report: IngestReport,
    progress: Progress | None,
    batch_size: int,
    precomputed: VectorCache | None = None,
) -> None:
    chunks = [c for p in pending for c in p.chunks]
    if progress:
        progress.start("embedding", len(chunks))
    if not chunks:
        return
    started = time.perf_counter()
    texts = [c.embed_text for c in chunks]
    if precomputed is not None:
        vectors, missing = precomputed.lookup(texts)
        report.chunks_precomputed += len(texts) - len(missing)
        if progress and len(missing) < len(texts):
            progress.advance("embedding", len(texts) - len(missing))
    else:
        vectors, missing = None, list(range(len(texts)))
    if missing:
        fresh = store.embedder.encode(
            [texts[i] for i in missing],
            batch_size=batch_size,
            on_batch=(lambda n: progress.advance("embedding", n)) if progress else None,
        )
        if vectors is None:
            vectors = fresh
        else:
            vectors[missing] = fresh
    assert vectors is not None
    report.embed_seconds = time.perf_counter() - started
    stale = [i for p in pending for i in set(p.old_ids) - {c.id for c in p.chunks}]
    store.delete(stale)
    store.add(chunks, vectors)
    report.chunks_added += len(chunks)
    report.chunks_removed += len(stale)


def _prune(
    store: GuidelineStore,
    stored: dict[str, tuple[str, list[str]]],
    roots: list[Path],
    seen: set[str],
    report: IngestReport,
) -> None:
    """Drop sources that no longer exist, or that lie under a given folder but were not seen."""
    for source, (_, ids) in stored.items():
        if source in seen:
            continue
        path = Path(source)
        under_root = any(root.is_dir() and path.is_relative_to(root) for root in roots)
        if under_root or not path.exists():
            store.delete(ids)
            report.pruned.append(source)
            report.chunks_removed += len(ids)
