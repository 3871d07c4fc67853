"""Plain records read out of FHIR resources: what the tools show a clinician.

Each function takes a resource as JSON (already validated) and tolerates missing
optional fields: a value without a unit, a concept with only text, a dangling
medication reference.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from knowledge.ehr.loinc import LOINC_SYSTEM
from knowledge.ehr.parse import codings, date_of


@dataclass(frozen=True)
class Measurement:
    """One value of an Observation (or of one of its components)."""

    ref: str
    date: str | None
    code: str
    system: str
    display: str
    value: float | None
    text: str
    """The value as shown: ``52``, ``positive``, ``158/92``."""
    unit: str
    low: float | None = None
    high: float | None = None
    flag: str = ""
    """Interpretation code: H, L, HH, LL, A, N or empty."""

    @property
    def range_text(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{_num(self.low)}-{_num(self.high)}"
        if self.high is not None:
            return f"<{_num(self.high)}"
        if self.low is not None:
            return f">{_num(self.low)}"
        return ""

    @property
    def abnormal(self) -> bool:
        if self.flag:
            return self.flag not in {"N", "normal"}
        if self.value is None:
            return False
        return (self.high is not None and self.value > self.high) or (
            self.low is not None and self.value < self.low
        )


def _num(value: float) -> str:
    return f"{value:g}"


def concept_text(concept: Any, prefer: str = LOINC_SYSTEM) -> str:
    """Readable name of a CodeableConcept: its text, else a coding display, else a code."""
    if not isinstance(concept, dict):
        return ""
    if concept.get("text"):
        return str(concept["text"])
    coding = [c for c in concept.get("coding") or [] if isinstance(c, dict)]
    coding.sort(key=lambda c: c.get("system") != prefer)
    for c in coding:
        if c.get("display"):
            return str(c["display"])
    return str(coding[0].get("code", "")) if coding else ""


def main_code(concept: Any, prefer: str = LOINC_SYSTEM) -> tuple[str, str]:
    """(system, code) of a concept, the preferred system first."""
    pairs = codings(concept)
    pairs.sort(key=lambda p: p[0] != prefer)
    return pairs[0] if pairs else ("", "")


def _value(holder: dict[str, Any]) -> tuple[float | None, str, str]:
    quantity = holder.get("valueQuantity")
    if isinstance(quantity, dict) and quantity.get("value") is not None:
        value = float(quantity["value"])
        code = str(quantity.get("code") or "")
        unit = quantity.get("unit") or ("" if code.startswith("{") else code)
        return value, _num(value), str(unit)
    if holder.get("valueCodeableConcept"):
        return None, concept_text(holder["valueCodeableConcept"]), ""
    for key in ("valueString", "valueBoolean", "valueInteger", "valueDateTime"):
        if key in holder:
            raw = holder[key]
            number = float(raw) if key == "valueInteger" else None
            return number, str(raw), ""
    return None, "", ""


def _range(holder: dict[str, Any]) -> tuple[float | None, float | None]:
    ranges = holder.get("referenceRange") or []
    first = ranges[0] if ranges and isinstance(ranges[0], dict) else {}
    low = (first.get("low") or {}).get("value")
    high = (first.get("high") or {}).get("value")
    return (float(low) if low is not None else None, float(high) if high is not None else None)


def _flag(holder: dict[str, Any]) -> str:
    for concept in holder.get("interpretation") or []:
        code = main_code(concept, "")[1]
        if code:
            return code
    return ""


def measurements(observation: dict[str, Any]) -> list[Measurement]:
    """The values of an Observation: its own value, or one per component."""
    ref = f"Observation/{observation.get('id')}"
    when = date_of(observation)
    parts = [observation, *[c for c in observation.get("component") or [] if isinstance(c, dict)]]
    found = []
    for part in parts:
        value, text, unit = _value(part)
        if not text:
            continue
        system, code = main_code(part.get("code"))
        low, high = _range(part)
        found.append(
            Measurement(
                ref,
                when,
                code,
                system,
                concept_text(part.get("code")),
                value,
                text,
                unit,
                low,
                high,
                _flag(part),
            )
        )
    return found


def blood_pressure(observation: dict[str, Any]) -> Measurement | None:
    """A BP panel (LOINC 85354-9) as one ``systolic/diastolic`` measurement."""
    parts = {m.code: m for m in measurements(observation)}
    sbp, dbp = parts.get("8480-6"), parts.get("8462-4")
    if sbp is None or dbp is None:
        return None
    return Measurement(
        sbp.ref,
        sbp.date,
        "85354-9",
        LOINC_SYSTEM,
        "Blood pressure",
        sbp.value,
        f"{sbp.text}/{dbp.text}",
        sbp.unit or "mm[Hg]",
    )


def age_on(birth_date: str | None, today: date) -> int | None:
    """Age in whole years (None when the birth date is absent or partial)."""
    if not birth_date or len(birth_date) < 10:
        if birth_date and len(birth_date) >= 4 and birth_date[:4].isdigit():
            return today.year - int(birth_date[:4])
        return None
    born = date.fromisoformat(birth_date[:10])
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def clinical_status(resource: dict[str, Any]) -> str:
    """``active``, ``resolved``, ``inactive`` ... ('' when absent)."""
    return main_code(resource.get("clinicalStatus"), "")[1]


def medication_name(request: dict[str, Any], medication: dict[str, Any] | None) -> str:
    """Name of a MedicationRequest's drug, from its concept or its referenced Medication."""
    if request.get("medicationCodeableConcept"):
        return concept_text(request["medicationCodeableConcept"], "http://www.nlm.nih.gov/rxnorm")
    if medication:
        return concept_text(medication.get("code"), "http://www.nlm.nih.gov/rxnorm") or "medication"
    ref = (request.get("medicationReference") or {}).get("reference", "")
    return f"unknown medication ({ref or 'no code'})"


