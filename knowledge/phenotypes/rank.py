"""Rank OMIM and Orphanet diseases by how well their HPO annotations explain a patient's terms.

Similarity (after Köhler et al., Am J Hum Genet 2009, the Phenomizer): for each patient
term, the most informative ancestor it shares with any of the disease's annotations
(Resnik information content, from the disease annotation frequencies); the disease's
score is the sum of these over the patient's terms divided by the sum of the terms' own
information content (1.0: every finding is explained exactly), less a small penalty for
the disease's many specific features the patient is not known to have. Computed over
the hpo3 annotations offline. For demonstration and education; not a diagnostic device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from knowledge.phenotypes.ontology import ontology

MIN_IC = 0.5
"""Shared ancestors less informative than this explain nothing (``Phenotypic abnormality``)."""
BREADTH_PENALTY = 0.04
"""Per natural log of a disease's annotation count: favours the focused explanation."""


@dataclass
class Candidate:
    disease_id: str
    """``OMIM:154700`` or ``ORPHA:558``."""
    name: str
    score: float
    matched: list[tuple[str, str, str]] = field(default_factory=list)
    """(patient term id, patient term name, the disease term it matched: itself or an ancestor)."""
    missing: list[tuple[str, str]] = field(default_factory=list)
    """Specific features of the disease the patient is not known to have: (id, name)."""
    other_ids: list[str] = field(default_factory=list)
    """The same disease in the other catalogue (an ORPHA id for an OMIM one, ...)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.disease_id,
            "name": self.name,
            "score": round(self.score, 3),
            "matched": [{"id": a, "name": b, "as": c} for a, b, c in self.matched],
            "missing": [{"id": a, "name": b} for a, b in self.missing],
            "other_ids": self.other_ids,
        }


def _ic(term: Any, kind: str) -> float:
    info = term.information_content
    return float(info.omim if kind == "omim" else info.orpha)


def _best_shared(terms: list[Any], kind: str) -> list[dict[int, tuple[float, Any]]]:
    """Per patient term: disease id -> (IC, ancestor) of the most informative shared term."""
    out = []
    for item in terms:
        best: dict[int, tuple[float, Any]] = {}
        chain = sorted({item, *item.all_parents}, key=lambda t: -_ic(t, kind))
        for ancestor in chain:
            value = _ic(ancestor, kind)
            if value < MIN_IC:
                break
            diseases = ancestor.omim_diseases if kind == "omim" else ancestor.orpha_diseases
            for d in diseases:
                if d.id not in best:
                    best[d.id] = (value, ancestor)
        out.append(best)
    return out


def rank(hpo_ids: list[str], k: int = 10, missing_per: int = 5) -> list[Candidate]:
    """The ``k`` diseases that best explain these terms, OMIM and Orphanet merged by name."""
    onto = ontology()
    terms = [onto.get_hpo_object(h) for h in dict.fromkeys(hpo_ids)]
    if not terms:
        return []
    scored: list[tuple[float, str, Any, list[tuple[float, Any] | None]]] = []
    for kind, table in (("omim", onto.omim_diseases), ("orpha", onto.orpha_diseases)):
        total = sum(max(_ic(t, kind), MIN_IC) for t in terms)
        shared = _best_shared(terms, kind)
        ids = {d for best in shared for d in best}
        by_id = {d.id: d for d in table if d.id in ids}
        for did, disease in by_id.items():
            hits = [best.get(did) for best in shared]
            explained = sum(h[0] for h in hits if h is not None) / total
            size = max(1, len(disease.hpo))
            score = explained - BREADTH_PENALTY * math.log(size)
            scored.append((score, kind, disease, hits))
    scored.sort(key=lambda s: -s[0])
    return _merge(scored, terms, k, missing_per)


def _merge(
    scored: list[tuple[float, str, Any, list[tuple[float, Any] | None]]],
    terms: list[Any],
    k: int,
    missing_per: int,
) -> list[Candidate]:
    out: list[Candidate] = []
    by_name: dict[str, Candidate] = {}
    for score, kind, disease, hits in scored:
        prefix = "OMIM" if kind == "omim" else "ORPHA"
        key = disease.name.lower().strip()
        if key in by_name:
            by_name[key].other_ids.append(f"{prefix}:{disease.id}")
            continue
        if len(out) >= k:
            continue
        candidate = Candidate(f"{prefix}:{disease.id}", disease.name, max(0.0, score))
        for t, hit in zip(terms, hits, strict=True):
            if hit is not None:
                candidate.matched.append((t.id, t.name, hit[1].name))
        candidate.missing = _missing(disease, terms, kind, missing_per)
        by_name[key] = candidate
        out.append(candidate)
    return out


def _missing(disease: Any, terms: list[Any], kind: str, n: int) -> list[tuple[str, str]]:
    """The disease's most specific features that none of the patient's terms is, or is under."""
    onto = ontology()
    near: set[str] = set()
    for t in terms:
        near.add(t.id)
        near.update(p.id for p in t.all_parents)
    features = [onto.hpo(int(h)) for h in disease.hpo]
    features = [
        f
        for f in features
        if f.id not in near and not any(p.id in {t.id for t in terms} for p in f.all_parents)
    ]
    features.sort(key=lambda f: -_ic(f, kind))
    return [(f.id, f.name) for f in features[:n]]
