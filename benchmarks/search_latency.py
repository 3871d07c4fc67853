"""``search_guidelines`` latency at 10k and 100k chunks, beside exact numpy search.

Stored chunks are synthetic so the benchmark runs in minutes: texts are drawn
from the starter corpus vocabulary (so BM25 has real work to do) and vectors are
random unit vectors of the model's dimension. Every query is embedded for real.
For each size it reports p50/p95 of the full tool call (query expansion, embed
the query, Chroma HNSW + BM25, fusion, fetch, citation, rendering), of the
store's dense-only search (embedding included) and BM25-only search, of an exact
numpy dot-product top-k over the same vectors with the query embedding counted
(``numpy_exact_with_embed``, the fair comparison with ``store_dense``) and without
it (``numpy_exact_dot``), plus the query embedding alone; and beside the timings
the recall@5 of Chroma's approximate (HNSW) dense search against that exact top 5
for the same query vectors. Each is measured in steady state, after one warm-up
pass over the queries.

Beside the timings, retrieval quality: the starter corpus's real chunks (embedded for
real) are stored among the synthetic ones, and ``recall@5`` is the share of the
labelled queries (benchmarks/retrieval_queries.json) whose top 5 holds a chunk of a
file labelled relevant, for each searcher timed (the tool's hybrid search, dense, BM25,
exact numpy). The synthetic chunks' random vectors are easier distractors for dense
search than real passages would be; their words are real, so BM25's are not.

    .venv/bin/python benchmarks/search_latency.py [--sizes 10000 100000] [--queries 60]

prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from knowledge.guidelines import (
    Chunk,
    GuidelineStore,
    chunk_document,
    read_document,
    starter_files,
)
from knowledge.guidelines.lexical import tokenize
from tools.evidence import EvidenceLedger
from tools.guidelines import search_guidelines
from tools.runtime import ToolContext, tool_runtime

PUBLISHERS = ["ACC/AHA", "ESC/ERS", "ATS/IDSA", "GOLD", "BTS", "NICE", "WHO"]
TAGS = ["cardiology", "pulmonology", "radiology", "emergency-medicine", "neurology"]


def _synthetic_chunks(n: int, rng: random.Random) -> list[Chunk]:
    words = [w for f in starter_files() for w in read_document(f).blocks[0].text.split()]
    words += [
        t
        for f in starter_files()
        for c in chunk_document(read_document(f))
        for t in tokenize(c.text)
    ]
    chunks = []
    for i in range(n):
        text = " ".join(rng.choices(words, k=rng.randint(60, 160)))
        chunks.append(
            Chunk(
                id=f"syn-{i:07d}",
                text=text,
                source=f"/synthetic/doc-{i // 8:06d}.md",
                title=f"Synthetic guideline {i // 8}",
                section=f"Section {i % 8}",
                publisher=PUBLISHERS[i % len(PUBLISHERS)],
                year=2000 + i % 25,
                url=f"https://example.org/{i // 8}",
                page=None,
                tags=[TAGS[i % len(TAGS)]],
                content_hash=f"{i:064x}",
                doc_hash="synthetic",
            )
        )
    return chunks


def _percentiles(samples: list[float]) -> dict[str, float]:
    ms = np.array(samples) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
    }


def _time(fn: Callable[[str], object], queries: list[str]) -> list[float]:
    # Warm-up over the whole query list: right after a bulk write of 100k chunks the
    # first few dozen searches are several times slower (index loading, allocator).
    for query in queries:
        fn(query)
    out = []
    for query in queries:
        started = time.perf_counter()
        fn(query)
        out.append(time.perf_counter() - started)
    return out


def _real_chunks(store: GuidelineStore) -> tuple[list[Chunk], np.ndarray]:
    chunks = [c for f in starter_files() for c in chunk_document(read_document(f))]
    return chunks, store.embedder.encode([c.text for c in chunks])


def _recall(labelled: list[dict[str, Any]], search: Callable[[str], list[Chunk]]) -> float:
    """The share of labelled queries whose results hold a chunk of a relevant file."""
    found = 0
    for item in labelled:
        stems = {Path(c.source).stem for c in search(item["query"])}
        found += bool(stems & set(item["relevant"]))
    return round(found / len(labelled), 3)


def _tool_search(store: GuidelineStore, query: str) -> object:
    ctx = ToolContext(ledger=EvidenceLedger(), guidelines=store)
    return search_guidelines.invoke(
        {
            "type": "tool_call",
            "id": "b",
            "name": "search_guidelines",
            "args": {"query": query, "k": 5, "runtime": tool_runtime(ctx)},
        }
    )


def _recalls(
    labelled: list[dict[str, Any]],
    store: GuidelineStore,
    chunks: list[Chunk],
    top5: Callable[[np.ndarray], np.ndarray],
) -> dict[str, float]:
    """Labelled recall@5 of each searcher timed (the tool's search is the store's hybrid)."""

    def hits(mode: str, **kw: Any) -> Callable[[str], list[Chunk]]:
        return lambda q: [h.chunk for h in store.search(q, k=5, mode=mode, **kw)]

    return {
        "tool_hybrid": _recall(labelled, hits("hybrid")),
        "store_dense": _recall(labelled, hits("dense", expand=False)),
        "store_lexical": _recall(labelled, hits("lexical")),
        "numpy_exact": _recall(
            labelled, lambda q: [chunks[i] for i in top5(store.embedder.encode_query(q))]
        ),
    }


def _build(
    store: GuidelineStore, size: int, rng: random.Random
) -> tuple[list[Chunk], np.ndarray, float]:
    """Store ``size`` synthetic chunks and the real starter chunks; the seconds it took."""
    real, real_vectors = _real_chunks(store)
    chunks = _synthetic_chunks(size, rng) + real
    vectors = np.asarray(
        np.random.default_rng(size).standard_normal((size, store.embedder.dim)), dtype=np.float32
    )
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = np.concatenate([vectors, real_vectors.astype(np.float32)])
    started = time.perf_counter()
    store.add(chunks, vectors)
    store.commit()
    return chunks, vectors, time.perf_counter() - started


def _measure(
    size: int, labelled: list[dict[str, Any]], folder: Path, rng: random.Random
) -> dict[str, object]:
    store = GuidelineStore.open(folder / f"store-{size}")
    chunks, vectors, build_s = _build(store, size, rng)
    queries = [item["query"] for item in labelled]
    embedded = {q: store.embedder.encode_query(q) for q in queries}

    def tool(query: str) -> object:
        return _tool_search(store, query)

    def top5(query_vector: np.ndarray) -> np.ndarray:
        scores = vectors @ query_vector
        top = np.argpartition(-scores, 5)[:5]
        return top[np.argsort(-scores[top])]

    def dense(q: str) -> list[Any]:
        return store.search(q, k=5, mode="dense", expand=False)

    def lexical(q: str) -> list[Any]:
        return store.search(q, k=5, mode="lexical")

    # HNSW recall@5 against the exact top 5 for the same query vector (no expansion,
    # so both sides search with exactly the embedded query text).
    overlap = sum(
        len({h.chunk.id for h in dense(q)} & {chunks[i].id for i in top5(embedded[q])})
        for q in queries
    )
    return {
        "chunks": store.count(),
        "real_chunks": sum(not c.id.startswith("syn-") for c in chunks),
        "build_s": round(build_s, 1),
        "tool_hybrid": _percentiles(_time(tool, queries)),
        "store_dense": _percentiles(_time(dense, queries)),
        "store_dense_recall@5_vs_exact": round(overlap / (5 * len(queries)), 4),
        "store_lexical": _percentiles(_time(lexical, queries)),
        "numpy_exact_dot": _percentiles(_time(lambda q: top5(embedded[q]), queries)),
        "numpy_exact_with_embed": _percentiles(
            _time(lambda q: top5(store.embedder.encode_query(q)), queries)
        ),
        "embed_query": _percentiles(_time(store.embedder.encode_query, queries)),
        "labelled_recall@5": _recalls(labelled, store, chunks, top5),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=60)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    labelled = json.loads(Path(__file__).with_name("retrieval_queries.json").read_text())["queries"]
    labelled = labelled[: args.queries]
    rng = random.Random(0)
    results: dict[str, object] = {"benchmark": "search_latency", "queries": len(labelled), "k": 5}
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            results[str(size)] = _measure(size, labelled, Path(folder), rng)
    results["load_average_1m"] = round(os.getloadavg()[0], 2)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
