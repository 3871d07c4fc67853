"""Record claims (``E#``) checked against the structured content of the cited entries.

A claim such as "hs-Troponin T is normal at 5 ng/L [E17]" is read for what a
program can compare mechanically with the cited FHIR entry (the ``citation`` dict
the EHR tools store): numbers with units (converted where the same quantity is
stated in another unit), dates and times, the interpretation flag (high, low,
critical, normal), the trend of the series the claim speaks of (rising, falling,
peaked, stable: from every value of that test in the session's evidence),
presence and absence (no known allergies, not on anticoagulants) and the entry's
status (a resolved condition or a stopped medication stated as current; anything
entered in error). The outcome is a :class:`RecordCheck`: ``mismatch`` with a
reason that says what the claim says and what the entry holds, ``checked`` when
something was compared and agreed, or ``unchecked`` when nothing in the claim
could be compared.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from agent.claims.record_words import (
    _ALL_DRUGS,
    _CLASS_RE,
    _CLAUSE,
    _NO_ALLERGY,
    _NOT_ON,
    _PAST,
    _STRICT,
    FLAG_WORDS,
    TREND_WORDS,
    _c,
    _dimension,
    _holds,
    _merge,
    _num,
    _series,
    convert,
    dates,
    observation_flag,
    quantities,
    series_shape,
    times,
)
from tools.evidence import EvidenceRecord


# --- the check ----------------------------------------------------------------------------------
@dataclass
class RecordCheck:
    """The outcome for one claim against its cited record entries."""

    status: str = "unchecked"
    reason: str = ""
    compared: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)

    def agree(self, what: str) -> None:
        self.compared.append(what)

    def disagree(self, what: str) -> None:
        self.mismatches.append(what)

    def close(self, ids: Sequence[str]) -> RecordCheck:
        cited = ", ".join(ids)
        if self.mismatches:
            self.status, self.reason = "mismatch", _merge(self.mismatches)
        elif self.compared:
            self.status = "checked"
            self.reason = f"{', '.join(dict.fromkeys(self.compared))} agree with {cited}"
        else:
            self.status = "unchecked"
            self.reason = f"nothing in the claim could be compared with {cited} mechanically"
        return self


def check_record_claim(
    text: str, ids: Sequence[str], evidence: Mapping[str, EvidenceRecord]
) -> RecordCheck:
    """Compare a claim with the record entries it cites (absence: with every entry seen)."""
    cited = [evidence[i] for i in ids if i in evidence and evidence[i]["kind"] == "ehr"]
    result = RecordCheck()
    if not cited:
        return result.close(ids)
    _check_status(text, cited, result)
    observations = [r for r in cited if _c(r).get("resource_type") == "Observation"]
    _check_quantities(text, cited, observations, result)
    _check_dates(text, cited, result)
    if observations:
        _check_flags(text, observations, result)
        _check_trend(text, observations, evidence, result)
    _check_presence(text, cited, evidence, result)
    _check_names(text, cited, result)
    return result.close([r["id"] for r in cited])


def _clause_about(text: str, record: EvidenceRecord, alone: bool) -> str:
    """The clause of ``text`` that names the record's entry (the whole text for a lone citation)."""
    words = [w for w in re.findall(r"[a-z]{4,}", str(_c(record).get("display") or "").lower())]
    clauses = [c for c in _CLAUSE.split(text) if c and c.strip()]
    for clause in clauses:
        if any(w in clause.lower() for w in words[:2]):
            return clause
    return text if alone else ""


