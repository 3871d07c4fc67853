"""The starter guideline corpus shipped in ``knowledge/corpus`` and its ready-made store."""

from __future__ import annotations

import logging
from pathlib import Path

from knowledge.guidelines.embeddings import DEFAULT_EMBEDDING_MODEL
from knowledge.guidelines.ingest import IngestReport, Progress, ingest_paths
from knowledge.guidelines.store import GuidelineStore

log = logging.getLogger(__name__)

STARTER_CORPUS = Path(__file__).resolve().parent.parent / "corpus"
"""Concise educational summaries of public guidelines (Markdown with front matter)."""


def starter_files() -> list[Path]:
    """The Markdown files of the starter corpus, sorted by name."""
    return sorted(STARTER_CORPUS.glob("*.md"))


def ensure_starter_store(
    path: Path,
    embedding_model: str = DEFAULT_EMBEDDING_MODEL,
    *,
    chroma_url: str | None = None,
    progress: Progress | None = None,
) -> GuidelineStore:
    """Open the store at ``path`` with the starter corpus in it, ingesting what is missing.

    The first call embeds the corpus (seconds on a laptop CPU); later calls only
    compare file hashes. Starter files that were removed or moved are pruned.
    """
    store = GuidelineStore.open(path, embedding_model=embedding_model, chroma_url=chroma_url)
    report: IngestReport = ingest_paths(store, [STARTER_CORPUS], prune=True, progress=progress)
    for source, reason in report.failed:
        log.warning("starter corpus file %s not ingested: %s", source, reason)
    if report.changed:
        log.info(
            "starter guideline store at %s: %d files added, %d updated, %d chunks",
            store.location,
            len(report.added),
            len(report.updated),
            store.count(),
        )
    return store
