"""Who a record identifies: the patient's (and the people around them's) names, identifier
values, address, telecom and birth date, read from FHIR resources for the redactor."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

NAME, IDENTIFIER, BIRTH_DATE, ADDRESS, PHONE, EMAIL, SSN = (
    "name",
    "identifier",
    "birth date",
    "address",
    "phone",
    "email",
    "SSN",
)
_TITLES = {"dr", "mr", "mrs", "ms", "miss", "prof", "md", "rn", "np", "pa", "do", "jr", "sr"}


@dataclass
class Identity:
    """What the record says identifies this patient (and the people around them)."""

    names: set[str] = field(default_factory=set)
    """Name parts (given names, family names) of the patient, relatives and practitioners."""
    literals: dict[str, str] = field(default_factory=dict)
    """Exact strings (identifier values, address lines, telecom values) and their kind."""
    birth_date: date | None = None

    def add_name(self, name: Any) -> None:
        """A FHIR HumanName, or a display string such as ``Dr Jane Smith``."""
        if isinstance(name, dict):
            parts = [*(name.get("given") or []), name.get("family") or "", name.get("text") or ""]
        else:
            parts = [str(name or "")]
        for part in parts:
            for word in re.split(r"[\s,.]+", str(part)):
                if len(word) >= 2 and word.lower() not in _TITLES and not word.isdigit():
                    self.names.add(word)

    def add_literal(self, value: Any, kind: str) -> None:
        text = " ".join(str(value or "").split())
        if len(text) >= 3:
            self.literals[text] = kind
        if kind == IDENTIFIER:  # "MRN00451" is also written "hospital no. 00451"
            for run in re.findall(r"\d{5,}", text):
                if run != text:
                    self.literals.setdefault(run, kind)


def identity_of(patient: dict[str, Any] | None, related: Iterable[dict[str, Any]] = ()) -> Identity:
    """The identity of a Patient resource and of the resources around it.

    ``related`` may hold RelatedPerson and Practitioner resources and any resource whose
    references name a practitioner or relative (their ``display`` is taken).
    """
    found = Identity()
    for resource in [patient or {}, *related]:
        rtype = resource.get("resourceType")
        if rtype in {"Patient", "RelatedPerson", "Practitioner"}:
            for name in resource.get("name") or []:
                found.add_name(name)
            for ident in resource.get("identifier") or []:
                found.add_literal((ident or {}).get("value"), IDENTIFIER)
            for telecom in resource.get("telecom") or []:
                kind = EMAIL if (telecom or {}).get("system") == "email" else PHONE
                found.add_literal((telecom or {}).get("value"), kind)
            for address in resource.get("address") or []:
                _add_address(found, address or {})
        for contact in resource.get("contact") or [] if rtype == "Patient" else []:
            found.add_name((contact or {}).get("name"))
            for telecom in (contact or {}).get("telecom") or []:
                found.add_literal((telecom or {}).get("value"), PHONE)
            _add_address(found, (contact or {}).get("address") or {})
        for display in _people_displays(resource):
            found.add_name(display)
    born = str((patient or {}).get("birthDate") or "")
    if len(born) == 10:
        with contextlib.suppress(ValueError):
            found.birth_date = date.fromisoformat(born)
    return found


def _add_address(found: Identity, address: dict[str, Any]) -> None:
    for line in address.get("line") or []:
        found.add_literal(line, ADDRESS)
    for key in ("city", "postalCode", "text"):
        found.add_literal(address.get(key), ADDRESS)


def _people_displays(node: Any) -> Iterable[str]:
    """Displays of references to practitioners and related persons, anywhere in a resource."""
    if isinstance(node, dict):
        ref = str(node.get("reference") or "")
        if node.get("display") and (
            ref.split("/")[0] in {"Practitioner", "PractitionerRole", "RelatedPerson"}
            or (not ref and set(node) <= {"display", "type", "identifier"})
        ):
            yield str(node["display"])
        for value in node.values():
            yield from _people_displays(value)
    elif isinstance(node, list):
        for item in node:
            yield from _people_displays(item)
