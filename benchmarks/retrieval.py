"""Retrieval quality on the starter corpus, and the figure of each retrieval lever.

Two labelled sets:

- ``retrieval_queries.json`` (the project's 20 summaries, queries that name the
  topic): recall@5 and MRR@10 at section and document level, over the project
  corpus alone (as before), for dense, BM25 and hybrid, with query expansion on
  (the default) and off.
- ``retrieval_presentations.json`` (bedside presentations that do not name the
  condition, over the whole starter store including open-medicine): document-level
  recall@5 and top-1, on the dev and held-out splits, for each lever: retriever
  (dense / BM25 / hybrid), findings->conditions query expansion, RRF fusion weights
  and k, and extra weight on the guideline title's own embedding.

Chunk results (the first 40) are collapsed to distinct documents (or sections) in
rank order. A document is a project summary (file stem) or an open-medicine
guideline (its registry id, across its section files).

    .venv/bin/python benchmarks/retrieval.py [--no-levers]

prints one JSON line.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from knowledge.guidelines import GuidelineStore, SearchHit, ensure_starter_store
from knowledge.guidelines.chunking import Chunk
from knowledge.guidelines.ranking import fuse

HERE = Path(__file__).resolve().parent
TOPICS = HERE / "retrieval_queries.json"
PRESENTATIONS = HERE / "retrieval_presentations.json"
MODES = ("dense", "lexical", "hybrid")
DEPTH = 40


def document_key(source: str) -> str:
    """A project summary by its file stem; a registry guideline by its folder (its id)."""
    path = Path(source)
    return path.parent.name if path.parent.parent.name == "content" else path.stem


def _collapse(hits: list[SearchHit], level: str) -> list[tuple[str, ...]]:
    ranked: list[tuple[str, ...]] = []
    for hit in hits:
        doc = document_key(hit.chunk.source)
        key = (doc,) if level == "document" else (doc, hit.chunk.section)
        if key not in ranked:
            ranked.append(key)
    return ranked[:10]


def _topic_scores(
    labelled: list[dict[str, Any]], results: list[list[SearchHit]], level: str
) -> tuple[float, float]:
    recall = reciprocal = 0.0
    for item, hits in zip(labelled, results, strict=True):
        relevant = {(d,) if level == "document" else (d, item["section"]) for d in item["relevant"]}
        ranked = _collapse(hits, level)
        recall += bool(relevant & set(ranked[:5]))
        rank = next((i for i, key in enumerate(ranked, start=1) if key in relevant), None)
        reciprocal += 1.0 / rank if rank else 0.0
    return round(recall / len(labelled), 4), round(reciprocal / len(labelled), 4)


def topic_set(folder: Path) -> dict[str, Any]:
    labelled = json.loads(TOPICS.read_text(encoding="utf-8"))["queries"]
    store = ensure_starter_store(folder / "project", include_open_medicine=False)
    line: dict[str, Any] = {"queries": len(labelled), "chunks": store.count()}
    for expand in (True, False):
        prefix = "" if expand else "noexp_"
        for mode in MODES:
            results = [
                store.search(q["query"], k=DEPTH, mode=mode, expand=expand)  # type: ignore[arg-type]
                for q in labelled
            ]
            for level, tag in (("section", ""), ("document", "doc_")):
                recall, mrr = _topic_scores(labelled, results, level)
                line[f"{prefix}{mode}_{tag}recall@5"] = recall
                line[f"{prefix}{mode}_{tag}mrr@10"] = mrr
    return line


class Presentations:
    """The presentation set over the whole starter store, scored per lever."""

    def __init__(self, store: GuidelineStore) -> None:
        self.store = store
        data = json.loads(PRESENTATIONS.read_text(encoding="utf-8"))["queries"]
        self.splits = {
            "dev": [q for q in data if q["split"] == "dev"],
            "heldout": [q for q in data if q["split"] == "heldout"],
        }
        self._lists: dict[tuple[str, str, bool], list[Chunk]] = {}

    def ranked_list(self, query: str, mode: str, expand: bool) -> list[Chunk]:
        key = (query, mode, expand)
        if key not in self._lists:
            hits = self.store.search(query, k=4 * DEPTH, mode=mode, expand=expand)  # type: ignore[arg-type]
            self._lists[key] = [h.chunk for h in hits]
        return self._lists[key]

    def score(self, rank: Any) -> dict[str, Any]:
        """``rank(query) -> documents best first``; recall@5 and top-1 per split."""
        out: dict[str, Any] = {}
        for split, items in self.splits.items():
            recall = top1 = 0
            for item in items:
                documents = rank(item["query"])
                relevant = set(item["relevant"])
                recall += bool(relevant & set(documents[:5]))
                top1 += bool(documents and documents[0] in relevant)
            out[split] = {
                "doc_recall@5": round(recall / len(items), 3),
                "top1": round(top1 / len(items), 3),
            }
        return out

    def fused(self, expand: bool, weights: tuple[float, float], k: int) -> Any:
        def rank(query: str) -> list[str]:
            hits = fuse(
                self.ranked_list(query, "dense", expand),
                self.ranked_list(query, "lexical", expand),
                weights,
                k,
            )
            return [key[0] for key in _collapse(hits[:DEPTH], "document")]

        return rank

    def mode(self, mode: str, expand: bool) -> Any:
        def rank(query: str) -> list[str]:
            hits = self.store.search(query, k=DEPTH, mode=mode, expand=expand)  # type: ignore[arg-type]
            return [key[0] for key in _collapse(hits, "document")]

        return rank

    def title_weighted(self, weight: float) -> Any:
        """Dense score plus ``weight`` x the similarity of the query to the guideline's title."""
        from knowledge.guidelines.expansion import default_lexicon

        got = self.store._collection.get(include=["metadatas", "embeddings"])
        vectors = np.asarray(got["embeddings"], dtype=np.float32)
        metas = [dict(m or {}) for m in got["metadatas"]]
        docs = [document_key(str(m.get("source", ""))) for m in metas]
        titles = sorted({(d, str(m.get("title", ""))) for d, m in zip(docs, metas, strict=True)})
        encoded = self.store.embedder.encode([t for _, t in titles])
        by_doc = dict(zip([d for d, _ in titles], encoded, strict=True))
        title_vectors = np.stack([by_doc[d] for d in docs])
        ids = got["ids"]

        def rank(query: str) -> list[str]:
            searched = default_lexicon().expand(query)
            q = self.store.embedder.encode_query(searched)
            scores = vectors @ q + weight * (title_vectors @ q)
            order = np.argsort(-scores)[: 4 * DEPTH]
            dense = [
                Chunk(ids[i], "x", metas[i].get("source", ""), "", "", "", None, "", None)
                for i in order
            ]
            hits = fuse(dense, self.ranked_list(query, "lexical", True))
            return [key[0] for key in _collapse(hits[:DEPTH], "document")]

        return rank


