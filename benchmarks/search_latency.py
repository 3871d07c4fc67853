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
from tools.runtime import ToolContext

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


def _measure(size: int, queries: list[str], folder: Path, rng: random.Random) -> dict[str, object]:
    store = GuidelineStore.open(folder / f"store-{size}")
    chunks = _synthetic_chunks(size, rng)
    vectors = np.asarray(
        np.random.default_rng(size).standard_normal((size, store.embedder.dim)), dtype=np.float32
    )
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    started = time.perf_counter()
    store.add(chunks, vectors)
    store.commit()
    build_s = time.perf_counter() - started

    def tool(query: str) -> object:
        ctx = ToolContext(ledger=EvidenceLedger(), guidelines=store)
        return search_guidelines.invoke(
            {
                "type": "tool_call",
                "id": "b",
                "name": "search_guidelines",
                "args": {"query": query, "k": 5, "ctx": ctx},
            }
        )

    embedded = {q: store.embedder.encode_query(q) for q in queries}

    def top5(query_vector: np.ndarray) -> np.ndarray:
        scores = vectors @ query_vector
        top = np.argpartition(-scores, 5)[:5]
        return top[np.argsort(-scores[top])]

    def exact(query: str) -> object:
        return top5(embedded[query])

    def exact_embedding_too(query: str) -> object:
        return top5(store.embedder.encode_query(query))

    # HNSW recall@5 against the exact top 5 for the same query vector (no expansion,
    # so both sides search with exactly the embedded query text).
    overlap = 0
    for query in queries:
        found = {h.chunk.id for h in store.search(query, k=5, mode="dense", expand=False)}
        overlap += len(found & {chunks[i].id for i in top5(embedded[query])})
    recall = round(overlap / (5 * len(queries)), 4)

    return {
        "chunks": store.count(),
        "build_s": round(build_s, 1),
        "tool_hybrid": _percentiles(_time(tool, queries)),
        "store_dense": _percentiles(
            _time(lambda q: store.search(q, k=5, mode="dense", expand=False), queries)
        ),
        "store_dense_recall@5_vs_exact": recall,
        "store_lexical": _percentiles(
            _time(lambda q: store.search(q, k=5, mode="lexical"), queries)
        ),
        "numpy_exact_dot": _percentiles(_time(exact, queries)),
        "numpy_exact_with_embed": _percentiles(_time(exact_embedding_too, queries)),
        "embed_query": _percentiles(_time(store.embedder.encode_query, queries)),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=60)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    labelled = json.loads(Path(__file__).with_name("retrieval_queries.json").read_text())["queries"]
    queries = [q["query"] for q in labelled][: args.queries]
    rng = random.Random(0)
    results: dict[str, object] = {"benchmark": "search_latency", "queries": len(queries), "k": 5}
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            results[str(size)] = _measure(size, queries, Path(folder), rng)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
