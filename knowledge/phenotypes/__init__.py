"""Phenotype-driven differential for rare disease: findings -> HPO terms -> ranked diseases.

Offline, over the Human Phenotype Ontology and its OMIM and Orphanet annotations as
shipped by the hpo3 package. For demonstration and education; not a diagnostic device.
"""

from __future__ import annotations

from knowledge.phenotypes.extract import (
    LAB_TERMS,
    Found,
    lab_term,
    lexicon,
    most_specific,
    terms_in_text,
)
from knowledge.phenotypes.ontology import disease, release, term
from knowledge.phenotypes.rank import Candidate, rank

__all__ = [
    "LAB_TERMS",
    "Candidate",
    "Found",
    "disease",
    "lab_term",
    "lexicon",
    "most_specific",
    "rank",
    "release",
    "term",
    "terms_in_text",
]
