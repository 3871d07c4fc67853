"""BM25 lexical index (bm25s), persisted beside the vector store.

The index is derived data: it is rebuilt from the chunks in Chroma whenever the
collection's revision differs from the one it was built from, so an embedded
store and a shared Chroma server behave the same way. Filter fields (year,
publisher keys, tag keys) are kept per document so a filtered query masks the
BM25 scores instead of post-filtering a short list.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "this",
        "to",
        "was",
        "were",
        "which",
        "will",
        "with",
        "within",
        "should",
        "may",
        "can",
        "not",
        "no",
    ]
)


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens, stop words dropped, a light plural strip ("emboli" stays)."""
    tokens = []
    for token in _TOKEN.findall(text.lower()):
        if token in _STOP:
            continue
        if len(token) > 4 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
            token = token[:-1]
        tokens.append(token)
    return tokens


@dataclass
class FilterFields:
    """Per-document fields the store filters on."""

    years: np.ndarray
    """Year per document, 0 when unknown."""
    keys: list[frozenset[str]]
    """Publisher and tag keys per document (``pub_aha``, ``tag_cardiology``)."""


class LexicalIndex:
    """bm25s over chunk texts; documents addressed by chunk id."""

    def __init__(self, ids: list[str], retriever: bm25s.BM25 | None, fields: FilterFields) -> None:
        self.ids = ids
        self._retriever = retriever
        self.fields = fields
        self._vocab: set[str] = set()
        if retriever is not None:
            self._vocab = set(retriever.vocab_dict)

    @classmethod
    def build(
        cls, ids: list[str], texts: list[str], years: list[int], keys: list[frozenset[str]]
    ) -> LexicalIndex:
        fields = FilterFields(np.asarray(years, dtype=np.int32), keys)
        if not ids:
            return cls([], None, fields)
        retriever = bm25s.BM25()
        tokens = [tokenize(t) or ["_empty_"] for t in texts]
        retriever.index(tokens, show_progress=False)
        return cls(ids, retriever, fields)

    def save(self, folder: Path, revision: str) -> None:
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self._retriever is not None:
            self._retriever.save(str(tmp / "bm25"), show_progress=False)
        meta = {
            "revision": revision,
            "ids": self.ids,
            "years": self.fields.years.tolist(),
            "keys": [sorted(k) for k in self.fields.keys],
        }
        (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)

    @classmethod
    def load(cls, folder: Path) -> tuple[LexicalIndex, str] | None:
        """The saved index and the revision it was built from, or None if absent/damaged."""
        meta_path = folder / "meta.json"
        if not meta_path.is_file():
            return None
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            retriever = None
            if meta["ids"]:
                retriever = bm25s.BM25.load(str(folder / "bm25"), show_progress=False)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("BM25 index at %s unreadable (%s); it will be rebuilt", folder, exc)
            return None
        fields = FilterFields(
            np.asarray(meta["years"], dtype=np.int32), [frozenset(k) for k in meta["keys"]]
        )
        return cls(meta["ids"], retriever, fields), str(meta["revision"])

    def mask(
        self, year_min: int | None, year_max: int | None, required: list[str]
    ) -> np.ndarray | None:
        """Boolean mask of documents passing the filters (None when nothing filters)."""
        if year_min is None and year_max is None and not required:
            return None
        mask = np.ones(len(self.ids), dtype=bool)
        if year_min is not None:
            mask &= self.fields.years >= year_min
        if year_max is not None:
            mask &= (self.fields.years <= year_max) & (self.fields.years > 0)
        for key in required:
            mask &= np.fromiter((key in k for k in self.fields.keys), bool, len(self.ids))
        return mask

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """Top ``k`` (chunk id, BM25 score) pairs with a positive score."""
        if self._retriever is None or k <= 0:
            return []
        tokens = [t for t in tokenize(query) if t in self._vocab]
        if not tokens:
            return []
        scores = self._retriever.get_scores(tokens)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]