def _check_status(text: str, cited: list[EvidenceRecord], result: RecordCheck) -> None:
    for record in cited:
        c = _c(record)
        status = str(c.get("record_status") or c.get("status") or "").lower()
        if status == "entered-in-error":
            result.disagree(f"{record['id']} was entered in error and cannot support a claim")
            continue
        kind = c.get("resource_type")
        clause = _clause_about(text, record, len(cited) == 1)
        if not clause:
            continue
        past = _PAST.search(clause) or (_PAST.search(text) if len(cited) == 1 else None)
        if kind == "Condition" and status in {"resolved", "inactive", "remission"}:
            if not past:
                result.disagree(
                    f"the claim states {c.get('display', 'the condition')} as current; "
                    f"{record['id']} records it as {status}"
                )
            else:
                result.agree("status")
        elif (
            kind == "Condition"
            and status == "active"
            and past
            and "history of" not in clause.lower()
        ):
            result.disagree(
                f"the claim says '{past.group(0)}'; {record['id']} records "
                f"{c.get('display', 'the condition')} as active"
            )
        elif kind == "MedicationRequest" and status in {"stopped", "cancelled", "completed"}:
            if past:
                result.agree("status")
            else:
                result.disagree(
                    f"the claim states {c.get('display', 'the medication')} as current; "
                    f"{record['id']} is a {status} order"
                )
        elif kind == "MedicationRequest" and status == "active" and past:
            result.disagree(
                f"the claim says '{past.group(0)}'; {record['id']} is an active order of "
                f"{c.get('display', 'the medication')}"
            )


def _matches(q: float, claim_decimals: int, truth: float, converted: bool) -> bool:
    tolerance = 0.5 * 10 ** (-claim_decimals) + 1e-9
    if converted:
        tolerance = max(tolerance, 0.02 * abs(truth))
    return abs(q - truth) <= tolerance


def _record_quantities(record: EvidenceRecord) -> list[tuple[float, float | None, str, str]]:
    """(value, second value, unit, code) pairs a record holds: its value, or doses in its text."""
    c = _c(record)
    if c.get("resource_type") == "Observation" and isinstance(c.get("value"), int | float):
        second = None
        text = str(c.get("value_text") or "")
        if "/" in text:
            second = (
                float(text.split("/")[1]) if text.split("/")[1].replace(".", "").isdigit() else None
            )
        return [(float(c["value"]), second, str(c.get("unit") or ""), str(c.get("code") or ""))]
    texts = " ".join(str(c.get(k) or "") for k in ("display", "dosage")) + " " + record["label"]
    return [(q.value, q.second, q.unit, "") for q in quantities(texts)]


def _check_quantities(
    text: str, cited: list[EvidenceRecord], observations: list[EvidenceRecord], result: RecordCheck
) -> None:
    held = [(record, q) for record in cited for q in _record_quantities(record)]
    for q in quantities(text):
        comparable = []
        for record, (value, second, unit, code) in held:
            same = _dimension(q.unit) is not None and _dimension(q.unit) == _dimension(unit)
            as_truth = convert(q.value, q.unit, unit, code)
            if as_truth is None:
                continue
            comparable.append((record, value, unit))
            ok = _matches(as_truth, q.decimals if same else 0, value, not same)
            if ok and q.second is not None and second is not None:
                ok = _matches(q.second, q.decimals, second, False)
            if ok:
                result.agree("value")
                break
        else:
            if comparable:
                record, value, unit = comparable[0]
                result.disagree(
                    f"the claim says {q.text}; {_holds(record)}"
                    + ("" if _dimension(q.unit) == _dimension(unit) else f" ({_num(value)} {unit})")
                )
            elif observations and q.unit.lower() not in {"%"} and _dimension(q.unit) is not None:
                record = observations[0]
                if any(abs(q.value - v) < 1e-9 for _, (v, _, _, _) in held):
                    result.disagree(
                        f"the claim says {q.text}; {_holds(record)}: {q.unit} is not its unit"
                    )


def _check_dates(text: str, cited: list[EvidenceRecord], result: RecordCheck) -> None:
    stated = dates(text)
    held = [str(_c(r).get("date") or "") for r in cited]
    for day in stated:
        if any(h.startswith(day) for h in held if h):
            result.agree("date")
        elif any(held):
            shown = ", ".join(
                f"{r['id']} {str(_c(r).get('date') or 'undated')[:10]}" for r in cited
            )
            result.disagree(f"the claim gives the date {day}; the cited entries are dated {shown}")
    for clock in times(text):
        if any(h[11:16] == clock for h in held):
            result.agree("time")
        elif any(len(h) > 11 for h in held):
            shown = ", ".join(f"{r['id']} {str(_c(r).get('date') or '')[:16]}" for r in cited)
            result.disagree(f"the claim gives the time {clock}; the cited entries are {shown}")


