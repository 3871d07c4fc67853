"""Fill a calculator's parameters from a patient's record, then from reported values.

Each value says where it came from: ``recorded`` (a resource of the record, with its
date), ``reported`` (given by the clinician through the model: not in the record),
or ``assumed`` (a yes/no problem that is not on a problem list that exists: taken
as absent, and said so). A parameter that is neither recorded (within its window)
nor reported is *missing*: the score is not computed, or, when only yes/no or
choice parameters are missing, it is given as a labelled range over their values.
For demonstration and education; not clinical advice.
"""

from __future__ import annotations

import itertools
import types
import typing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from knowledge.ehr.parse import codings, date_of
from knowledge.ehr.records import Measurement, age_on, clinical_status, concept_text, measurements
from knowledge.scores.catalogue import Calculator
from knowledge.scores.fields import Demographic, Measured, Problem, Spec, Threshold, spec_for
from knowledge.scores.units import UnitError, convert

ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
MAX_RANGE_COMBINATIONS = 64


class ScoreInputError(ValueError):
    """A reported value the calculator cannot take (unknown name, wrong type, out of range)."""


@dataclass
class Value:
    name: str
    value: Any
    source: Literal["recorded", "reported", "assumed"]
    text: str
    """How it was obtained, for people: ``urea 9 mmol/L = BUN 25.2 mg/dL, 2026-03-01 08:00``."""
    resource: dict[str, Any] | None = None
    date: str | None = None


@dataclass
class Record:
    """What the filler reads: the patient, their observations and problems, and 'now'."""

    as_of: datetime
    patient: dict[str, Any] | None = None
    observations: list[dict[str, Any]] = field(default_factory=list)
    conditions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Filled:
    calculator: Calculator
    values: dict[str, Value] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    """Required parameter -> why it is missing (its description, or the stale value)."""
    stale: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    optional_absent: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    filled: Filled
    value: Any = None
    interpretation: str = ""
    doi: str = ""
    evidence_level: str = ""
    evidence_title: str = ""
    low: Any = None
    high: Any = None
    """When missing yes/no or choice parameters allow it: the range of the score over them."""

    @property
    def computed(self) -> bool:
        return not self.filled.missing


def _base(annotation: Any) -> tuple[Any, bool]:
    """(type, optional) of a field annotation: ``Optional[int]`` -> (int, True)."""
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if (origin is typing.Union or origin is types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else annotation), True
    return annotation, False


def _hours_old(when: str | None, as_of: datetime) -> float | None:
    if not when:
        return None
    moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=as_of.tzinfo)
    return (as_of - moment).total_seconds() / 3600


def _window(hours: float) -> str:
    return f"{hours / 24:g} days" if hours >= 48 else f"{hours:g} hours"


def _number(value: float) -> str:
    return f"{value:.4g}"


