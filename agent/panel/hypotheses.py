"""The hypothesis keeper: a ranked differential kept across turns, updated, not rewritten.

Each turn's verified differential is merged into the kept one. A diagnosis is the same
hypothesis as a kept one when its ICD-10-CM code matches, else its name; its probability
and history are updated. A kept hypothesis the turn left out is not deleted: it falls to
``panel_drop_floor`` with a note, and returns if a later turn names it again.
Probabilities are renormalised so that they sum to at most 1 (the rest: "other").
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any, Literal, TypedDict

from agent.panel.context import PanelContext, differential_of, leader, update
from knowledge.icd10 import normalise_code


class Step(TypedDict):
    """One change of a hypothesis' probability."""

    turn: int
    probability: float
    reason: str
    against: int
    """Findings against it in that turn's differential (for the anchoring check)."""


class Hypothesis(TypedDict):
    """One diagnosis of the kept differential."""

    name: str
    icd10: str | None
    probability: float
    first_turn: int
    status: Literal["active", "dropped"]
    note: str
    history: list[Step]


_SPACE = re.compile(r"[^a-z0-9]+")


def name_key(name: str) -> str:
    return _SPACE.sub(" ", name.lower()).strip()


def _code_key(code: str | None) -> str | None:
    return normalise_code(code) if code and code.strip() else None


def find(kept: list[Hypothesis], dx: Mapping[str, Any]) -> Hypothesis | None:
    code = _code_key(dx.get("icd10"))
    if code is not None:
        for h in kept:
            if _code_key(h["icd10"]) == code:
                return h
    name = name_key(str(dx.get("name", "")))
    return next((h for h in kept if name_key(h["name"]) == name), None)


def _copy(h: Hypothesis) -> Hypothesis:
    copy: Hypothesis = {**h}
    copy["history"] = [Step(**s) for s in h["history"]]
    return copy


def _step(turn: int, probability: float, reason: str, against: int) -> Step:
    return {
        "turn": turn,
        "probability": round(probability, 4),
        "reason": reason,
        "against": against,
    }


def merge(
    kept: list[Hypothesis], differential: Mapping[str, Any], turn: int, drop_floor: float = 0.02
) -> list[Hypothesis]:
    """The kept differential after this turn's ``differential`` (a new list; inputs untouched)."""
    merged: list[Hypothesis] = [_copy(h) for h in kept]
    seen: set[int] = set()
    for dx in differential.get("diagnoses") or []:
        p = min(1.0, max(0.0, float(dx.get("likelihood") or 0.0)))
        against = len(dx.get("against") or [])
        found = find(merged, dx)
        if found is None or id(found) in seen:
            found = {
                "name": str(dx.get("name", "")).strip(),
                "icd10": _code_key(dx.get("icd10")),
                "probability": p,
                "first_turn": turn,
                "status": "active",
                "note": "",
                "history": [_step(turn, p, "first proposed", against)],
            }
            merged.append(found)
        else:
            reason = (
                "returned to the differential"
                if found["status"] == "dropped"
                else (f"turn {turn} differential ({found['probability']:.2f} -> {p:.2f})")
            )
            found["probability"], found["status"], found["note"] = p, "active", ""
            found["icd10"] = found["icd10"] or _code_key(dx.get("icd10"))
            found["history"].append(_step(turn, p, reason, against))
        seen.add(id(found))
    for h in merged:
        if id(h) not in seen and h["status"] == "active":
            low = min(h["probability"], drop_floor)
            h["probability"], h["status"] = low, "dropped"
            h["note"] = f"dropped at turn {turn}; kept low"
            h["history"].append(_step(turn, low, "left out of this turn's differential", 0))
    return _normalised(merged, turn)


def _normalised(hypotheses: list[Hypothesis], turn: int) -> list[Hypothesis]:
    total = sum(h["probability"] for h in hypotheses)
    if total > 1.0:
        why = f" (renormalised from a sum of {total:.2f})"
        for h in hypotheses:
            h["probability"] = round(h["probability"] / total, 4)
            last = h["history"][-1]
            if last["turn"] == turn:
                last["probability"] = h["probability"]
                last["reason"] += why
            else:
                h["history"].append(_step(turn, h["probability"], why.strip(" ()"), 0))
    return sorted(hypotheses, key=lambda h: (h["status"] != "active", -h["probability"]))


def hypothesis_keeper(state: Mapping[str, Any], ctx: PanelContext) -> dict[str, Any]:
    """Role: merge this turn's verified differential into the kept ``hypotheses``."""
    started = time.perf_counter()
    turn = int(state.get("turn", 0))
    kept = list(state.get("hypotheses") or [])
    differential = differential_of(state)
    if not differential.get("diagnoses"):
        note = {"note": "no verified differential this turn; the kept one is unchanged"}
        return update("keeper", state, started, note, hypotheses=kept)
    merged = merge(kept, differential, turn, ctx.settings.panel_drop_floor)
    top = leader(list(map(dict, merged)))
    output: dict[str, Any] = {
        "leader": top["name"] if top else None,
        "ranked": [
            {
                "name": h["name"],
                "icd10": h["icd10"],
                "probability": h["probability"],
                "status": h["status"],
            }
            for h in merged
        ],
    }
    return update("keeper", state, started, output, hypotheses=merged)
