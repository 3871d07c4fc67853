"""Score tools: validated clinical scores computed from the session patient's record.

The calculators are those of the open-medicine package (typed parameters, a DOI for
each). Values come from the record first (each cited as an ``E#`` with its date,
within a window, converted to the calculator's units), then from values the
clinician reported (marked so). A missing value is named, never guessed. A computed
score is cited as its own evidence id (a ``G#`` whose source is the calculator's
study DOI), so a differential can cite "CURB-65 3 [G4]". For demonstration and
education; a score supports, and does not replace, clinical judgement.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from langchain_core.tools import BaseTool, tool
from langgraph.prebuilt import ToolRuntime

from knowledge.ehr.parse import date_of
from knowledge.scores import (
    Calculator,
    CalculatorNotFound,
    Outcome,
    Record,
    ScoreInputError,
    as_of_for,
    calculators,
    compute,
    describe_parameter,
    fill,
    find,
    package_version,
    suggest,
)
from knowledge.scores.fields import Measured, Threshold, spec_for
from knowledge.untrusted import untrusted
from tools.ehr_lines import cite, guard, search
from tools.runtime import ToolArtifact, ToolContext, ToolError, requires

NOT_ADVICE = "For demonstration and education; supports, does not replace, clinical judgement."


def _codes(calc: Calculator) -> list[str]:
    codes: list[str] = []
    for name in calc.params.model_fields:
        spec = spec_for(calc.registry_name, name)
        if isinstance(spec, Threshold):
            spec = spec_for("", spec.base)
        if isinstance(spec, Measured):
            codes += [*spec.codes, *spec.urea_codes]
    return codes


def _record(ctx: ToolContext, calc: Calculator) -> Record | None:
    """The session patient's record as the filler reads it (None without an EHR or patient)."""
    ehr = ctx.ehr
    if ehr is None or not ctx.patient_id:
        return None
    pid = str(ctx.patient_id)
    patient = guard(lambda: ehr.patient(pid))
    codes = _codes(calc)
    observations = search(ctx, "Observation", codes=codes, count=500) if codes else []
    conditions = search(ctx, "Condition", count=500)
    given = ctx.extras.get("as_of")
    when = datetime.fromisoformat(given) if isinstance(given, str) else given
    everything = search(ctx, "Observation", count=1) + search(ctx, "Encounter", count=1)
    as_of = as_of_for([date_of(r) or "" for r in everything], when)
    return Record(as_of, patient, observations, conditions)


def _parameters(calc: Calculator) -> str:
    fields = calc.params.model_fields
    return "; ".join(f"{n} {describe_parameter(f)}" for n, f in fields.items())


def _choices(question: str) -> tuple[str, ToolArtifact]:
    found = suggest(question, 4)
    if not found:
        listing = ", ".join(sorted(c.title for c in calculators().values()))
        return (
            f"No calculator matches {question!r}. Calculators: {listing}.",
            ToolArtifact(evidence=[], data={"suggestions": []}),
        )
    lines = [f"Calculators for {question!r} (call calculate with one name):"]
    for c in found:
        line = f"- {c.title} ({c.key}): {c.description} Parameters: {_parameters(c)}"
        lines.append(line if len(line) <= 900 else line[:897] + "...")
    return "\n".join(lines), ToolArtifact(evidence=[], data={"suggestions": [c.key for c in found]})


def _score_id(ctx: ToolContext, outcome: Outcome, as_of: str) -> str:
    calc = outcome.filled.calculator
    inputs = {n: str(v.value) for n, v in sorted(outcome.filled.values.items())}
    where = (calc.reference or calc.title).rstrip(". ")
    return ctx.ledger.cite(
        "guideline",
        f"score/{calc.key}/{json.dumps(inputs, sort_keys=True)}",
        label=f"{calc.title} = {outcome.value} (computed {as_of})",
        excerpt=f"{calc.title} {outcome.value}. {outcome.interpretation}",
        citation={
            "title": f"{calc.title} computed for this patient: {outcome.value}",
            "section": outcome.evidence_title,
            "publisher": f"{where}; open-medicine {package_version()} calculator",
            "year": calc.year,
            "url": f"https://doi.org/{outcome.doi}" if outcome.doi else "",
            "doi": outcome.doi,
            "evidence_level": outcome.evidence_level,
            "computed_score": calc.key,
            "inputs": inputs,
            "interpretation": outcome.interpretation,
        },
    )


def _plain(value: Any) -> Any:
    """An enum member as its value (``alert``), anything else as it is."""
    return getattr(value, "value", value)


def _value_lines(ctx: ToolContext, outcome: Outcome) -> tuple[list[str], list[str]]:
    lines, evidence = [], []
    for name, v in outcome.filled.values.items():
        shown = untrusted(v.text, limit=160)
        if v.source == "recorded" and v.resource is not None:
            label = (
                shown.split(" (")[0]
                if v.resource.get("resourceType") != "Patient"
                else "age and sex"
            )
            eid = cite(ctx, v.resource, label, shown)
            evidence.append(eid)
            lines.append(f"- {name}: {shown} [{eid}]")
        elif v.source == "assumed":
            lines.append(f"- {name}: {v.value} (assumed: {shown})")
        elif v.text.startswith(f"{name} = "):
            lines.append(f"- {name}: {_plain(v.value)} (reported, not recorded)")
        else:  # a cut-off decided from a reported number
            lines.append(f"- {name}: {_plain(v.value)} ({shown})")
    return lines, evidence