class _Reader:
    def __init__(self, record: Record) -> None:
        self.record = record
        self.series: dict[str, list[tuple[Measurement, dict[str, Any]]]] = {}
        for resource in record.observations:
            for m in measurements(resource):
                if m.value is not None and m.code:
                    self.series.setdefault(m.code, []).append((m, resource))
        for values in self.series.values():
            values.sort(key=lambda pair: pair[0].date or "")

    def measured(self, name: str, spec: Measured, filled: Filled) -> Value | None:
        codes = (*spec.codes, *spec.urea_codes)
        found = [
            pair
            for code in codes
            for pair in self.series.get(code, [])
            if (_hours_old(pair[0].date, self.record.as_of) or 0) >= 0
        ]
        if not found:
            return None
        m, resource = max(found, key=lambda pair: pair[0].date or "")
        age = _hours_old(m.date, self.record.as_of)
        shown = f"{m.display or spec.quantity} {m.text} {m.unit}".strip()
        if age is None or age > spec.hours:
            when = (m.date or "undated")[:16].replace("T", " ")
            filled.stale.append(
                f"{name}: the latest {shown} ({when}) is older than {_window(spec.hours)}; "
                "not used (report a current value)"
            )
            return None
        try:
            value = convert(
                spec.quantity,
                float(m.value or 0),
                m.unit,
                spec.unit,
                as_urea=m.code in spec.urea_codes,
            )
        except UnitError as exc:
            filled.notes.append(f"{name}: {exc}; not used")
            return None
        text = shown
        if abs(value - float(m.value or 0)) > 1e-9:
            text += f" = {_number(value)} {spec.unit}"
        return Value(
            name,
            value,
            "recorded",
            f"{text} ({(m.date or '')[:16].replace('T', ' ')})",
            resource,
            m.date,
        )

    def demographic(self, name: str, spec: Demographic) -> Value | None:
        patient = self.record.patient
        if not patient:
            return None
        if spec.what == "age":
            years = age_on(patient.get("birthDate"), self.record.as_of.date())
            if years is None:
                return None
            return Value(name, years, "recorded", f"age {years} years", patient)
        gender = patient.get("gender")
        if gender not in {"female", "male"}:
            return None
        return Value(name, gender == spec.what, "recorded", f"sex {gender}", patient)

    def problem(self, name: str, spec: Problem) -> Value | None:
        conditions = [
            r
            for r in self.record.conditions
            if clinical_status(r) not in {"entered-in-error"}
            and (spec.history or clinical_status(r) in {"active", "recurrence", "relapse", ""})
        ]
        for resource in conditions:
            codes = [c for s, c in codings(resource.get("code")) if s == ICD10_SYSTEM]
            if any(c.upper().startswith(p) for c in codes for p in spec.icd10):
                label = concept_text(resource.get("code")) or spec.label
                return Value(
                    name,
                    True,
                    "recorded",
                    f"{label} on the problem list",
                    resource,
                    date_of(resource),
                )
        if not self.record.conditions:
            return None
        return Value(
            name,
            False,
            "assumed",
            f"no {spec.label} on the problem list ({len(self.record.conditions)} problems "
            "reviewed): taken as absent; report it if present",
        )


def _from_record(reader: _Reader, name: str, spec: Spec | None, filled: Filled) -> Value | None:
    if isinstance(spec, Measured):
        return reader.measured(name, spec, filled)
    if isinstance(spec, Demographic):
        return reader.demographic(name, spec)
    if isinstance(spec, Problem):
        return reader.problem(name, spec)
    if isinstance(spec, Threshold):
        base = _from_record(reader, spec.base, spec_for("", spec.base), filled)
        if base is None or base.source != "recorded":
            return None
        decided = spec.decide(float(base.value))
        text = f"{base.text}: {spec.base.replace('_', ' ')} {spec.op} {spec.cutoff:g} is {decided}"
        return Value(name, decided, "recorded", text, base.resource, base.date)
    return None


def _coerce(annotation: Any, value: Any, name: str) -> Any:
    try:
        return TypeAdapter(annotation).validate_python(value)
    except ValidationError as exc:
        reason = exc.errors()[0].get("msg", "invalid")
        raise ScoreInputError(f"{name}={value!r}: {reason}") from None


