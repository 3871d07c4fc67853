"""FHIR R4 sources behind the EHR tools: an embedded SQLite store and a remote server client.

Both implement :class:`FhirSource`: patient-scoped searches returning FHIR JSON,
validated with the ``fhir.resources.R4B`` models (see :mod:`knowledge.ehr.parse`
for why R4B). Usable without the agent::

    from knowledge.ehr import ensure_demo_patients
    store = ensure_demo_patients(Path("ehr.sqlite"))
    store.search("Observation", "chest-pain", codes=["http://loinc.org|67151-1"])
"""

from __future__ import annotations

from knowledge.ehr.demo import DEMO_PATIENT_IDS, ensure_demo_patients
from knowledge.ehr.embedded import EmbeddedFhirStore, ImportReport, importable_files
from knowledge.ehr.parse import MalformedResource
from knowledge.ehr.redacting import RedactingSource, redacting
from knowledge.ehr.remote import RemoteFhirClient
from knowledge.ehr.source import FhirSource, FhirUnavailable

__all__ = [
    "DEMO_PATIENT_IDS",
    "EmbeddedFhirStore",
    "FhirSource",
    "FhirUnavailable",
    "ImportReport",
    "MalformedResource",
    "RedactingSource",
    "RemoteFhirClient",
    "ensure_demo_patients",
    "importable_files",
    "redacting",
]
