"""How EHR tools read the session patient's record and turn it into cited lines of text.

Reading: every search names ``ctx.patient_id`` (never a model argument) and drops
anything outside that patient's compartment; a source that is down becomes a
:class:`ToolError` the model can act on.

Output: a tool builds :class:`Line` objects whose parts carry the resource they
show; :func:`render` escapes every part with the one escaping function
(:func:`knowledge.untrusted.untrusted`), joins them within ``ctx.max_output_chars``
and cites (as ``E#``) only the resources on lines that are actually shown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from knowledge.ehr import loinc
from knowledge.ehr.parse import codings, date_of, patient_of
from knowledge.ehr.records import (
    Measurement,
    blood_pressure,
    clinical_status,
    concept_text,
    dosage_text,
    main_code,
    measurements,
    medication_name,
    trend,
)
from knowledge.ehr.redacting import redacting
from knowledge.ehr.source import FhirUnavailable
from knowledge.untrusted import untrusted
from tools.runtime import ToolArtifact, ToolContext, ToolError

T = TypeVar("T")
MAX_SERIES = 8
"""Values shown per lab or vital series (the newest); the trend uses them all."""
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/rxnorm"
_ACTIVE_CONDITION = {"active", "recurrence", "relapse", ""}
_NO_KNOWN_ALLERGY = "716186003"
_SYSTEM_NAMES = {
    SNOMED: "SNOMED",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
    loinc.LOINC_SYSTEM: "LOINC",
    RXNORM: "RxNorm",
}
Part = tuple[str, dict[str, Any] | None, str, dict[str, Any]]


# --- output with lazy citations -----------------------------------------------------------


@dataclass
class Line:
    """One line of output; each part with a resource is cited when the line is shown."""

    parts: list[Part] = field(default_factory=list)

    def add(
        self, text: str, resource: dict[str, Any] | None = None, label: str = "", **extra: Any
    ) -> Line:
        self.parts.append((text, resource, label, extra))
        return self

    def size(self) -> int:
        return sum(len(t) + (7 if r is not None else 0) for t, r, _, _ in self.parts)


def text_line(text: str) -> Line:
    return Line().add(text)


def joined(title: str, lines: list[Line], empty: str) -> Line:
    """Several items on one line: ``Title: a [E1]; b [E2]``."""
    line = Line().add(f"{title}: " + ("" if lines else empty))
    for number, item in enumerate(lines):
        for text, resource, label, extra in item.parts:
            line.add(("; " if number else "") + text.removeprefix("- "), resource, label, **extra)
    return line


def day(when: str | None) -> str:
    """``2026-03-01 08:05`` from a normalised date (``undated`` when absent)."""
    return (when or "undated")[:16].replace("T", " ")


def cite(ctx: ToolContext, resource: dict[str, Any], label: str, excerpt: str, **extra: Any) -> str:
    rtype, rid = resource["resourceType"], resource["id"]
    when = date_of(resource)
    citation = {"resource_type": rtype, "id": rid, "date": when, **extra}
    return ctx.ledger.cite(
        "ehr",
        f"{rtype}/{rid}",
        label=f"{rtype} {label} ({(when or 'undated')[:10]})",
        excerpt=excerpt,
        citation=citation,
    )


def render(ctx: ToolContext, lines: Sequence[Line]) -> tuple[str, ToolArtifact]:
    """Join lines within the output budget, citing only what is shown."""
    budget = ctx.max_output_chars - 80
    out: list[str] = []
    evidence: list[str] = []
    refs: list[str] = []
    used = 0
    for number, line in enumerate(lines):
        if used + line.size() > budget:
            out.append(
                f"... {len(lines) - number} more lines not shown; ask for less "
                "(a shorter period, one lab)."
            )
            break
        text = ""
        for raw, resource, label, extra in line.parts:
            part = untrusted(raw)  # record text is data: no tag, token or control survives
            text += part
            if resource is not None:
                eid = cite(ctx, resource, label, part.strip(" :;,-"), **extra)
                text += f" [{eid}]"
                evidence.append(eid)
                refs.append(f"{resource['resourceType']}/{resource['id']}")
        out.append(text)
        used += len(text) + 1
    data = {"patient_id": ctx.patient_id, "resources": list(dict.fromkeys(refs))}
    return "\n".join(out), ToolArtifact(evidence=list(dict.fromkeys(evidence)), data=data)


def nothing(text: str, ctx: ToolContext) -> tuple[str, ToolArtifact]:
    """A result that shows (and cites) nothing."""
    return untrusted(text), ToolArtifact(
        evidence=[], data={"patient_id": ctx.patient_id, "resources": []}
    )


# --- reading the record -------------------------------------------------------------------------


def patient_id(ctx: ToolContext) -> str:
    if ctx.ehr is None:
        raise ToolError("No EHR is connected to this session.")
    if not ctx.patient_id:
        raise ToolError("This session has no patient, so there is no record to read.")
    return str(ctx.patient_id)


def guard(read: Callable[[], T]) -> T:
    """Run a read; a source that is down becomes a ToolError the model can act on."""
    try:
        return read()
    except FhirUnavailable as exc:
        raise ToolError(
            f"The EHR could not be read ({exc.reason}; {exc.url}). Continue without it and say "
            "that the record was unavailable."
        ) from exc


def source(ctx: ToolContext) -> Any:
    """The session's FHIR source, its free text redacted of identifiers (knowledge.ehr.redact)
    unless the deployment sets ``ctx.extras["ehr_show_identifiers"]``."""
    if ctx.extras.get("ehr_show_identifiers"):
        return ctx.ehr
    return redacting(ctx.ehr)


def search(ctx: ToolContext, resource_type: str, **kwargs: Any) -> list[dict[str, Any]]:
    """The session patient's resources of a type, newest first (other patients dropped)."""
    pid = patient_id(ctx)
    ehr = source(ctx)
    found = guard(lambda: ehr.search(resource_type, pid, **kwargs))
    return [r for r in found if patient_of(r) == pid and r.get("resourceType") == resource_type]


