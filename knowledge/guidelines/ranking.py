"""Filters and the fusion of dense and lexical rankings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from knowledge.guidelines.chunking import Chunk, publisher_keys, tag_key

RRF_K = 60
"""Reciprocal rank fusion constant (Cormack et al. 2009)."""
EXPANDED_WEIGHT = 2.0
"""Weight of the rankings for the expanded query against 1.0 for the question as typed."""


@dataclass(frozen=True)
class Filters:
    """Metadata filters: publisher word(s), year range, specialty tag."""

    publisher: str | None = None
    year_min: int | None = None
    year_max: int | None = None
    tag: str | None = None

    def keys(self) -> list[str]:
        keys = publisher_keys(self.publisher) if self.publisher else []
        return keys + ([tag_key(self.tag)] if self.tag else [])

    def where(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = [{key: True} for key in self.keys()]
        if self.year_min is not None:
            clauses.append({"year": {"$gte": self.year_min}})
        if self.year_max is not None:
            clauses.append({"year": {"$lte": self.year_max}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


@dataclass
class SearchHit:
    """One retrieved passage; ranks are 1-based (None: not found by that retriever)."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    lexical_rank: int | None = None


def placeholder(chunk_id: str) -> Chunk:
    return Chunk(chunk_id, "", "", "", "", "", None, "", None)


def fuse(
    dense: list[Chunk],
    lexical: list[Chunk],
    weights: tuple[float, float] = (1.0, 1.0),
    k: int = RRF_K,
) -> list[SearchHit]:
    """Reciprocal rank fusion of two ranked lists (either may be empty).

    Equal weights and k = 60 measured best on the presentation-style queries
    (BENCHMARKS.md, retrieval levers).
    """
    hits: dict[str, SearchHit] = {}
    for rank, chunk in enumerate(dense, start=1):
        hits[chunk.id] = SearchHit(chunk, weights[0] / (k + rank), dense_rank=rank)
    for rank, chunk in enumerate(lexical, start=1):
        hit = hits.get(chunk.id)
        if hit is None:
            hits[chunk.id] = SearchHit(chunk, weights[1] / (k + rank), lexical_rank=rank)
        else:
            hit.score += weights[1] / (k + rank)
            hit.lexical_rank = rank
    return sorted(hits.values(), key=lambda h: -h.score)


def fuse_expanded(
    typed: tuple[list[Chunk], list[Chunk]],
    expanded: tuple[list[Chunk], list[Chunk]],
    weight: float = EXPANDED_WEIGHT,
) -> list[SearchHit]:
    """Fuse the (dense, lexical) rankings of the question as typed and of its expansion.

    Keeping the typed question's own rankings means a question that already names its
    topic loses nothing to a wrong guess of the expansion; the expansion, weighted
    higher, carries the questions that only list findings (BENCHMARKS.md).
    """
    hits = fuse(*expanded, weights=(weight, weight))
    by_id = {h.chunk.id: h for h in hits}
    for hit in fuse(*typed):
        mine = by_id.get(hit.chunk.id)
        if mine is None:
            by_id[hit.chunk.id] = hit
            continue
        mine.score += hit.score
        mine.dense_rank = mine.dense_rank or hit.dense_rank
        mine.lexical_rank = mine.lexical_rank or hit.lexical_rank
    return sorted(by_id.values(), key=lambda h: -h.score)
