"""Validate FHIR resources and extract what the stores index them by.

FHIR version: we validate with ``fhir.resources.R4B``, deliberately. The
``fhir.resources`` package ships R5 as its default models and R4B as a
sub-package; R4B (4.3.0) is the closest release to R4 (4.0.1) that it models,
with the same resource shapes for everything this project reads (Patient,
Observation, Condition, MedicationRequest, AllergyIntolerance, DocumentReference,
Encounter ...). R5 renamed and restructured several of them (for example
``MedicationRequest.medication`` became a ``CodeableReference``), so validating
R4 data against R5 would reject valid records.

Real exports are messy; the rules here are:

- unknown extensions, missing optional fields, several codings per concept and
  references to absent resources all import (that is valid FHIR);
- an element the R4B model does not know (an R5-only field, a vendor typo) is
  dropped with a warning and the rest of the resource imports;
- a resource that still fails validation is skipped with a warning naming it
  (``Observation/abc in file.ndjson line 12``) and the reason, never the values
  (they may be identifiers).
"""

from __future__ import annotations

import codecs
import copy
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def bom_codec(head: bytes) -> str | None:
    """The codec a byte-order mark at the start of ``head`` names; None without one."""
    return next((name for bom, name in _BOMS if head.startswith(bom)), None)


log = logging.getLogger(__name__)

PATIENT_FIELDS = ("subject", "patient")
"""Where a patient-compartment resource names its patient."""

_DATE_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "Observation": (
        ("effectiveDateTime",),
        ("effectivePeriod", "start"),
        ("effectiveInstant",),
        ("issued",),
    ),
    "Condition": (("onsetDateTime",), ("onsetPeriod", "start"), ("recordedDate",)),
    "MedicationRequest": (("authoredOn",),),
    "MedicationStatement": (
        ("effectiveDateTime",),
        ("effectivePeriod", "start"),
        ("dateAsserted",),
    ),
    "AllergyIntolerance": (("recordedDate",), ("onsetDateTime",)),
    "DocumentReference": (("date",), ("context", "period", "start")),
    "DiagnosticReport": (("effectiveDateTime",), ("effectivePeriod", "start"), ("issued",)),
    "Encounter": (("period", "start"),),
    "Procedure": (("performedDateTime",), ("performedPeriod", "start")),
    "Immunization": (("occurrenceDateTime",),),
}
_CODE_FIELDS: dict[str, tuple[str, ...]] = {
    "MedicationRequest": ("medicationCodeableConcept",),
    "MedicationStatement": ("medicationCodeableConcept",),
    "DocumentReference": ("type",),
    "Encounter": ("type",),
}


class MalformedResource(ValueError):
    """A resource that cannot be imported; the message names it and says why."""


@dataclass(frozen=True)
class IndexedResource:
    """A validated resource and the fields the stores index it by."""

    resource_type: str
    id: str
    patient_id: str | None
    date: str | None
    codes: tuple[tuple[str, str], ...]
    """(system, code) pairs of the resource's main concept and its components."""
    resource: dict[str, Any]


def reference_id(reference: str | None, resource_type: str = "Patient") -> str | None:
    """The id in ``Patient/123``, ``http://host/fhir/Patient/123`` or ``Patient/123/_history/2``."""
    if not reference:
        return None
    parts = reference.split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2 and parts[-2] == resource_type:
        return parts[-1] or None
    return None


def patient_of(resource: dict[str, Any]) -> str | None:
    """The patient whose compartment a resource is in (``None`` for shared resources)."""
    if resource.get("resourceType") == "Patient":
        return resource.get("id")
    for field in PATIENT_FIELDS:
        ref = resource.get(field)
        if isinstance(ref, dict):
            return reference_id(ref.get("reference"))
    return None


def normalise_date(value: Any) -> str | None:
    """A sortable text date: ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM:SS`` in UTC."""
    if not isinstance(value, str) or len(value) < 4:
        return None
    if "T" not in value:
        return value[:10]
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value[:10]
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.isoformat(timespec="seconds")


def date_of(resource: dict[str, Any]) -> str | None:
    """The clinically relevant date of a resource, normalised (see :func:`normalise_date`)."""
    for path in _DATE_PATHS.get(resource.get("resourceType", ""), ()):
        value: Any = resource
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value:
            return normalise_date(value)
    meta = resource.get("meta")
    return normalise_date(meta.get("lastUpdated")) if isinstance(meta, dict) else None


def codings(concept: Any) -> list[tuple[str, str]]:
    """(system, code) pairs of a CodeableConcept; tolerant of missing parts."""
    if not isinstance(concept, dict):
        return []
    return [
        (str(c.get("system") or ""), str(c["code"]))
        for c in concept.get("coding") or []
        if isinstance(c, dict) and c.get("code")
    ]


def codes_of(resource: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    fields = _CODE_FIELDS.get(resource.get("resourceType", ""), ("code",))
    found: list[tuple[str, str]] = []
    for field in fields:
        found.extend(codings(resource.get(field)))
    for component in resource.get("component") or []:
        if isinstance(component, dict):
            found.extend(codings(component.get("code")))
    return tuple(dict.fromkeys(found))


def _drop(data: Any, loc: tuple[Any, ...]) -> bool:
    """Delete the element at a pydantic error location; True when something was removed."""
    for key in loc[:-1]:
        in_dict = isinstance(data, dict) and key in data
        in_list = isinstance(data, list) and isinstance(key, int) and key < len(data)
        if not (in_dict or in_list):
            return False
        data = data[key]
    if isinstance(data, dict) and loc and loc[-1] in data:
        del data[loc[-1]]
        return True
    return False


def _reasons(exc: ValidationError) -> str:
    errors = exc.errors(include_input=False, include_url=False)
    shown = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:3]]
    more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(shown) + more


def validate(resource: Any, where: str = "") -> IndexedResource:
    """Validate one resource with the R4B models and index it.

    Raises:
        MalformedResource: naming the resource (type/id and ``where``) and the reason; it is
            the only exception raised for any input (fuzzed in tests/adversarial).
    """
    origin = f" in {where}" if where else ""
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        raise MalformedResource(f"entry{origin} is not a FHIR resource (no resourceType)")
    rtype, rid = resource["resourceType"], resource.get("id")
    name = f"{rtype}/{rid or '?'}{origin}"
    if not rid:
        raise MalformedResource(f"{name}: resource has no id")
    try:
        model = get_fhir_model_class(rtype)
    except (KeyError, ValueError):
        raise MalformedResource(f"{name}: unknown resource type") from None
    try:
        return _validated(model, resource, rtype, str(rid), name)
    except RecursionError:
        raise MalformedResource(f"{name}: nested too deeply to validate") from None


def _validated(
    model: Any, resource: dict[str, Any], rtype: str, rid: str, name: str
) -> IndexedResource:
    data = copy.deepcopy(resource)
    for _attempt in range(3):
        try:
            model.model_validate(data)
            break
        except ValidationError as exc:
            extra = [e["loc"] for e in exc.errors() if e["type"] == "extra_forbidden"]
            if (
                not extra
                or len(extra) != exc.error_count()
                or not all(_drop(data, loc) for loc in extra)
            ):
                raise MalformedResource(f"{name}: {_reasons(exc)}") from None
            log.warning(
                "%s: ignored elements unknown to FHIR R4B: %s",
                name,
                ", ".join(".".join(str(p) for p in loc) for loc in extra),
            )
    else:
        raise MalformedResource(f"{name}: too many unknown elements")
    return IndexedResource(rtype, rid, patient_of(data), date_of(data), codes_of(data), data)