def fill(calc: Calculator, record: Record | None, reported: dict[str, Any] | None) -> Filled:
    """Every parameter of ``calc`` from the record first, then from ``reported`` (which wins)."""
    filled = Filled(calc)
    fields = calc.params.model_fields
    reported = dict(reported or {})
    cutoffs = {
        name: spec
        for name in fields
        if isinstance(spec := spec_for(calc.registry_name, name), Threshold)
    }
    # a yes/no cut-off parameter (heart_rate_gt_100) may be reported as its number (heart_rate)
    unknown = sorted(set(reported) - set(fields) - {s.base for s in cutoffs.values()})
    if unknown:
        raise ScoreInputError(
            f"{calc.title} has no parameter {', '.join(unknown)}; its parameters are "
            + ", ".join(fields)
        )
    reader = _Reader(record) if record is not None else None
    for name, info in fields.items():
        annotation, optional = _base(info.annotation)
        found = None
        if reader is not None:
            found = _from_record(reader, name, spec_for(calc.registry_name, name), filled)
        if found is not None and annotation is int:
            found.value = round(float(found.value))
        given = _reported(name, info.annotation, reported, cutoffs.get(name))
        if given is not None:
            if found is not None and found.source == "recorded" and found.value != given.value:
                filled.notes.append(
                    f"{name}: the record has {found.text}; the reported value "
                    f"{getattr(given.value, 'value', given.value)!r} was used"
                )
            found = given
        if found is not None:
            filled.values[name] = found
        elif optional or not info.is_required():
            filled.optional_absent.append(name)
        else:
            filled.missing[name] = info.description or name
    return filled


def _reported(
    name: str, annotation: Any, reported: dict[str, Any], cutoff: Threshold | None
) -> Value | None:
    """The value reported for ``name``, or decided from its reported number (a cut-off)."""
    if name in reported:
        given = _coerce(annotation, reported[name], name)
        shown = getattr(given, "value", given)
        return Value(name, given, "reported", f"{name} = {shown!r} (reported, not recorded)")
    if cutoff is not None and cutoff.base in reported:
        number = _coerce(float, reported[cutoff.base], cutoff.base)
        decided = cutoff.decide(number)
        text = (
            f"{cutoff.base} = {number:g} (reported, not recorded): "
            f"{cutoff.base.replace('_', ' ')} {cutoff.op} {cutoff.cutoff:g} is {decided}"
        )
        return Value(name, decided, "reported", text)
    return None


def _choices(annotation: Any) -> list[Any] | None:
    base, _ = _base(annotation)
    if base is bool:
        return [False, True]
    if isinstance(base, type) and issubclass(base, Enum):
        return list(base)
    return None


def compute(filled: Filled) -> Outcome:
    """The score when nothing is missing; else, where possible, its range over what is missing."""
    calc = filled.calculator
    outcome = Outcome(filled)
    given = {n: v.value for n, v in filled.values.items()}
    if not filled.missing:
        result = _run(calc, given)
        outcome.value = result.value
        outcome.interpretation = result.interpretation
        outcome.doi = result.evidence.source_doi
        outcome.evidence_level = result.evidence.level
        outcome.evidence_title = result.evidence.description
        return outcome
    fields = calc.params.model_fields
    options = [_choices(fields[n].annotation) for n in filled.missing]
    if any(o is None for o in options):
        return outcome
    combos = list(itertools.product(*[o for o in options if o is not None]))
    if len(combos) > MAX_RANGE_COMBINATIONS:
        return outcome
    values = []
    for combo in combos:
        result = _run(calc, {**given, **dict(zip(filled.missing, combo, strict=True))})
        values.append(result.value)
        outcome.doi = result.evidence.source_doi
        outcome.evidence_title = result.evidence.description
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        outcome.low, outcome.high = min(values), max(values)
    return outcome


def _run(calc: Calculator, values: dict[str, Any]) -> Any:
    try:
        params = calc.params(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')}" for e in exc.errors()
        )
        raise ScoreInputError(f"{calc.title} cannot take these values ({problems})") from None
    try:
        return calc.run(params)
    except (ValueError, ZeroDivisionError) as exc:
        raise ScoreInputError(f"{calc.title} could not be computed: {exc}") from None


def as_of_for(record_dates: list[str], given: datetime | None) -> datetime:
    """'Now' for the windows: the given moment, else the newest dated entry, else the clock."""
    from datetime import UTC

    if given is not None:
        return given if given.tzinfo else given.replace(tzinfo=UTC)
    dated = [d for d in record_dates if d]
    if not dated:
        return datetime.now(UTC)
    newest = max(dated)
    moment = datetime.fromisoformat(newest.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) + timedelta(minutes=1)
