"""The interface every FHIR source implements, embedded or remote.

Searches are always scoped to one patient: there is no method that returns
patient-compartment resources without naming the patient, and both
implementations drop anything whose ``subject``/``patient`` is someone else,
whatever the server or file says.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Protocol, runtime_checkable

SORTABLE = {
    "Observation": "date",
    "DocumentReference": "date",
    "DiagnosticReport": "date",
    "Encounter": "date",
    "AllergyIntolerance": "date",
    "Condition": "recorded-date",
    "MedicationRequest": "authoredon",
    "Procedure": "date",
}
"""FHIR R4 search parameter holding each type's clinical date (for ``date=ge`` and ``_sort``)."""


class FhirUnavailable(RuntimeError):
    """The FHIR source cannot be read: server down, timing out, refusing, or a broken file."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"FHIR source {url} unavailable: {reason}")
        self.url = url
        self.reason = reason


@runtime_checkable
class FhirSource(Protocol):
    """Read-only access to FHIR R4 resources, one patient at a time."""

    def patient(self, patient_id: str) -> dict[str, Any] | None:
        """The Patient resource, or None when unknown."""
        ...

    def search(
        self,
        resource_type: str,
        patient_id: str,
        *,
        codes: Sequence[str] | None = None,
        since: date | None = None,
        count: int | None = None,
    ) -> list[dict[str, Any]]:
        """The patient's resources of one type, newest first.

        Args:
            resource_type: e.g. ``Observation``.
            patient_id: the patient whose compartment is searched.
            codes: tokens ``system|code`` or bare ``code``; any match qualifies
                (matched against the main concept and components).
            since: only resources dated on or after this day.
            count: at most this many (the newest).
        """
        ...

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any] | None:
        """A shared (non-patient) resource such as Medication, or None when absent."""
        ...

    def patients(self) -> list[dict[str, Any]]:
        """All Patient resources the source holds (for listings)."""
        ...

    def close(self) -> None: ...


def split_token(token: str) -> tuple[str | None, str]:
    """``http://loinc.org|2160-0`` -> (system, code); a bare code has system None."""
    if "|" in token:
        system, code = token.split("|", 1)
        return (system or None), code
    return None, token
