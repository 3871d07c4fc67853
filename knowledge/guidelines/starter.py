"""The starter guideline corpus shipped in ``knowledge/corpus`` and its ready-made store."""

from __future__ import annotations

import logging
from pathlib import Path

from knowledge.guidelines.embeddings import DEFAULT_EMBEDDING_MODEL
from knowledge.guidelines.ingest import IngestReport, Progress, ingest_paths
from knowledge.guidelines.registry import open_medicine_guidelines
from knowledge.guidelines.store import GuidelineStore
from knowledge.guidelines.vectors import shipped_vectors

log = logging.getLogger(__name__)

STARTER_CORPUS = Path(__file__).resolve().parent.parent / "corpus"
"""Concise educational summaries of public guidelines (Markdown with front matter)."""


def starter_files() -> list[Path]:
    """The Markdown files of the project's own corpus, sorted by name."""
    return sorted(STARTER_CORPUS.glob("*.md"))


def starter_roots(include_open_medicine: bool = True) -> list[Path]:
    """The folders of the starter corpus.

    The open-medicine package's guideline summaries (read in place, with the
    citation metadata of its registry) when it is installed, plus the project's own
    summaries of the imaging topics that corpus lacks.
    """
    roots = [STARTER_CORPUS]
    if include_open_medicine:
        folder = open_medicine_guidelines()
        if folder is None:
            log.warning("open-medicine is not installed; the starter has the project corpus only")
        else:
            roots.insert(0, folder)
    return roots


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
