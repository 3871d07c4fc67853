"""The ``panel`` section of a report, in Markdown: differential, next action, each role, cost."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.panel.costs import costs_line, money, session_costs


def _cell(text: Any) -> str:
    """Text for one line or table cell, inert in Markdown: no table break, no link."""
    words = " ".join(str(text if text is not None else "").split())
    return words.replace("|", "\\|").replace("[", "\\[").replace("]", "\\]")


def _trend(h: Mapping[str, Any]) -> str:
    steps = h.get("history") or []
    if len(steps) < 2:
        return f"new at turn {h.get('first_turn')}"
    return f"{steps[-2]['probability']:.2f} -> {steps[-1]['probability']:.2f}"


def _differential(hypotheses: list[Mapping[str, Any]]) -> list[str]:
    lines = ["| Hypothesis | ICD-10-CM | Probability | Change | Note |", "|---|---|---|---|---|"]
    for h in hypotheses:
        lines.append(
            f"| {_cell(h['name'])} | {_cell(h.get('icd10') or '')} | {h['probability']:.2f} "
            f"| {_trend(h)} | {_cell(h.get('note') or '')} |"
        )
    return lines


def _action(action: Mapping[str, Any] | None, chooser: Mapping[str, Any]) -> list[str]:
    if not action:
        return ["**Next action:** none (" + _cell(chooser.get("note", "nothing proposed")) + ")"]
    by = action.get("chosen_by", "chooser")
    return [
        f"**Next action ({_cell(action['kind'])}, chosen by the {by}):** {_cell(action['action'])}",
        f"- cost: {money(action.get('price_usd'))}; source: {_cell(action.get('price_source'))}",
        f"- expected information: {action.get('bits', 0):.2f} bits; separates: "
        f"{_cell(', '.join(map(str, action.get('targets') or [])) or 'nothing')}",
    ]


def _roles(panel: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    challenge = panel.get("challenger") or {}
    if challenge.get("challenge"):
        c = challenge["challenge"]
        lines += [
            f"- **Challenger:** {_cell(c['alternative'])}: {_cell(c['argument'])}",
            f"  falsifying test: {_cell(c['falsifying_test'])}; {_cell(challenge.get('decision'))}",
        ]
    elif challenge:
        said = ": ".join(str(challenge[k]) for k in ("note", "error") if challenge.get(k))
        lines.append(f"- **Challenger:** {_cell(said)}")
    steward = panel.get("stewardship") or {}
    for veto in steward.get("vetoed") or []:
        lines.append(f"- **Stewardship veto:** {_cell(veto['action'])}: {_cell(veto['reason'])}")
    check = panel.get("checklist") or {}
    if check:
        if check.get("passed"):
            lines.append("- **Checklist:** passed (claims cited, codes valid, no anchoring)")
        for issue in check.get("issues") or []:
            lines.append(
                f"- **Checklist, {_cell(issue['check'])}:** {_cell(issue['where'])}: "
                f"{_cell(issue['text'])}"
            )
    return lines


def panel_markdown(state: Mapping[str, Any]) -> str:
    """The panel section: kept differential, next action, challenger, vetoes, checklist, cost."""
    panel = state.get("panel") or {}
    hypotheses = list(state.get("hypotheses") or [])
    if not panel and not hypotheses:
        return ""
    costs = state.get("costs") or session_costs(state)  # an answer record carries its costs
    lines = [f"## Panel (turn {panel.get('turn', state.get('turn', 0))})", ""]
    lines += [*_differential(hypotheses), ""] if hypotheses else []
    lines += [*_action(state.get("next_action"), panel.get("chooser") or {}), ""]
    roles = _roles(panel)
    lines += [*roles, ""] if roles else []
    lines += [costs_line(costs), "", f"_{costs['notice']}_"]
    return "\n".join(lines) + "\n"
