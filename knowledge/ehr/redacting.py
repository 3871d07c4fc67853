"""A FHIR source whose searches return resources with their free text redacted.

:func:`redacting` wraps any :class:`~knowledge.ehr.FhirSource`; agent/resources.py opens
every source this way (unless ``ehr_show_identifiers``), and the EHR tools wrap a raw
source they are given, so record text leaves the EHR layer redacted
(:mod:`knowledge.ehr.redact` says what is and is not caught).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from knowledge.ehr.redact import Identity, Redactor, identity_of
from knowledge.ehr.source import FhirSource, FhirUnavailable

_PEOPLE_TYPES = (
    "RelatedPerson",
    "DocumentReference",
    "Encounter",
    "CareTeam",
    "MedicationRequest",
    "Condition",
    "DiagnosticReport",
    "AllergyIntolerance",
    "Procedure",
)
"""Types read to learn the names of the people around a patient."""


class RedactingSource:
    """A :class:`~knowledge.ehr.FhirSource` whose searches return redacted resources.

    The Patient resource itself is returned as stored (the tools show age and sex only);
    every other resource has its free text redacted of the patient's identifiers. The
    identity of each patient is read once and kept for the last ``keep`` patients.
    """

    def __init__(self, source: FhirSource, keep: int = 64) -> None:
        self.source = source
        self._identities: dict[str, Redactor] = {}
        self._keep = keep
        self._lock = threading.Lock()  # tools of one round run in several threads

    def __repr__(self) -> str:
        return f"RedactingSource({self.source!r})"

    def __getattr__(self, name: str) -> Any:  # counts(), path, import_file ...
        return getattr(self.source, name)

    def redactor(self, patient_id: str) -> Redactor:
        """The patient's redactor, read from the record the first time (kept LRU).

        Read outside the lock, so a slow read for one patient holds up no other; a
        read that could not see every type is used once and not kept.
        """
        with self._lock:
            found = self._identities.pop(patient_id, None)
            if found is not None:
                self._identities[patient_id] = found
                return found
        found, complete = self._read(patient_id)
        if complete:
            with self._lock:
                self._identities[patient_id] = found
                while len(self._identities) > self._keep:
                    self._identities.pop(next(iter(self._identities)))
        return found

    def _read(self, patient_id: str) -> tuple[Redactor, bool]:
        patient = self.source.patient(patient_id)
        related: list[dict[str, Any]] = []
        complete = True
        for rtype in _PEOPLE_TYPES:
            try:
                related += self.source.search(rtype, patient_id)
            except FhirUnavailable:  # a server without this type: the others still count
                complete = False
        refs = {
            str(ref).split("/", 1)[1]
            for ref in _practitioner_refs([patient or {}, *related])
            if str(ref).startswith("Practitioner/")
        }
        for pid in sorted(refs)[:50]:
            practitioner = self.source.read("Practitioner", pid)
            if practitioner:
                related.append(practitioner)
        return Redactor(identity_of(patient, related)), complete

    def patient(self, patient_id: str) -> dict[str, Any] | None:
        return self.source.patient(patient_id)

    def search(self, resource_type: str, patient_id: str, **kwargs: Any) -> list[dict[str, Any]]:
        found = self.source.search(resource_type, patient_id, **kwargs)
        redactor = self.redactor(patient_id)
        return [redactor.resource(r) for r in found]

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any] | None:
        found = self.source.read(resource_type, resource_id)
        return None if found is None else Redactor(Identity()).resource(found)

    def patients(self) -> list[dict[str, Any]]:
        return self.source.patients()

    def close(self) -> None:
        self.source.close()


def _practitioner_refs(resources: Iterable[Any]) -> Iterable[str]:
    for node in resources:
        if isinstance(node, dict):
            ref = node.get("reference")
            if isinstance(ref, str) and ref.startswith("Practitioner/"):
                yield ref
            yield from _practitioner_refs(node.values())
        elif isinstance(node, list):
            yield from _practitioner_refs(node)


def redacting(source: Any) -> Any:
    """``source`` wrapped in a :class:`RedactingSource` (once); ``None`` stays ``None``."""
    if source is None or isinstance(source, RedactingSource):
        return source
    return RedactingSource(source)