def dosage_text(request: dict[str, Any]) -> str:
    for dosage in request.get("dosageInstruction") or []:
        if isinstance(dosage, dict) and dosage.get("text"):
            return str(dosage["text"])
    return ""


def note_text(document: dict[str, Any]) -> str:
    """The plain text of a DocumentReference (base64 ``attachment.data``, text/* only)."""
    texts = []
    for content in document.get("content") or []:
        attachment = (content or {}).get("attachment") or {}
        kind = str(attachment.get("contentType") or "text/plain")
        if not kind.startswith("text/") or not attachment.get("data"):
            continue
        try:
            texts.append(base64.b64decode(attachment["data"]).decode("utf-8", errors="replace"))
        except (binascii.Error, ValueError):
            continue
    return "\n".join(texts).strip() or str(document.get("description") or "")


def note_title(document: dict[str, Any]) -> str:
    for content in document.get("content") or []:
        title = ((content or {}).get("attachment") or {}).get("title")
        if title:
            return str(title)
    return concept_text(document.get("type")) or str(document.get("description") or "Note")


def _span(first: str | None, last: str | None) -> str:
    if not first or not last or len(first) < 10 or len(last) < 10:
        return ""
    try:
        start = (
            datetime.fromisoformat(first) if "T" in first else datetime.fromisoformat(first[:10])
        )
        end = datetime.fromisoformat(last) if "T" in last else datetime.fromisoformat(last[:10])
    except ValueError:
        return ""
    hours = (end - start).total_seconds() / 3600
    if hours < 48:
        return f" over {hours:.0f} h"
    return f" over {hours / 24:.0f} days"


_MATERIAL = 0.05
"""A change smaller than this fraction of the larger value is noise, not a movement."""


@dataclass(frozen=True)
class Trend:
    """How a numeric series moved, as a clinician would say it."""

    shape: str
    """``rising``, ``falling``, ``stable``, ``peaked``, ``troughed``, ``fluctuating`` or ``""``."""
    text: str
    """The full phrase for tool output and reports ('' for fewer than two values)."""
    brief: str
    """A few words for the synopsis: ``down from peak 186 on 2026-03-02``."""


def _material(a: float, b: float) -> bool:
    return abs(b - a) > _MATERIAL * max(abs(a), abs(b), 1e-9)


def _pivots(values: list[float]) -> list[int]:
    """Indices of the turning points: the first value, each extreme of a material run, the last."""
    pivots, direction = [0], 0
    for i in range(1, len(values)):
        last = values[pivots[-1]]
        move = values[i] - last
        if direction == 0:
            if _material(last, values[i]):
                direction = 1 if move > 0 else -1
                pivots.append(i)
        elif move * direction > 0:
            pivots[-1] = i  # the run goes on: its extreme moves
        elif _material(last, values[i]):
            direction = -direction
            pivots.append(i)
    return pivots


