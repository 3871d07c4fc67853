"""Synthetic FHIR R4 patient bundles for demos and tests.

SYNTHETIC DATA, FOR DEMONSTRATION AND TESTING ONLY: every patient is invented.
The ``*.json`` Bundles in this folder are written by :mod:`knowledge.patients.generate`
from the case descriptions in :mod:`knowledge.patients.cases`.
"""

from __future__ import annotations

from pathlib import Path

BUNDLE_DIR = Path(__file__).resolve().parent


def bundle_paths() -> list[Path]:
    """The shipped patient bundles, sorted by name."""
    return sorted(BUNDLE_DIR.glob("*.json"))