def parse_since(value: str | None) -> date | None:
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise ToolError(f"since must be a date as YYYY-MM-DD, got {value!r}") from None


# --- problems, medications, allergies -------------------------------------------------------------


def conditions(ctx: ToolContext, status: str) -> list[dict[str, Any]]:
    found = search(ctx, "Condition")
    if status == "active":
        return [r for r in found if clinical_status(r) in _ACTIVE_CONDITION]
    if status == "resolved":
        return [r for r in found if clinical_status(r) in {"resolved", "inactive", "remission"}]
    return found


def condition_line(resource: dict[str, Any], brief: bool = False) -> Line:
    name = concept_text(resource.get("code"), SNOMED) or "unnamed condition"
    status = clinical_status(resource) or "status unknown"
    onset = (date_of(resource) or "")[:10]
    since = f"since {onset[:7] if brief else onset}" if onset else ""
    codes = ", ".join(
        f"{_SYSTEM_NAMES.get(s, s.rsplit('/', 1)[-1] or 'code')} {c}"
        for s, c in codings(resource.get("code"))
    )
    detail = since if brief else "; ".join(x for x in (codes, since, status) if x)
    text = f"- {name} ({detail})" if detail else f"- {name}"
    code = main_code(resource.get("code"), SNOMED)
    return Line().add(
        text, resource, name, display=name, status=status, system=code[0], code=code[1]
    )


def medications(ctx: ToolContext, status: str) -> list[dict[str, Any]]:
    found = search(ctx, "MedicationRequest")
    if status == "all":
        return found
    wanted = {
        "active": {"active", "on-hold"},
        "stopped": {"stopped", "cancelled"},
        "completed": {"completed"},
    }[status]
    return [r for r in found if r.get("status") in wanted]


def medication_line(ctx: ToolContext, request: dict[str, Any], brief: bool = False) -> Line:
    medication = None
    ref = str((request.get("medicationReference") or {}).get("reference", ""))
    if ref.startswith("Medication/"):
        medication = guard(lambda: source(ctx).read("Medication", ref.split("/", 1)[1]))
    name = medication_name(request, medication)
    dose = dosage_text(request)
    started = (date_of(request) or "")[:10]
    status = str(request.get("status") or "unknown")
    parts = (dose,) if brief else (dose, f"since {started}" if started else "", status)
    detail = "; ".join(x for x in parts if x)
    code = main_code(
        request.get("medicationCodeableConcept") or (medication or {}).get("code"), RXNORM
    )
    return Line().add(
        f"- {name} ({detail})" if detail else f"- {name}",
        request,
        name,
        display=name,
        status=status,
        dosage=dose,
        system=code[0],
        code=code[1],
    )


