"""Guideline knowledge store: ingestion, chunking, embeddings, Chroma + BM25 hybrid retrieval.

Usable without the agent::

    from knowledge.guidelines import ensure_starter_store
    store = ensure_starter_store(Path("/tmp/guidelines"))
    for hit in store.search("suspected pulmonary embolism, haemodynamically stable", k=3):
        print(hit.chunk.title, hit.chunk.section, hit.score)
"""

from knowledge.guidelines.chunking import Chunk, ChunkConfig, chunk_document
from knowledge.guidelines.embeddings import (
    DEFAULT_EMBEDDING_MODEL,
    Embedder,
    EmbeddingModelError,
    get_embedder,
)
from knowledge.guidelines.ingest import IngestReport, Progress, ingest_paths
from knowledge.guidelines.ranking import Filters, SearchHit
from knowledge.guidelines.readers import Block, Document, ReadError, read_document
from knowledge.guidelines.starter import STARTER_CORPUS, ensure_starter_store, starter_files
from knowledge.guidelines.store import (
    COLLECTION,
    GuidelineStore,
    ModelMismatchError,
    StoreError,
    StoreNotFound,
)

__all__ = [
    "COLLECTION",
    "DEFAULT_EMBEDDING_MODEL",
    "STARTER_CORPUS",
    "Block",
    "Chunk",
    "ChunkConfig",
    "Document",
    "Embedder",
    "EmbeddingModelError",
    "Filters",
    "GuidelineStore",
    "IngestReport",
    "ModelMismatchError",
    "Progress",
    "ReadError",
    "SearchHit",
    "StoreError",
    "StoreNotFound",
    "chunk_document",
    "ensure_starter_store",
    "get_embedder",
    "ingest_paths",
    "read_document",
    "starter_files",
]
