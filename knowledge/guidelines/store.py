"""The guideline store: Chroma vectors + BM25, fused by reciprocal rank fusion.

Chroma is embedded (``PersistentClient`` under ``<folder>/chroma``) by default, or
a Chroma server (``HttpClient``) when a URL is given; everything else behaves the
same. Chroma is always handed vectors and ``embedding_function=None``, so it never
loads (or downloads) an embedding model of its own.

The collection's metadata records the embedding model, its dimension, the
chunking and a revision that changes on every write; the BM25 index under
``<folder>/bm25-<collection>`` is rebuilt from Chroma when its revision is stale.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Literal

import numpy as np
from chromadb.errors import NotFoundError

from knowledge.guidelines.chroma import (
    ModelMismatchError,
    StoreError,
    StoreNotFound,
    chroma_client,
    drop_collection,
)
from knowledge.guidelines.chunking import Chunk, ChunkConfig, filter_keys
from knowledge.guidelines.embeddings import (
    DEFAULT_EMBEDDING_MODEL,
    Embedder,
    canonical_model_name,
    get_embedder,
)
from knowledge.guidelines.expansion import default_lexicon
from knowledge.guidelines.lexical import LexicalIndex
from knowledge.guidelines.ranking import Filters, SearchHit, fuse, fuse_expanded, placeholder

log = logging.getLogger(__name__)

COLLECTION = "lingshu-guidelines"
REVISION_CHECK_S = 10.0
"""How often a reader looks for writes made by another process (another ingest)."""

SearchMode = Literal["hybrid", "dense", "lexical"]


class GuidelineStore:
    """Hybrid dense + BM25 retrieval over guideline chunks with citation metadata."""

    def __init__(
        self,
        client: Any,
        collection: Any,
        embedder: Embedder,
        folder: Path,
        *,
        location: str,
        reranker: str | None = None,
        expand_queries: bool = True,
        remote: bool = False,
    ) -> None:
        self.expand_queries = expand_queries
        """Expand queries from findings to candidate conditions unless a search says not to."""
        self.remote = remote
        """True when the vectors live on a Chroma server (``HttpClient``)."""
        self._client = client
        self._collection = collection
        self.embedder = embedder
        self.folder = folder
        self.location = location
        self._lexical_dir = folder / f"bm25-{collection.name}"
        self._lexical: LexicalIndex | None = None
        self._lexical_revision: str | None = None
        self._checked_at = 0.0
        self._reranker_name = reranker
        self._reranker: Any = None
        self._lock = threading.RLock()

    # --- opening ------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        folder: Path,
        *,
        embedding_model: str = DEFAULT_EMBEDDING_MODEL,
        chroma_url: str | None = None,
        collection: str = COLLECTION,
        create: bool = True,
        rebuild: bool = False,
        reranker: str | None = None,
    ) -> GuidelineStore:
        """Open (or create) the store; raises :class:`ModelMismatchError` on a model change."""
        folder = Path(folder).expanduser()
        client, location = chroma_client(folder, chroma_url, create=create or rebuild)
        if rebuild:
            drop_collection(client, collection)
            shutil.rmtree(folder / f"bm25-{collection}", ignore_errors=True)
        model = canonical_model_name(embedding_model)
        try:
            col = client.get_collection(collection, embedding_function=None)
        except (NotFoundError, ValueError) as exc:
            if not (create or rebuild):
                raise StoreNotFound(f"no guideline store at {location}") from exc
            col = client.create_collection(
                collection,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"embedding_model": model, "revision": uuid.uuid4().hex},
            )
        built_with = (col.metadata or {}).get("embedding_model")
        if built_with and built_with != model:
            raise ModelMismatchError(
                f"the guideline store at {location} was built with embedding model "
                f"{built_with!r}, not {model!r}. Either use {built_with!r} "
                "(LINGSHU_EMBEDDING_MODEL) or re-embed everything with "
                "`lingshu ingest --rebuild PATH...`."
            )
        folder.mkdir(parents=True, exist_ok=True)
        return cls(
            client,
            col,
            get_embedder(embedding_model),
            folder,
            location=location,
            reranker=reranker,
            remote=bool(chroma_url),
        )

    # --- what is stored -----------------------------------------------------------------

    @property
    def model_name(self) -> str:
        return self.embedder.name

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self._collection.metadata or {})

    def count(self) -> int:
        return int(self._collection.count())

    def sources(self) -> dict[str, tuple[str, list[str]]]:
        """Every stored source: ``{source: (file sha256, [chunk ids])}``."""
        out: dict[str, tuple[str, list[str]]] = {}
        for ids, _, metas in self._pages(include=["metadatas"]):
            for chunk_id, meta in zip(ids, metas, strict=True):
                source = str(meta.get("source", ""))
                entry = out.setdefault(source, (str(meta.get("doc_hash", "")), []))
                entry[1].append(chunk_id)
        return out

    def get(self, ids: list[str]) -> dict[str, Chunk]:
        """Chunks by id (missing ids are simply absent)."""
        if not ids:
            return {}
        got = self._collection.get(ids=ids, include=["documents", "metadatas"])
        rows = zip(got["ids"], got["documents"] or [], got["metadatas"] or [], strict=True)
        return {i: Chunk.from_record(i, d or "", dict(m or {})) for i, d, m in rows}

    # --- writing ------------------------------------------------------------------------

    def add(self, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Store chunks with their vectors (upsert by chunk id)."""
        if not chunks:
            return
        if vectors.shape != (len(chunks), vectors.shape[1]):
            raise StoreError(f"{len(chunks)} chunks but vectors of shape {vectors.shape}")
        dim = self.metadata.get("dim")
        if dim is not None and int(dim) != vectors.shape[1]:
            raise ModelMismatchError(
                f"vectors of dimension {vectors.shape[1]} do not fit this store ({dim}); "
                "rebuild it with `lingshu ingest --rebuild PATH...`"
            )
        batch = int(self._client.get_max_batch_size())
        for start in range(0, len(chunks), batch):
            part = chunks[start : start + batch]
            self._collection.upsert(
                ids=[c.id for c in part],
                embeddings=vectors[start : start + batch].astype(np.float32),
                documents=[c.text for c in part],
                metadatas=[c.metadata() for c in part],
            )
        if dim is None:
            self._set_metadata(dim=int(vectors.shape[1]))

    def delete(self, ids: list[str]) -> None:
        batch = int(self._client.get_max_batch_size())
        for start in range(0, len(ids), batch):
            self._collection.delete(ids=ids[start : start + batch])

    def commit(self, chunking: ChunkConfig | None = None) -> None:
        """Mark the end of a write: new revision, BM25 rebuilt from the stored chunks."""
        extra = {"chunking": chunking.key} if chunking else {}
        self._set_metadata(revision=uuid.uuid4().hex, **extra)
        with self._lock:
            self._rebuild_lexical()

    def _set_metadata(self, **values: Any) -> None:
        meta = self.metadata
        meta.update(values)
        meta["embedding_model"] = self.embedder.name
        self._collection.modify(metadata=meta)
        self._collection = self._client.get_collection(
            self._collection.name, embedding_function=None
        )

    # --- searching ----------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        filters: Filters | None = None,
        mode: SearchMode = "hybrid",
        candidates: int | None = None,
        expand: bool | None = None,
    ) -> list[SearchHit]:
        """The ``k`` best passages for ``query`` (dense, BM25, or both fused by RRF).

        With ``expand`` (default: the store's ``expand_queries``), each retriever also
        searches for the query with its abbreviations spelled out and the conditions
        its findings suggest (:mod:`knowledge.guidelines.expansion`), and the rankings
        of the typed and the expanded query are fused (expanded weighted 2:1).
        """
        query = query.strip()
        if not query or k <= 0:
            return []
        if not self.remote:
            return self._search(query, k, filters, mode, candidates, expand)
        try:
            return self._search(query, k, filters, mode, candidates, expand)
        except StoreError:
            raise
        except Exception as exc:  # chromadb and httpx raise many kinds when a server is gone
            raise StoreError(
                f"the Chroma server at {self.location} did not answer "
                f"({type(exc).__name__}: {exc}); check that it is running"
            ) from exc

    def _search(
        self,
        query: str,
        k: int,
        filters: Filters | None,
        mode: SearchMode,
        candidates: int | None,
        expand: bool | None,
    ) -> list[SearchHit]:
        filters = filters or Filters()
        pool = candidates or max(4 * k, 20)
        wanted = self.expand_queries if expand is None else expand
        searched = default_lexicon().expand(query) if wanted else query
        texts = [query] if searched == query else [query, searched]
        dense = self._dense_many(texts, pool, filters) if mode != "lexical" else [[], []]
        lexical = [
            self._lexical_hits(text, pool, filters) if mode != "dense" else [] for text in texts
        ]
        if searched == query:
            hits = fuse(dense[0], lexical[0])
        else:
            hits = fuse_expanded((dense[0], lexical[0]), (dense[1], lexical[1]))
        missing = [h.chunk.id for h in hits if not h.chunk.text]
        if missing:
            found = self.get(missing)
            for hit in hits:
                hit.chunk = found.get(hit.chunk.id, hit.chunk)
            hits = [h for h in hits if h.chunk.text]
        if self._reranker_name and hits:
            hits = self._rerank(query, hits)
        return hits[:k]

    def _dense(self, query: str, n: int, filters: Filters) -> list[Chunk]:
        return self._dense_many([query], n, filters)[0]

    def _dense_many(self, queries: list[str], n: int, filters: Filters) -> list[list[Chunk]]:
        """Dense rankings for several query texts: one encoder batch, one Chroma query."""
        count = self.count()
        if count == 0:
            return [[] for _ in queries]
        vectors = self.embedder.encode(queries, batch_size=max(1, len(queries)))
        got = self._collection.query(
            query_embeddings=list(vectors),
            n_results=min(n, count),
            where=filters.where(),
            include=["documents", "metadatas"],
        )
        return [
            [
                Chunk.from_record(i, d or "", dict(m or {}))
                for i, d, m in zip(ids, docs, metas, strict=True)
            ]
            for ids, docs, metas in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        ]

    def _lexical_hits(self, query: str, n: int, filters: Filters) -> list[Chunk]:
        index = self.lexical()
        mask = index.mask(filters.year_min, filters.year_max, filters.keys())
        return [placeholder(i) for i, _ in index.search(query, n, mask)]

    def lexical(self) -> LexicalIndex:
        """The BM25 index, rebuilt first when another write has happened since."""
        with self._lock:
            now = time.monotonic()
            if self._lexical is not None and now - self._checked_at < REVISION_CHECK_S:
                return self._lexical
            self._checked_at = now
            self._collection = self._client.get_collection(
                self._collection.name, embedding_function=None
            )
            revision = str(self.metadata.get("revision", ""))
            if self._lexical is None or self._lexical_revision != revision:
                loaded = LexicalIndex.load(self._lexical_dir)
                if loaded is not None and loaded[1] == revision:
                    self._lexical, self._lexical_revision = loaded
                else:
                    self._rebuild_lexical()
            assert self._lexical is not None
            return self._lexical

    def _rebuild_lexical(self) -> None:
        ids: list[str] = []
        texts: list[str] = []
        years: list[int] = []
        keys: list[frozenset[str]] = []
        for page_ids, docs, metas in self._pages(include=["documents", "metadatas"]):
            for chunk_id, doc, meta in zip(page_ids, docs, metas, strict=True):
                chunk = Chunk.from_record(chunk_id, doc or "", dict(meta or {}))
                ids.append(chunk_id)
                texts.append(chunk.embed_text)
                years.append(chunk.year or 0)
                keys.append(filter_keys(chunk.publisher, chunk.tags))
        revision = str(self.metadata.get("revision", ""))
        index = LexicalIndex.build(ids, texts, years, keys)
        index.save(self._lexical_dir, revision)
        self._lexical, self._lexical_revision = index, revision
        self._checked_at = time.monotonic()

    def _pages(self, include: list[str], size: int = 5000) -> Any:
        offset = 0
        while True:
            got = self._collection.get(include=include, limit=size, offset=offset)
            ids = got["ids"]
            if not ids:
                return
            docs = got.get("documents") or [None] * len(ids)
            metas = got.get("metadatas") or [{}] * len(ids)
            yield ids, docs, metas
            offset += len(ids)

    def _rerank(self, query: str, hits: list[SearchHit]) -> list[SearchHit]:
        if self._reranker is None:
            from sentence_transformers import CrossEncoder

            self._reranker = CrossEncoder(
                self._reranker_name, device=self.embedder.device, local_files_only=True
            )
        scores = self._reranker.predict(
            [(query, h.chunk.embed_text) for h in hits], show_progress_bar=False
        )
        for hit, score in zip(hits, scores, strict=True):
            hit.score = float(score)
        return sorted(hits, key=lambda h: -h.score)