def _render(
    ctx: ToolContext, outcome: Outcome, as_of: str, as_of_note: str = ""
) -> tuple[str, ToolArtifact]:
    filled = outcome.filled
    calc = filled.calculator
    values, evidence = _value_lines(ctx, outcome)
    head: list[str] = []
    score_id = None
    if outcome.computed:
        score_id = _score_id(ctx, outcome, as_of)
        head.append(f"{calc.title} = {outcome.value} [{score_id}]. {outcome.interpretation}")
        source = (calc.reference or calc.title).rstrip(". ")
        head.append(f"Source: {source}; DOI {outcome.doi}. {NOT_ADVICE}")
    else:
        wanted = "; ".join(f"{n} ({why})" for n, why in filled.missing.items())
        head.append(f"{calc.title} NOT computed: missing {wanted}.")
        if outcome.low is not None:
            head.append(
                f"Over every value of the missing items the score would lie between "
                f"{outcome.low} and {outcome.high} (a range, not a result)."
            )
        head.append(
            "Ask the clinician for the missing values and call calculate again with "
            'reported={"name": value}; never assume them.'
        )
    when = f"{as_of}, {as_of_note}" if as_of_note else as_of
    lines = [*head, f"Values (as of {when}):", *values]
    lines += [f"Not used: {untrusted(s)}" for s in filled.stale]
    lines += [f"Note: {untrusted(n)}" for n in filled.notes]
    if filled.optional_absent:
        lines.append("Optional, not available: " + ", ".join(filled.optional_absent))
    text = "\n".join(lines)
    data = _data(ctx, outcome, as_of, score_id)
    cited = [*([score_id] if score_id else []), *dict.fromkeys(evidence)]
    return text[: ctx.max_output_chars], ToolArtifact(evidence=cited, data=data)


def _data(ctx: ToolContext, outcome: Outcome, as_of: str, score_id: str | None) -> dict[str, Any]:
    """The structured result kept for renderers and the audit trail (records it read)."""
    filled = outcome.filled
    calc = filled.calculator
    return {
        "calculator": calc.key,
        "title": calc.title,
        "computed": outcome.computed,
        "value": outcome.value,
        "interpretation": outcome.interpretation,
        "doi": outcome.doi,
        "score_id": score_id,
        "range": [outcome.low, outcome.high] if outcome.low is not None else None,
        "as_of": as_of,
        "values": {
            n: {
                "value": v.value if not hasattr(v.value, "value") else v.value.value,
                "source": v.source,
                "text": v.text,
            }
            for n, v in filled.values.items()
        },
        "missing": dict(filled.missing),
        "stale": list(filled.stale),
        "patient_id": ctx.patient_id,
        "resources": list(
            dict.fromkeys(
                f"{v.resource['resourceType']}/{v.resource['id']}"
                for v in filled.values.values()
                if v.resource is not None
            )
        ),
    }


@tool(parse_docstring=True, response_format="content_and_artifact")
def calculate(
    calculator: str,
    runtime: ToolRuntime[ToolContext, Any],
    reported: dict[str, Any] | None = None,
) -> tuple[str, ToolArtifact]:
    """Compute a validated clinical score from the patient's record, with its source DOI.

    Scores include CURB-65, PSI, Wells (PE, DVT), PERC, qSOFA, SOFA, NEWS2, CHA2DS2-VASc,
    HAS-BLED, Child-Pugh, MELD-Na, eGFR (CKD-EPI 2021), HEART, GRACE, Glasgow-Blatchford and
    about 80 more. Values are read from the record (cited); give in `reported` only what the
    clinician told you and the record lacks. A missing value is named, never assumed: ask for
    it. Cite the returned score id when you use the score.

    Args:
        calculator: The score's name ("CURB-65", "wells_pe"), or a question ("severity of
            this pneumonia") to get the fitting calculators and their parameters.
        runtime: The session's tool runtime (supplied by the agent, not by the model).
        reported: Values the clinician reported, by parameter name, e.g. {"confusion": false};
            a cut-off such as heart_rate_gt_100 may be given as its number ("heart_rate": 96).
            They are marked as reported, not recorded.

    Returns:
        The score, its interpretation and source, each value used with its citation, and any
        missing or out-of-date value by name.
    """
    ctx = runtime.context
    if not calculator.strip():
        raise ToolError('Name a score ("CURB-65") or ask a question ("pneumonia severity").')
    try:
        calc = find(calculator)
    except CalculatorNotFound:
        return _choices(calculator)
    try:
        record = _record(ctx, calc)
        filled = fill(calc, record, reported)
        outcome = compute(filled)
    except ScoreInputError as exc:
        raise ToolError(f"{exc}. Parameters: {_parameters(calc)}") from None
    as_of = (record.as_of if record else datetime.now().astimezone()).isoformat(timespec="minutes")
    return _render(ctx, outcome, as_of, _as_of_note(ctx, record))


def _as_of_note(ctx: ToolContext, record: Record | None) -> str:
    """What 'as of' means here: given, the record's newest entry (and how old it is), or now."""
    if record is None:
        return "now"
    if ctx.extras.get("as_of"):
        return "as given"
    days = (datetime.now(record.as_of.tzinfo) - record.as_of).total_seconds() / 86400
    if days <= 1:
        return "the newest entry in the record"
    return (
        f"the newest entry in the record, {days:.0f} days ago: the score describes the patient "
        "then, not now"
    )


calculate.metadata = requires()

SCORE_TOOLS: list[BaseTool] = [calculate]

__all__ = ["SCORE_TOOLS", "calculate"]
