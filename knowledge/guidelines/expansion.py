"""Query expansion: from the findings a clinician types to the conditions they suggest.

A bedside question names findings ("fever, cough and right basal crackles"), while
guideline passages are written about conditions ("community-acquired pneumonia").
The curated lexicon in ``data/findings.yaml`` (each entry names its source) maps
findings to candidate conditions; the best-supported candidates' search phrases are
added to the query before dense and BM25 retrieval. Abbreviations (``SOB``,
``CXR``, ``RIF``) are spelled out first.

A finding shared by many conditions weighs little (inverse frequency over the
lexicon), so "fever" alone proposes nothing while "fever, cough, crackles" proposes
pneumonia. The lexicon proposes search terms; it diagnoses nothing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

LEXICON = Path(__file__).resolve().parent / "data" / "findings.yaml"

MIN_SCORE = 3.0
"""Least summed weight of matched findings for a condition to be proposed: one finding
that only one or two conditions list is enough, one shared by three or more is not."""
RELATIVE = 0.5
"""A candidate must reach this share of the best candidate's score."""
MAX_CANDIDATES = 3


@dataclass(frozen=True)
class Candidate:
    """A condition the query's findings suggest, with what matched."""

    name: str
    search: str
    source: str
    score: float
    matched: tuple[str, ...]


@dataclass(frozen=True)
class _Condition:
    name: str
    search: str
    source: str
    findings: tuple[tuple[str, re.Pattern[str]], ...]


class FindingsLexicon:
    """Abbreviations and findings -> conditions, loaded from a YAML file."""

    def __init__(self, abbreviations: dict[str, str], conditions: list[_Condition]) -> None:
        self.conditions = conditions
        self._abbreviations = {k.lower(): v for k, v in abbreviations.items()}
        words = sorted(self._abbreviations, key=len, reverse=True)
        self._abbrev = (
            re.compile(r"(?<![\w-])(" + "|".join(re.escape(w) for w in words) + r")(?![\w-])")
            if words
            else None
        )
        counts: dict[str, int] = {}
        for condition in conditions:
            for phrase in {p for p, _ in condition.findings}:
                counts[phrase] = counts.get(phrase, 0) + 1
        total = max(1, len(conditions))
        self._weight = {p: math.log(1.0 + total / n) for p, n in counts.items()}

    @classmethod
    def load(cls, path: Path = LEXICON) -> FindingsLexicon:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict) or not isinstance(data.get("conditions"), list):
            raise ValueError(f"{path}: expected a mapping with a 'conditions' list")
        conditions = [_condition(entry, path) for entry in data["conditions"]]
        return cls(dict(data.get("abbreviations") or {}), conditions)

    def normalise(self, query: str) -> str:
        """Lower-cased query with abbreviations spelled out (the original word kept too)."""
        text = " ".join(query.lower().split())
        if self._abbrev is None:
            return text
        return self._abbrev.sub(lambda m: f"{m.group(1)} {self._abbreviations[m.group(1)]}", text)

    def candidates(self, query: str, limit: int = MAX_CANDIDATES) -> list[Candidate]:
        """Conditions the query's findings support, best first."""
        text = self.normalise(query)
        scored: list[Candidate] = []
        for condition in self.conditions:
            matched = tuple(p for p, pattern in condition.findings if pattern.search(text))
            score = sum(self._weight[p] for p in matched)
            if score >= MIN_SCORE:
                scored.append(
                    Candidate(condition.name, condition.search, condition.source, score, matched)
                )
        scored.sort(key=lambda c: -c.score)
        if not scored:
            return []
        floor = scored[0].score * RELATIVE
        return [c for c in scored if c.score >= floor][:limit]

    def expand(self, query: str, limit: int = MAX_CANDIDATES) -> str:
        """The query, its spelled-out abbreviations, and the candidates' search phrases."""
        text = " ".join(query.split())
        normalised = self.normalise(query)
        parts = [text]
        if normalised != text.lower():
            parts.append(normalised)
        parts.extend(c.search for c in self.candidates(query, limit))
        return "\n".join(parts)


def _condition(entry: Any, path: Path) -> _Condition:
    if not isinstance(entry, dict) or not entry.get("name") or not entry.get("findings"):
        raise ValueError(f"{path}: every condition needs a name and findings: {entry!r}")
    findings = tuple(
        (str(f).lower(), _pattern(str(f).lower())) for f in entry["findings"] if str(f).strip()
    )
    return _Condition(
        name=str(entry["name"]),
        search=str(entry.get("search") or entry["name"]),
        source=str(entry.get("source") or ""),
        findings=findings,
    )


def _pattern(phrase: str) -> re.Pattern[str]:
    """A finding phrase on word boundaries; a trailing ``*`` matches any word ending."""
    stem = phrase.rstrip("*")
    body = re.escape(stem).replace(r"\ ", r"\s+")
    tail = r"[\w-]*" if phrase.endswith("*") else ""
    return re.compile(r"(?<![\w])" + body + tail + r"(?![\w])")


@lru_cache(maxsize=1)
def default_lexicon() -> FindingsLexicon:
    """The lexicon shipped with the package (loaded once per process)."""
    return FindingsLexicon.load()
