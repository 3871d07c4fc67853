"""Ingestion throughput on the starter corpus, beside the bare encoder ceiling.

Both numbers come from the same run, with the model already loaded:
- ``ingest``: ``ingest_paths`` into a fresh embedded store (read, chunk, embed,
  write to Chroma, build BM25), chunks per second of wall time;
- ``encode``: ``SentenceTransformer.encode`` alone on the same chunk texts.

    .venv/bin/python benchmarks/ingest_throughput.py [--repeat N]

prints one JSON line. The corpus is ingested ``N`` times (default 3) into fresh
stores and the best run of each side is kept, to damp noise on shared CPUs.
"""

from __future__ import annotations

import argparse
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

import torch

from knowledge.guidelines import (
    STARTER_CORPUS,
    GuidelineStore,
    chunk_document,
    get_embedder,
    ingest_paths,
    read_document,
    starter_files,
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    embedder = get_embedder()
    model = embedder.model
    texts = [c.embed_text for f in starter_files() for c in chunk_document(read_document(f))]
    model.encode(texts[:8])  # warm-up

    ingest_s: list[float] = []
    encode_s: list[float] = []
    chunks = 0
    for _ in range(args.repeat):
        started = time.perf_counter()
        model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
        encode_s.append(time.perf_counter() - started)
        with tempfile.TemporaryDirectory() as folder:
            store = GuidelineStore.open(Path(folder) / "store")
            started = time.perf_counter()
            report = ingest_paths(store, [STARTER_CORPUS])
            ingest_s.append(time.perf_counter() - started)
            chunks = report.chunks_added
    ingest_rate = chunks / min(ingest_s)
    encode_rate = len(texts) / min(encode_s)
    print(
        json.dumps(
            {
                "benchmark": "ingest_throughput",
                "files": len(starter_files()),
                "chunks": chunks,
                "embedding_model": embedder.name,
                "torch_threads": torch.get_num_threads(),
                "ingest_chunks_per_s": round(ingest_rate, 1),
                "encode_chunks_per_s": round(encode_rate, 1),
                "ratio_to_encode": round(ingest_rate / encode_rate, 3),
                "ingest_s_best": round(min(ingest_s), 3),
                "encode_s_best": round(min(encode_s), 3),
                "repeat": args.repeat,
            }
        )
    )


if __name__ == "__main__":
    main()
