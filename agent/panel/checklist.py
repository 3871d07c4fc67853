"""The checklist: every claim cited, codes valid, no anchoring on one hypothesis.

Three checks over this turn's differential and the kept hypotheses:

- every finding (red flags, supporting, against) and next step cites evidence, no claim
  was found to mismatch its evidence, and no cited id is unknown;
- every ICD-10-CM code exists (:func:`knowledge.icd10.check_code`); a category that is
  not billable is named too;
- anchoring: the same leader for ``panel_anchor_turns`` turns or more while the findings
  against it grew, or one hypothesis above 0.9 with no finding against it considered.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from agent.panel.context import PanelContext, differential_of, update
from agent.panel.hypotheses import Hypothesis
from knowledge.icd10 import check_code
from tools.evidence import collect_ids

CERTAIN = 0.9


def _claims(differential: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for finding in differential.get("red_flags") or []:
        yield "red flag", finding
    for dx in differential.get("diagnoses") or []:
        for group in ("supporting", "against", "next_steps"):
            for item in dx.get(group) or []:
                yield f"{dx.get('name')}, {group.replace('_', ' ')}", item


def citation_issues(answer: Mapping[str, Any]) -> list[dict[str, str]]:
    """Claims without evidence, claims whose check found a mismatch, unknown ids."""
    issues = []
    for where, item in _claims(answer.get("differential") or {}):
        text = str(item.get("text") or item.get("action") or "")
        if not item.get("evidence"):
            issues.append({"check": "uncited", "where": where, "text": text})
        check = item.get("check") or {}
        if check.get("status") == "mismatch":
            issues.append(
                {"check": "mismatch", "where": where, "text": f"{text} ({check.get('reason', '')})"}
            )
    for eid in answer.get("unknown_citations") or []:
        issues.append({"check": "unknown citation", "where": "answer", "text": str(eid)})
    return issues


def code_issues(differential: Mapping[str, Any]) -> list[dict[str, str]]:
    issues = []
    for dx in differential.get("diagnoses") or []:
        code = dx.get("icd10")
        if not code:
            continue
        found = check_code(str(code))
        if not found.exists:
            issues.append(
                {
                    "check": "invalid code",
                    "where": str(dx.get("name")),
                    "text": found.suggestion or f"{code} is not an ICD-10-CM code",
                }
            )
        elif not found.billable:
            issues.append(
                {"check": "category code", "where": str(dx.get("name")), "text": found.suggestion}
            )
    return issues


def _leader_at(hypotheses: list[Hypothesis], turn: int) -> tuple[Hypothesis, dict] | None:
    best: tuple[Hypothesis, dict] | None = None
    for h in hypotheses:
        steps = [s for s in h["history"] if s["turn"] == turn]
        if steps and (best is None or steps[-1]["probability"] > best[1]["probability"]):
            best = (h, dict(steps[-1]))
    return best


def anchoring_issues(
    hypotheses: list[Hypothesis], differential: Mapping[str, Any], turn: int, window: int
) -> list[dict[str, str]]:
    """The leader held while evidence against it grew; or near-certainty with nothing against."""
    issues: list[dict[str, str]] = []
    now = _leader_at(hypotheses, turn)
    if now is None:
        return issues
    top, step = now
    leaders = [_leader_at(hypotheses, t) for t in range(turn - window, turn + 1)]
    if all(x is not None and x[0] is top for x in leaders) and turn - window >= 1:
        first = leaders[0][1]  # type: ignore[index]
        if step["against"] > first["against"] and step["probability"] >= first["probability"]:
            issues.append(
                {
                    "check": "anchoring",
                    "where": top["name"],
                    "text": (
                        f"leader unchanged for {window + 1} turns while findings against it grew "
                        f"from {first['against']} to {step['against']} and its probability "
                        "did not fall"
                    ),
                }
            )
    dx: Mapping[str, Any] = next(
        (d for d in differential.get("diagnoses") or [] if d.get("name") == top["name"]), {}
    )
    if step["probability"] > CERTAIN and not dx.get("against"):
        issues.append(
            {
                "check": "anchoring",
                "where": top["name"],
                "text": (
                    f"probability {step['probability']:.2f} with no finding against it considered"
                ),
            }
        )
    return issues


def _pending_answer(state: Mapping[str, Any], differential: dict[str, Any]) -> dict[str, Any]:
    """What the answer will hold before respond builds it: the differential, unknown ids."""
    known = state.get("evidence") or {}
    unknown = [i for i in collect_ids([differential]) if i not in known]
    return {"differential": differential, "unknown_citations": unknown}


def checklist(state: Mapping[str, Any], ctx: PanelContext) -> dict[str, Any]:
    """Role: list what fails the checklist (``passed`` when nothing does)."""
    started = time.perf_counter()
    differential = differential_of(state)
    answer = state.get("answer") or _pending_answer(state, differential)
    issues = [
        *citation_issues(answer),
        *code_issues(differential),
        *anchoring_issues(
            list(state.get("hypotheses") or []),
            differential,
            int(state.get("turn", 0)),
            ctx.settings.panel_anchor_turns,
        ),
    ]
    output = {"passed": not issues, "issues": issues}
    return update("checklist", state, started, output)