def _check_flags(text: str, observations: list[EvidenceRecord], result: RecordCheck) -> None:
    said = ""
    for name, pattern in FLAG_WORDS.items():
        if pattern.search(text):
            said = name
            break
    if not said:
        return
    truths = {r["id"]: observation_flag(_c(r)) for r in observations}
    known = {i: f for i, f in truths.items() if f}
    if not known:
        return
    wanted = {
        "critical": {"critical"},
        "high": {"high", "critical", "abnormal"},
        "low": {"low", "critical", "abnormal"},
        "normal": {"normal"},
        "not_high": {"normal", "low"},
        "not_normal": {"high", "low", "critical", "abnormal"},
    }[said]
    if any(f in wanted for f in known.values()):
        result.agree("flag")
        return
    record = next(r for r in observations if r["id"] in known)
    shown = said.replace("_", " ")
    result.disagree(f"the claim calls it {shown}; {_holds(record)}")


def _check_trend(
    text: str,
    observations: list[EvidenceRecord],
    evidence: Mapping[str, EvidenceRecord],
    result: RecordCheck,
) -> None:
    said = next((name for name, p in TREND_WORDS.items() if p.search(text)), "")
    if not said:
        return
    for record in observations:
        values = _series(record, evidence)
        shape = series_shape(values)
        if not shape:
            continue
        ok = shape == said
        if not _STRICT.search(text):  # "falling" from a peak, "rising" from a trough
            ok = ok or (said, shape) in {("rising", "troughed"), ("falling", "peaked")}
        if ok:
            result.agree("trend")
            return
        c = _c(record)
        series_text = " -> ".join(_num(v) for v in values)
        result.disagree(
            f"the claim says {said}; the {c.get('display', 'series')} values in this session are "
            f"{series_text} {c.get('unit') or ''} ({shape}; latest {record['id']})".replace(
                " (", " (", 1
            )
        )
        return


def _is_no_allergy(record: EvidenceRecord) -> bool:
    return _c(record).get("resource_type") == "AllergyIntolerance" and not _c(record).get("display")


def _check_presence(
    text: str,
    cited: list[EvidenceRecord],
    evidence: Mapping[str, EvidenceRecord],
    result: RecordCheck,
) -> None:
    seen = [r for r in evidence.values() if r["kind"] == "ehr"]
    if _NO_ALLERGY.search(text):
        allergies = [
            r
            for r in seen
            if _c(r).get("resource_type") == "AllergyIntolerance" and not _is_no_allergy(r)
        ]
        if allergies:
            names = ", ".join(f"{_c(r).get('display')} ({r['id']})" for r in allergies)
            result.disagree(f"the claim says no known allergies; the record lists {names}")
        elif any(_is_no_allergy(r) for r in cited):
            result.agree("no known allergies")
    for m in _NOT_ON.finditer(text):
        target = m.group(1).lower()
        for pattern in _CLASS_RE.values():
            if not pattern.search(target):
                continue
            active = [
                r
                for r in seen
                if _c(r).get("resource_type") == "MedicationRequest"
                and str(_c(r).get("status")) in {"active", "on-hold"}
                and pattern.search(str(_c(r).get("display") or ""))
            ]
            if active:
                names = ", ".join(f"{_c(r).get('display')} ({r['id']})" for r in active)
                result.disagree(f"the claim says not on {target.strip()}; active orders: {names}")
            else:
                result.agree("absence")


def _check_names(text: str, cited: list[EvidenceRecord], result: RecordCheck) -> None:
    """A claim that names a drug must cite an order of that drug (or its class)."""
    lowered = text.lower()
    if _NOT_ON.search(text) or _NO_ALLERGY.search(text):
        return
    meds = [r for r in cited if _c(r).get("resource_type") == "MedicationRequest"]
    if not meds:
        return
    named = [d for d in _ALL_DRUGS if re.search(rf"\b{d}\b", lowered)]
    held = " ".join(str(_c(r).get("display") or "").lower() for r in meds)
    for drug in named:
        if drug in held:
            result.agree("drug")
        else:
            shown = ", ".join(f"{r['id']} is {_c(r).get('display')}" for r in meds)
            result.disagree(f"the claim names {drug}; {shown}")
    if not named:
        for record in meds:
            first = str(_c(record).get("display") or "").split(" ")[0].lower()
            if first and first in lowered:
                result.agree("drug")