def _at(m: Measurement, short: bool) -> str:
    """The date of a value; with its time when the series spans under two days."""
    when = (m.date or "undated")[:16].replace("T", " ")
    return when if short else when[:10]


def _percent(a: float, b: float) -> str:
    change = 100 * (b - a) / (abs(a) or 1.0)
    return f"{0.0 if abs(change) < 0.5 else change:+.0f}%"


def describe_series(values: list[Measurement]) -> Trend:
    """The shape of a numeric series in time order, with the values and dates that matter.

    CRP 4 -> 186 -> 92 reads ``rose from 4 to a peak of 186 mg/L on D then fell to 92 on D``,
    never "rising": the latest value is compared with the previous one and with the peak
    or the nadir, not only with the first.
    """
    numeric = [m for m in values if m.value is not None]
    if len(numeric) < 2:
        return Trend("", "", "single value" if numeric else "")
    nums = [float(m.value) for m in numeric]  # type: ignore[arg-type]
    first, last = numeric[0], numeric[-1]
    unit = f" {last.unit}" if last.unit else ""
    span = _span(first.date, last.date)
    short = bool(span) and span.endswith(" h")  # within two days: times, not dates
    pivots = _pivots(nums)
    low, high = min(nums), max(nums)
    if not _material(low, high) or len(pivots) == 1:
        text = f"stable, {first.text} -> {last.text}{unit}{span} (range {_num(low)}-{_num(high)})"
        return Trend("stable", text, "stable")
    previous = numeric[-2]
    latest = (
        f"latest {last.text} on {_at(last, short)}, "
        f"previous {previous.text} on {_at(previous, short)}"
    )
    if len(pivots) == 2:
        shape = "rising" if nums[-1] > nums[0] else "falling"
        text = f"{shape}, {first.text} -> {last.text}{unit}{span} ({_percent(nums[0], nums[-1])})"
        if len(numeric) > 2:
            text += f"; {latest}"
        word = "up" if shape == "rising" else "down"
        return Trend(shape, text, f"{word} from {first.text} on {_at(first, short)}")
    if len(pivots) == 3:
        return _turned(numeric, nums, pivots[1], unit, short)
    top, bottom = numeric[nums.index(high)], numeric[nums.index(low)]
    text = (
        f"fluctuating between {bottom.text} ({_at(bottom, short)}) and {top.text}{unit} "
        f"({_at(top, short)}){span}; {latest}"
    )
    return Trend("fluctuating", text, f"fluctuating {bottom.text}-{top.text}")


def _turned(
    numeric: list[Measurement], nums: list[float], pivot: int, unit: str, short: bool
) -> Trend:
    """A series that turned once: rose to a peak then fell, or fell to a low then rose."""
    first, last, previous = numeric[0], numeric[-1], numeric[-2]
    turn = numeric[pivot]
    peaked = nums[pivot] > nums[0]
    shape = "peaked" if peaked else "troughed"
    went, came = ("rose", "fell") if peaked else ("fell", "rose")
    extreme = "a peak" if peaked else "a low"
    text = (
        f"{went} from {first.text} to {extreme} of {turn.text}{unit} on {_at(turn, short)}, "
        f"then {came} to {last.text} on {_at(last, short)} "
        f"({_percent(nums[pivot], nums[-1])} from the {'peak' if peaked else 'low'})"
    )
    if previous is not turn:
        text += f"; previous {previous.text} on {_at(previous, short)}"
    brief = f"{'down from peak' if peaked else 'up from low'} {turn.text} on {_at(turn, short)}"
    return Trend(shape, text, brief)


def trend(values: list[Measurement]) -> str:
    """The full phrase of :func:`describe_series` ('' for fewer than two numeric values)."""
    return describe_series(values).text


def one_line(patient: dict[str, Any], conditions: list[dict[str, Any]], today: date) -> str:
    """``62 y male; Chest pain, Hypertension, +3 more`` (no identifiers), for listings."""
    age = age_on(patient.get("birthDate"), today)
    who = f"{age} y {patient.get('gender') or ''}".strip() if age is not None else "age unknown"
    active = [
        concept_text(c.get("code"), "http://snomed.info/sct")
        for c in conditions
        if clinical_status(c) in {"active", "recurrence", "relapse", ""}
    ]
    shown = ", ".join(a for a in active[:3] if a)
    more = f", +{len(active) - 3} more" if len(active) > 3 else ""
    return f"{who}; {shown}{more}" if shown else f"{who}; no active problems recorded"
