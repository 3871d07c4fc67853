"""Retrieval quality on the starter corpus: recall@5 and MRR@10 for dense, BM25 and hybrid.

Each labelled query (benchmarks/retrieval_queries.json) names the starter file and
the section that answers it. Chunk results are collapsed to distinct sections in
rank order: recall@5 is "the right section of the right guideline is among the
first 5 sections returned" (``*_doc_*``: the same at the level of whole guidelines).

    .venv/bin/python benchmarks/retrieval.py

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

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from knowledge.guidelines import ensure_starter_store

QUERIES = Path(__file__).with_name("retrieval_queries.json")
MODES = ("dense", "lexical", "hybrid")


def _ranked(store: object, query: str, mode: str, level: str) -> list[tuple[str, ...]]:
    """Distinct documents (or document sections) in the order their chunks were returned."""
    hits = store.search(query, k=40, mode=mode)  # type: ignore[attr-defined]
    ranked: list[tuple[str, ...]] = []
    for hit in hits:
        stem = Path(hit.chunk.source).stem
        key = (stem,) if level == "document" else (stem, hit.chunk.section)
        if key not in ranked:
            ranked.append(key)
    return ranked[:10]


def _score(store: object, labelled: list[dict], mode: str, level: str) -> tuple[float, float]:
    recall = reciprocal = 0.0
    for item in labelled:
        relevant = {(d,) if level == "document" else (d, item["section"]) for d in item["relevant"]}
        ranked = _ranked(store, item["query"], mode, level)
        recall += bool(relevant & set(ranked[:5]))
        rank = next((i for i, key in enumerate(ranked, start=1) if key in relevant), None)
        reciprocal += 1.0 / rank if rank else 0.0
    return round(recall / len(labelled), 4), round(reciprocal / len(labelled), 4)


def main() -> None:
    logging.disable(logging.WARNING)
    labelled = json.loads(QUERIES.read_text(encoding="utf-8"))["queries"]
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        store = ensure_starter_store(Path(folder) / "store", include_open_medicine=False)
        build_s = time.perf_counter() - started
        line: dict[str, object] = {
            "benchmark": "retrieval",
            "queries": len(labelled),
            "documents": len({Path(s).stem for s in store.sources()}),
            "chunks": store.count(),
            "embedding_model": store.model_name,
        }
        section: dict[str, float] = {}
        for mode in MODES:
            recall, mrr = _score(store, labelled, mode, "section")
            section[mode] = recall
            line[f"{mode}_recall@5"], line[f"{mode}_mrr@10"] = recall, mrr
        for mode in MODES:
            recall, mrr = _score(store, labelled, mode, "document")
            line[f"{mode}_doc_recall@5"], line[f"{mode}_doc_mrr@10"] = recall, mrr
        line["hybrid_beats_each_on_recall@5"] = all(
            section["hybrid"] > section[m] for m in ("dense", "lexical")
        )
        line["build_s"] = round(build_s, 1)
        print(json.dumps(line))


if __name__ == "__main__":
    main()
