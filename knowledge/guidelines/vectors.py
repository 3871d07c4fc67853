"""Precomputed vectors of the starter corpus, shipped as package data.

Embedding the ~1,800 starter chunks takes about a minute on a 2-core CPU (and
loading the model another ten seconds), so the vectors are computed once and
shipped: ``data/starter-vectors.npy`` (float16, one row per chunk text) with
``data/starter-vectors.json`` (the embedding model, its fingerprint, the chunking,
the corpus hash and one key per row: the sha256 of the text that was embedded).

Ingestion looks each chunk's embedded text up by that key and embeds only what is
missing, so a changed file, another version of open-medicine, another chunking or
another model is embedded as usual: stale rows are simply never used. The model
check compares the model's name and a fingerprint of its files, never loading it.

Regenerate after changing the corpus, the chunking or the default model::

    .venv/bin/python -m knowledge.guidelines.vectors
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parent / "data"
VECTORS = DATA / "starter-vectors.npy"
MANIFEST = DATA / "starter-vectors.json"
_FINGERPRINT_FILES = ("config.json", "modules.json", "tokenizer.json", "1_Pooling/config.json")


def text_key(text: str) -> str:
    """The lookup key of an embedded text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def model_fingerprint(location: str) -> str:
    """sha256 over a model folder's configuration files and its weight files' sizes.

    Cheap (no weights are read or loaded) and different for another model, another
    tokenizer or re-trained weights of another size; "" when the folder is unknown.
    """
    folder = Path(location)
    if not folder.is_dir():
        return ""
    digest = hashlib.sha256()
    for name in _FINGERPRINT_FILES:
        path = folder / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    for path in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
        digest.update(f"{path.name}:{path.stat().st_size}".encode())
    return digest.hexdigest()[:32]


def corpus_hash(file_hashes: Iterable[str]) -> str:
    """One hash over the sha256 of every corpus file (order-independent)."""
    return hashlib.sha256("\n".join(sorted(file_hashes)).encode()).hexdigest()[:32]


@dataclass
class VectorCache:
    """Vectors by embedded-text key, for one embedding model."""

    model: str
    fingerprint: str
    chunking: str
    corpus: str
    rows: dict[str, int]
    vectors: np.ndarray

    def lookup(self, texts: list[str]) -> tuple[np.ndarray, list[int]]:
        """Vectors for ``texts`` (float32, zero rows where missing) and the missing indices."""
        out = np.zeros((len(texts), self.vectors.shape[1]), dtype=np.float32)
        missing: list[int] = []
        for i, text in enumerate(texts):
            row = self.rows.get(text_key(text))
            if row is None:
                missing.append(i)
            else:
                out[i] = self.vectors[row]
        return out, missing

    def usable_for(self, model: str, fingerprint: str) -> bool:
        return self.model == model and (not fingerprint or self.fingerprint == fingerprint)


@lru_cache(maxsize=1)
def shipped_vectors() -> VectorCache | None:
    """The vectors shipped with the package, or None when absent or unreadable."""
    try:
        manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
        vectors = np.load(VECTORS, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        log.warning("precomputed starter vectors unreadable (%s); embedding instead", exc)
        return None
    keys = manifest.get("keys", [])
    if vectors.ndim != 2 or vectors.shape[0] != len(keys):
        log.warning("precomputed starter vectors do not match their manifest; ignoring them")
        return None
    return VectorCache(
        model=str(manifest.get("embedding_model", "")),
        fingerprint=str(manifest.get("model_fingerprint", "")),
        chunking=str(manifest.get("chunking", "")),
        corpus=str(manifest.get("corpus_hash", "")),
        rows={k: i for i, k in enumerate(keys)},
        vectors=vectors,
    )


def write_starter_vectors(include_open_medicine: bool = True) -> dict[str, object]:
    """Embed the starter corpus with the default model and write the package data."""
    from knowledge.guidelines.chunking import ChunkConfig, chunk_document
    from knowledge.guidelines.corpus import starter_roots
    from knowledge.guidelines.embeddings import get_embedder
    from knowledge.guidelines.readers import iter_files, read_document

    config = ChunkConfig()
    embedder = get_embedder()
    texts: dict[str, str] = {}
    hashes: list[str] = []
    for path in iter_files(starter_roots(include_open_medicine)):
        doc = read_document(path)
        hashes.append(doc.content_hash)
        for chunk in chunk_document(doc, config):
            texts.setdefault(text_key(chunk.embed_text), chunk.embed_text)
    keys = sorted(texts)
    vectors = embedder.encode([texts[k] for k in keys]).astype(np.float16)
    DATA.mkdir(parents=True, exist_ok=True)
    np.save(VECTORS, vectors, allow_pickle=False)
    manifest = {
        "embedding_model": embedder.name,
        "model_fingerprint": model_fingerprint(embedder.location),
        "chunking": config.key,
        "corpus_hash": corpus_hash(hashes),
        "files": len(hashes),
        "dtype": "float16",
        "keys": keys,
    }
    MANIFEST.write_text(json.dumps(manifest, indent=0) + "\n", encoding="utf-8")
    shipped_vectors.cache_clear()
    return {k: v for k, v in manifest.items() if k != "keys"} | {"rows": len(keys)}


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    print(json.dumps(write_starter_vectors()))
