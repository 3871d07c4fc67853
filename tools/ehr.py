"""EHR tools: the session patient's problems, medications, allergies, labs, vitals and notes.

Every tool reads ``ctx.patient_id`` and nothing else: no argument names a patient,
so the model cannot reach another record. Each resource shown is cited as an
``E#`` evidence id (resource type, id and date in the citation). Direct
identifiers (name, record number, address, phone, exact birth date) are never
shown unless the deployment sets ``ctx.extras["ehr_show_identifiers"]``.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any, Literal

from langchain_core.tools import BaseTool, tool
from langgraph.prebuilt import ToolRuntime

from knowledge.ehr import loinc
from knowledge.ehr.parse import codings, date_of
from knowledge.ehr.records import age_on, describe_series, note_text, note_title
from tools.ehr_lines import (
    Line,
    allergy_line,
    by_reference,
    condition_line,
    conditions,
    day,
    guard,
    joined,
    lab_codes,
    measurement_part,
    medication_line,
    medications,
    nothing,
    parse_since,
    patient_id,
    render,
    search,
    series,
    series_lines,
    text_line,
    value_text,
)
from tools.runtime import ToolArtifact, ToolContext, ToolError, requires

_BP_PARTS = {"8480-6", "8462-4"}
_WORD = re.compile(r"[a-z0-9]{2,}")


# --- the synopsis ---------------------------------------------------------------------------------


def _demographics(ctx: ToolContext, patient: dict[str, Any]) -> str:
    age = age_on(patient.get("birthDate"), date.today())
    sex = str(patient.get("gender") or "sex not recorded")
    text = f"{age}-year-old {sex}" if age is not None else f"Age not recorded, {sex}"
    if patient.get("deceasedBoolean") or patient.get("deceasedDateTime"):
        text += " (deceased)"
    if ctx.extras.get("ehr_show_identifiers"):
        first = (patient.get("name") or [{}])[0]
        name = " ".join([*first.get("given", []), first.get("family", "")]).strip()
        mrn = ", ".join(str(i.get("value")) for i in patient.get("identifier") or [])
        text += f"; name {name or '?'}; record number {mrn or '?'}; born {patient.get('birthDate')}"
    return text + "."


def _latest_vitals(ctx: ToolContext) -> Line:
    codes = [c for c in loinc.VITAL_CODES if c not in {*_BP_PARTS, "8302-2", "39156-5"}]
    found = search(ctx, "Observation", codes=codes, count=60)
    latest = {code: values[-1] for code, values in series(found, codes).items()}
    if not latest:
        return text_line("Last vitals: none recorded.")
    when = max(m.date or "" for m in latest.values())
    line = Line().add(f"Last vitals ({day(when)}):")
    resources = by_reference(found)
    for number, (code, m) in enumerate(latest.items()):
        stamp = "" if m.date == when else f" on {day(m.date)}"
        short = loinc.SHORT_VITAL_NAMES.get(code, m.display)
        text = ("," if number else "") + f" {short} {value_text(m)}{stamp}"
        measurement_part(line, text, m, resources[m.ref])
    return line


def _abnormal_labs(ctx: ToolContext) -> Line:
    """Latest value of each lab abnormal within 7 days of the newest result (at most 6)."""
    vital = set(loinc.VITAL_CODES)
    found = [
        r
        for r in search(ctx, "Observation", count=300)
        if not vital & {c for _, c in codings(r.get("code"))}
    ]
    labs = series(found, [])
    newest = max((m.date or "" for values in labs.values() for m in values), default="")
    if not newest:
        return text_line("Recent abnormal results: none.")
    cutoff = (date.fromisoformat(newest[:10]) - timedelta(days=7)).isoformat()
    recent = [v[-1] for v in labs.values() if v[-1].abnormal and (v[-1].date or "") >= cutoff]
    recent.sort(key=lambda m: m.date or "", reverse=True)
    line = Line().add("Recent abnormal results: " + ("" if recent else "none."))
    resources = by_reference(found)
    for number, m in enumerate(recent[:6]):
        moved = describe_series(labs[m.code]).brief
        detail = f"{day(m.date)}, {moved}" if moved and moved != "single value" else day(m.date)
        text = ("; " if number else "") + f"{m.display} {value_text(m)} ({detail})"
        measurement_part(line, text, m, resources[m.ref])
    return line


@tool(parse_docstring=True, response_format="content_and_artifact")
def patient_summary(runtime: ToolRuntime[ToolContext, Any]) -> tuple[str, ToolArtifact]:
    """Summarise the patient: age, sex, active problems, medications, allergies, vitals, labs.

    Args:
        runtime: The session's tool runtime (supplied by the agent, not by the model).

    Returns:
        A short synopsis: demographics without identifiers, active problems, active
        medications, allergies, the last vital signs and recent abnormal results.
    """
    ctx = runtime.context
    pid = patient_id(ctx)  # refuses without an EHR or a patient
    ehr = ctx.ehr
    patient = guard(lambda: ehr.patient(pid)) if ehr is not None else None
    if patient is None:
        raise ToolError("The session's patient is not in the EHR.")
    problems = [condition_line(r, brief=True) for r in conditions(ctx, "active")]
    drugs = [medication_line(ctx, r, brief=True) for r in medications(ctx, "active")]
    allergies = [allergy_line(r, brief=True) for r in search(ctx, "AllergyIntolerance")]
    lines = [
        text_line(_demographics(ctx, patient)),
        joined("Active problems", problems, "none recorded."),
        joined("Active medications", drugs, "none recorded."),
        joined("Allergies", allergies, "not recorded."),
        _latest_vitals(ctx),
        _abnormal_labs(ctx),
    ]
    return render(ctx, lines)


# --- labs and vitals --------------------------------------------------------------------------


@tool(parse_docstring=True, response_format="content_and_artifact")
def get_labs(
    name_or_loinc: str,
    runtime: ToolRuntime[ToolContext, Any],
    since: str | None = None,
) -> tuple[str, ToolArtifact]:
    """Get the patient's results for one lab test, with units, reference range, flags and trend.

    Args:
        runtime: The session's tool runtime (supplied by the agent, not by the model).
        name_or_loinc: The test, by common name or synonym ("troponin", "hs-TnT", "creatinine",
            "BNP", "CRP", "lactate", "HbA1c") or by LOINC code ("67151-1").
        since: Only results on or after this date, YYYY-MM-DD (default: all).
    """
    ctx = runtime.context
    codes = lab_codes(ctx, name_or_loinc)
    found = search(ctx, "Observation", codes=codes, since=parse_since(since), count=200)
    values = series(found, codes)
    if not values:
        window = f" since {since}" if since else ""
        return nothing(
            f"No {name_or_loinc} results in the record{window} (LOINC {', '.join(codes)}).", ctx
        )
    return render(ctx, series_lines(by_reference(found), values))


@tool(parse_docstring=True, response_format="content_and_artifact")
def get_vitals(
    runtime: ToolRuntime[ToolContext, Any], since: str | None = None
) -> tuple[str, ToolArtifact]:
    """Get the patient's vital signs over time (HR, BP, RR, temperature, SpO2, weight) with trends.

    Args:
        runtime: The session's tool runtime (supplied by the agent, not by the model).
        since: Only measurements on or after this date, YYYY-MM-DD (default: all).
    """
    ctx = runtime.context
    codes = [c for c in loinc.VITAL_CODES if c not in _BP_PARTS]
    found = search(ctx, "Observation", codes=codes, since=parse_since(since), count=300)
    values = series(found, codes)
    if not values:
        return nothing("No vital signs in the record" + (f" since {since}." if since else "."), ctx)
    return render(ctx, series_lines(by_reference(found), values))


# --- problems, medications, allergies -----------------------------------------------------------


@tool(parse_docstring=True, response_format="content_and_artifact")
def list_conditions(
    runtime: ToolRuntime[ToolContext, Any],
    status: Literal["active", "resolved", "all"] = "active",
) -> tuple[str, ToolArtifact]:
    """List the patient's problems and diagnoses with their codes, onset and status.

    Args:
        runtime: The session's tool runtime (supplied by the agent, not by the model).
        status: "active" (default), "resolved" or "all".
    """
    ctx = runtime.context
    found = conditions(ctx, status)
    if not found:
        return nothing(f"No {status} conditions in the record.", ctx)
    return render(ctx, [text_line(f"Conditions ({status}):"), *map(condition_line, found)])


@tool(parse_docstring=True, response_format="content_and_artifact")
def list_medications(
    runtime: ToolRuntime[ToolContext, Any],
    status: Literal["active", "stopped", "completed", "all"] = "active",
) -> tuple[str, ToolArtifact]:
    """List the patient's medication orders with dose, start date and status.

    Args:
        runtime: The session's tool runtime (supplied by the agent, not by the model).
        status: "active" (default), "stopped", "completed" or "all".
    """
    ctx = runtime.context
    found = medications(ctx, status)
    if not found:
        return nothing(f"No {status} medications in the record.", ctx)
    lines = [medication_line(ctx, r) for r in found]
    return render(ctx, [text_line(f"Medications ({status}):"), *lines])


@tool(parse_docstring=True, response_format="content_and_artifact")
def list_allergies(runtime: ToolRuntime[ToolContext, Any]) -> tuple[str, ToolArtifact]:
    """List the patient's allergies and intolerances with reactions and criticality.

    Args:
        runtime: The session's tool runtime (supplied by the agent, not by the model).
    """
    ctx = runtime.context
    found = search(ctx, "AllergyIntolerance")
    if not found:
        return nothing("No allergy information recorded (not the same as no known allergies).", ctx)
    return render(ctx, [text_line("Allergies and intolerances:"), *map(allergy_line, found)])


# --- notes ----------------------------------------------------------------------------------------


def _snippet(text: str, terms: set[str], width: int) -> str:
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    lower = flat.lower()
    hits = [lower.find(t) for t in terms if t in lower]
    start = max(0, min(hits) - width // 4) if hits else 0
    return ("..." if start else "") + flat[start : start + width] + "..."


@tool(parse_docstring=True, response_format="content_and_artifact")
def search_notes(query: str, runtime: ToolRuntime[ToolContext, Any]) -> tuple[str, ToolArtifact]:
    """Search the patient's clinical notes and reports (ED notes, ECGs, imaging reports) by words.

    Args:
        runtime: The session's tool runtime (supplied by the agent, not by the model).
        query: Words to look for, e.g. "ECG ST depression" or "chest radiograph"; empty for the
            most recent notes.
    """
    ctx = runtime.context
    notes = search(ctx, "DocumentReference", count=200)
    terms = set(_WORD.findall(query.lower()))
    scored = []
    for resource in notes:
        body = f"{note_title(resource)} {note_text(resource)}".lower()
        score = sum(body.count(t) for t in terms) if terms else 1
        if score:
            scored.append((score, date_of(resource) or "", resource))
    scored.sort(key=lambda s: (s[0], s[1]), reverse=True)
    if not scored:
        titles = "; ".join(f"{note_title(r)} ({day(date_of(r))})" for r in notes[:10])
        return nothing(f"No note mentions {query!r}. Notes in the record: {titles or 'none'}.", ctx)
    shown = scored[:3]
    width = max(300, min(1200, ctx.max_output_chars // len(shown) - 120))
    lines = []
    for _score, when, resource in shown:
        title = note_title(resource)
        lines.append(Line().add(f"{title} ({day(when)}):", resource, title, title=title))
        lines.append(text_line(_snippet(note_text(resource), terms, width)))
    return render(ctx, lines)


EHR_TOOLS: list[BaseTool] = [
    patient_summary,
    get_labs,
    get_vitals,
    list_conditions,
    list_medications,
    list_allergies,
    search_notes,
]
for _tool in EHR_TOOLS:
    _tool.metadata = requires("ehr", "patient")