def presentation_set(folder: Path, levers: bool = True) -> dict[str, Any]:
    started = time.perf_counter()
    store = ensure_starter_store(folder / "starter")
    build_s = time.perf_counter() - started
    bench = Presentations(store)
    line: dict[str, Any] = {
        "queries": {k: len(v) for k, v in bench.splits.items()},
        "documents": len({document_key(s) for s in store.sources()}),
        "chunks": store.count(),
        "store_ready_s": round(build_s, 1),
    }
    for expand in (False, True):
        for mode in MODES:
            line[f"{mode}{'_expanded' if expand else ''}"] = bench.score(bench.mode(mode, expand))
    if not levers:
        return line
    found: dict[str, Any] = {}
    for weights in ((1.0, 1.0), (0.5, 1.0), (1.0, 0.5), (0.7, 1.0)):
        for k in (10, 60):
            name = f"rrf_k{k}_dense{weights[0]}_bm25{weights[1]}"
            found[name] = bench.score(bench.fused(True, weights, k))
    for weight in (0.3, 0.6):
        found[f"title_weight_{weight}"] = bench.score(bench.title_weighted(weight))
    line["levers_expanded"] = found
    return line


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-levers", action="store_true", help="Skip the lever grid.")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        line: dict[str, Any] = {"benchmark": "retrieval"}
        line["topics"] = topic_set(Path(folder))
        line["presentations"] = presentation_set(Path(folder), levers=not args.no_levers)
        line["embedding_model"] = "sentence-transformers/all-MiniLM-L6-v2"
        line["seconds"] = round(time.perf_counter() - started, 1)
        print(json.dumps(line))


if __name__ == "__main__":
    main()