def allergy_line(resource: dict[str, Any], brief: bool = False) -> Line:
    name = concept_text(resource.get("code")) or "unnamed substance"
    if main_code(resource.get("code"), "")[1] == _NO_KNOWN_ALLERGY:
        return Line().add("- No known allergies", resource, "no known allergy")
    reactions = [
        concept_text(m)
        for r in resource.get("reaction") or []
        for m in (r or {}).get("manifestation") or []
    ]
    criticality = resource.get("criticality")
    detail = [", ".join(x for x in reactions if x)]
    if not brief:
        detail += [
            str(resource.get("type") or ""),
            f"criticality {criticality}" if criticality else "",
            clinical_status(resource),
        ]
    text = f"- {name} ({'; '.join(x for x in detail if x)})" if any(detail) else f"- {name}"
    return Line().add(
        text, resource, name, display=name, reactions=reactions, criticality=criticality
    )


# --- observations -------------------------------------------------------------------------------


def value_text(m: Measurement) -> str:
    """``52 ng/L H``: the value, unit and flag when abnormal."""
    flag = m.flag if m.flag and m.flag != "N" else ("abnormal" if m.abnormal else "")
    return " ".join(x for x in (m.text, m.unit, flag) if x)


def measurement_citation(m: Measurement) -> dict[str, Any]:
    return {
        "code": m.code,
        "system": m.system,
        "display": m.display,
        "value": m.value,
        "value_text": m.text,
        "unit": m.unit,
        "reference_range": m.range_text,
        "interpretation": m.flag,
    }


def measurement_part(line: Line, text: str, m: Measurement, resource: dict[str, Any]) -> Line:
    label = f"{m.display} {m.text} {m.unit}".strip()
    return line.add(text, resource, label, **measurement_citation(m))


def series(resources: list[dict[str, Any]], codes: Sequence[str]) -> dict[str, list[Measurement]]:
    """Measurements per code, oldest first; BP panels folded into ``systolic/diastolic``.

    An empty ``codes`` keeps every code.
    """
    by_code: dict[str, list[Measurement]] = {}
    for resource in reversed(resources):
        items = measurements(resource)
        panel = blood_pressure(resource) if "85354-9" in codes else None
        for m in [panel] if panel is not None else items:
            if m.code in codes or not codes:
                by_code.setdefault(m.code, []).append(m)
    return by_code


def by_reference(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f"{r['resourceType']}/{r['id']}": r for r in resources}


def series_lines(
    resources: dict[str, dict[str, Any]], found: dict[str, list[Measurement]]
) -> list[Line]:
    """Per series: a header (name, LOINC, range), the newest values, cited, and the trend."""
    lines = []
    for values in found.values():
        shown = values[-MAX_SERIES:]
        last = shown[-1]
        ref = f", reference {last.range_text} {last.unit}".rstrip() if last.range_text else ""
        code = f"LOINC {last.code}" if last.code else "no LOINC code"
        lines.append(text_line(f"{last.display} ({code}){ref}:"))
        if len(values) > len(shown):
            lines.append(text_line(f"  ({len(values) - len(shown)} earlier values not shown)"))
        for m in shown:
            text = f"  {day(m.date)}: {value_text(m)}"
            lines.append(measurement_part(Line(), text, m, resources[m.ref]))
        if trend(values):
            lines.append(text_line(f"  trend: {trend(values)}"))
    return lines


def lab_codes(ctx: ToolContext, name_or_loinc: str) -> list[str]:
    """LOINC codes for a lab name; unmapped names match the record's own test names."""
    concepts = loinc.resolve(name_or_loinc)
    if concepts:
        return [c for concept in concepts for c in concept.codes]
    query = name_or_loinc.strip().lower()
    recent = search(ctx, "Observation", count=500)
    shown = [m for r in recent for m in measurements(r) if m.code not in loinc.VITAL_CODES]
    codes = {m.code for m in shown if query and query in m.display.lower() and m.code}
    if codes:
        return sorted(codes)
    listing = ", ".join(sorted({m.display for m in shown})[:30]) or "none"
    raise ToolError(f"No lab named {name_or_loinc!r} is known. Labs in this record: {listing}.")
