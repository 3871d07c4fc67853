"""Load the shipped synthetic patients into an embedded store (SYNTHETIC data only)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from knowledge.ehr.embedded import EmbeddedFhirStore
from knowledge.patients import bundle_paths

DEMO_PATIENT_IDS: tuple[str, ...] = (
    "chest-pain",
    "pneumonia",
    "sepsis",
    "heart-failure",
    "pulmonary-embolism",
    "pneumothorax",
    "stroke",
    "appendicitis",
    "tuberculosis",
    "lung-nodule",
    "diabetic-retinopathy",
    "pigmented-lesion",
    "checkup",
    "burning-pain",
)
"""Ids of the synthetic patients; ``chest-pain`` is the ``lingshu demo`` case."""
_META_KEY = "demo_bundles_sha256"


def _fingerprint(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_demo_patients(path: Path) -> EmbeddedFhirStore:
    """Open (or create) the store at ``path`` holding the synthetic patients.

    Idempotent and fast: the bundles are imported only when the store does not yet
    hold this exact version of them (a fingerprint is kept in the store).
    """
    store = EmbeddedFhirStore(path)
    paths = bundle_paths()
    fingerprint = _fingerprint(paths)
    if store.get_meta(_META_KEY) != fingerprint:
        store.import_paths(paths)
        store.set_meta(_META_KEY, fingerprint)
    return store
