"""The starter vectors shipped as package data: current, real, and used only where they fit."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from knowledge.guidelines import (
    GuidelineStore,
    chunk_document,
    ingest_paths,
    read_document,
    starter_files,
)
from knowledge.guidelines.readers import iter_files
from knowledge.guidelines.starter import starter_roots
from knowledge.guidelines.vectors import (
    MANIFEST,
    VECTORS,
    VectorCache,
    model_fingerprint,
    shipped_vectors,
    text_key,
)

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_vectors_cover_the_current_starter_corpus() -> None:
    """Fails when the corpus, the chunking or open-medicine changed without regenerating."""
    cache = shipped_vectors()
    assert cache is not None
    missing = [
        f"{path.name}: {chunk.section}"
        for path in iter_files(starter_roots())
        for chunk in chunk_document(read_document(path))
        if text_key(chunk.embed_text) not in cache.rows
    ]
    assert not missing, (
        f"{len(missing)} starter chunks have no shipped vector (first: {missing[:3]}); "
        "run `.venv/bin/python -m knowledge.guidelines.vectors`"
    )


def test_shipped_vectors_are_small_float16_package_data() -> None:
    assert VECTORS.stat().st_size + MANIFEST.stat().st_size < 20 * 1024 * 1024
    assert np.load(VECTORS).dtype == np.float16
    package_data = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"**/*.npy"' in package_data and '"**/*.json"' in package_data


def test_a_fresh_store_uses_them_and_they_match_the_model(tmp_path: Path) -> None:
    files = starter_files()[:4]
    store = GuidelineStore.open(tmp_path / "store")
    report = ingest_paths(store, files, precomputed=shipped_vectors())
    assert report.chunks_added > 0 and report.chunks_precomputed == report.chunks_added
    # The shipped vectors are what the model gives for those texts.
    stored = store._collection.get(limit=5, include=["documents", "metadatas", "embeddings"])
    from knowledge.guidelines.chunking import Chunk

    texts = [
        Chunk.from_record(i, d or "", dict(m or {})).embed_text
        for i, d, m in zip(stored["ids"], stored["documents"], stored["metadatas"], strict=True)
    ]
    fresh = store.embedder.encode(texts)
    cosine = np.sum(fresh * np.asarray(stored["embeddings"]), axis=1)
    assert np.all(cosine > 0.999), cosine


def test_a_changed_file_is_embedded_and_the_rest_is_not(tmp_path: Path) -> None:
    source = starter_files()[0]
    copy = tmp_path / "docs" / source.name
    copy.parent.mkdir()
    shutil.copy(source, copy)
    text = copy.read_text(encoding="utf-8")
    copy.write_text(text + "\n\n## Local addendum\n\nA paragraph only this copy has.\n", "utf-8")
    store = GuidelineStore.open(tmp_path / "store")
    report = ingest_paths(store, [copy], precomputed=shipped_vectors())
    assert report.chunks_added - report.chunks_precomputed >= 1
    hit = store.search("a paragraph only this copy has", k=1, mode="dense", expand=False)[0]
    assert hit.chunk.section == "Local addendum"


def test_vectors_of_another_model_are_not_used(tmp_path: Path) -> None:
    cache = shipped_vectors()
    assert cache is not None
    store = GuidelineStore.open(tmp_path / "store")
    assert cache.usable_for(store.embedder.name, model_fingerprint(store.embedder.location))
    assert model_fingerprint(store.embedder.location)  # the bundled model has a folder
    other = VectorCache(
        model=cache.model,
        fingerprint="another-model-version",
        chunking=cache.chunking,
        corpus=cache.corpus,
        rows=cache.rows,
        vectors=np.zeros_like(cache.vectors),  # would make every search return nothing useful
    )
    report = ingest_paths(store, starter_files()[:1], precomputed=other)
    assert report.chunks_precomputed == 0 and report.chunks_added > 0
    stored = np.asarray(store._collection.get(include=["embeddings"])["embeddings"])
    assert np.allclose(np.linalg.norm(stored, axis=1), 1.0, atol=1e-3)  # embedded, not zeros


@pytest.mark.parametrize("content", [b"", b"not a numpy file"])
def test_unreadable_vectors_fall_back_to_embedding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes
) -> None:
    import knowledge.guidelines.vectors as vectors

    broken = tmp_path / "v.npy"
    broken.write_bytes(content)
    monkeypatch.setattr(vectors, "VECTORS", broken)
    vectors.shipped_vectors.cache_clear()
    try:
        assert vectors.shipped_vectors() is None
    finally:
        vectors.shipped_vectors.cache_clear()
