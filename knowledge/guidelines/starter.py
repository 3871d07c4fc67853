"""The starter guideline corpus shipped in ``knowledge/corpus`` and its ready-made store."""

from __future__ import annotations

import logging
from pathlib import Path

from knowledge.guidelines.corpus import STARTER_CORPUS, starter_files, starter_roots
from knowledge.guidelines.embeddings import DEFAULT_EMBEDDING_MODEL
from knowledge.guidelines.ingest import IngestReport, Progress, ingest_paths
from knowledge.guidelines.store import GuidelineStore
from knowledge.guidelines.vectors import shipped_vectors

log = logging.getLogger(__name__)


def ensure_starter_store(
    path: Path,
    embedding_model: str = DEFAULT_EMBEDDING_MODEL,
    *,
    chroma_url: str | None = None,
    progress: Progress | None = None,
    include_open_medicine: bool = True,
) -> GuidelineStore:
    """Open the store at ``path`` with the starter corpus in it, ingesting what is missing.

    The first call stores the corpus with the vectors shipped in the package
    (:mod:`knowledge.guidelines.vectors`: seconds, no model loaded) and embeds only
    chunks those do not hold (another model, a changed file, another open-medicine
    version); later calls only compare file hashes. Starter files that were removed
    or moved are pruned.
    """
    store = GuidelineStore.open(path, embedding_model=embedding_model, chroma_url=chroma_url)
    roots = starter_roots(include_open_medicine)
    report: IngestReport = ingest_paths(
        store, roots, prune=True, progress=progress, precomputed=shipped_vectors()
    )
    for source, reason in report.failed:
        log.warning("starter corpus file %s not ingested: %s", source, reason)
    if report.changed:
        log.info(
            "starter guideline store at %s: %d files added, %d updated, %d chunks "
            "(%d with precomputed vectors)",
            store.location,
            len(report.added),
            len(report.updated),
            store.count(),
            report.chunks_precomputed,
        )
    return store


__all__ = ["STARTER_CORPUS", "ensure_starter_store", "starter_files", "starter_roots"]
