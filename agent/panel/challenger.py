"""The challenger: one model call arguing for the strongest alternative to the leader.

Its prompt is ``prompts/panel_challenger.md``; its reply is one JSON object naming the
alternative, the argument, and the test that would falsify the leader. A reply that is
not usable JSON becomes a note in the panel's output, never a crash. When the leader is
weak (probability below ``panel_weak_leader``) the falsifying test displaces the
chooser's pick; when it is strong the pick stands and the challenge is only recorded.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from typing import Any

from langchain_core.messages import HumanMessage

import prompts
from agent.panel.chooser import action_key, candidates, score
from agent.panel.context import PanelContext, differential_of, leader, update
from agent.panel.hypotheses import find
from knowledge.untrusted import untrusted

_FENCED = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.DOTALL)
_KINDS = {"test": "test", "imaging": "imaging", "question": "test", "ehr": "test"}


class ChallengeUnusable(ValueError):
    """The challenger's reply holds no usable challenge."""


def parse_challenge(text: str) -> dict[str, Any]:
    """The challenge in a reply: a fenced or bare JSON object with ``falsifying_test``."""
    match = _FENCED.search(text)
    if match:
        raw = match.group(1)
    else:
        start, end = text.find("{"), text.rfind("}")
        if start < 0 or end <= start:
            raise ChallengeUnusable("the reply holds no JSON object")
        raw = text[start : end + 1]
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ChallengeUnusable(f"the reply's JSON is invalid ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ChallengeUnusable("the reply's JSON is not an object")
    test = data.get("falsifying_test")
    if not isinstance(test, str) or not test.strip():
        raise ChallengeUnusable("the reply names no falsifying_test")
    kind = str(data.get("kind") or "test").strip().lower()
    return {
        "alternative": str(data.get("alternative") or "").strip()[:200],
        "icd10": (str(data["icd10"]).strip() or None) if data.get("icd10") else None,
        "argument": str(data.get("argument") or "").strip()[:1000],
        "falsifying_test": test.strip()[:200],
        "kind": kind if kind in _KINDS else "test",
    }


def challenge_prompt(state: Mapping[str, Any], top: Mapping[str, Any]) -> str:
    """The challenger's prompt: the kept differential, its findings, the proposed action."""
    hypotheses = [
        {**h, "name": untrusted(h["name"], limit=200), "icd10": untrusted(h["icd10"] or "")}
        for h in state.get("hypotheses") or []
    ]
    findings = []
    for dx in differential_of(state).get("diagnoses") or []:
        for group in ("supporting", "against"):
            for f in dx.get(group) or []:
                ids = ", ".join(f.get("evidence") or []) or "uncited"
                text = untrusted(str(f.get("text", "")), limit=300)
                findings.append(
                    f"{untrusted(str(dx.get('name')), limit=200)}, {group}: {text} [{ids}]"
                )
    proposed = state.get("next_action") or {}
    return prompts.render(
        "panel_challenger",
        leader=untrusted(top["name"], limit=200),
        leader_p=top["probability"],
        hypotheses=hypotheses,
        findings=findings[:40],
        proposed=untrusted(proposed.get("action", "none"), limit=200),
    )


def _as_candidate(
    challenge: Mapping[str, Any],
    top: Mapping[str, Any],
    state: Mapping[str, Any],
    ctx: PanelContext,
) -> dict[str, Any]:
    """The falsifying test as a scored candidate action targeting the leader."""
    step = {"action": challenge["falsifying_test"], "kind": _KINDS[challenge["kind"]]}
    one = {"diagnoses": [{"name": top["name"], "next_steps": [step]}]}
    if challenge["kind"] == "question":
        one = {"diagnoses": [{"name": top["name"]}], "missing": [challenge["falsifying_test"]]}
    found = candidates(one, ctx.prices)
    candidate = (
        found[0]
        if found
        else {
            "kind": "test",
            "action": step["action"],
            "code": None,
            "price_usd": None,
            "price_source": "not in the price table",
        }
    )
    # The test separates the alternative from the leader: it targets the alternative when
    # the panel keeps it, else the leader itself.
    kept = [h for h in state.get("hypotheses") or [] if h["status"] == "active"]
    alternative = find(kept, {"name": challenge["alternative"], "icd10": challenge["icd10"]})
    candidate["targets"] = [(alternative or top)["name"]]
    diagnoses = list(differential_of(state).get("diagnoses") or [])
    scored = score(
        candidate, list(state.get("hypotheses") or []), diagnoses, ctx.settings.panel_unpriced_usd
    )
    return {**scored, "chosen_by": "challenger"}


def challenger(state: Mapping[str, Any], ctx: PanelContext) -> dict[str, Any]:
    """Role: challenge the leader; a weak leader's falsifying test becomes ``next_action``."""
    started = time.perf_counter()
    top = leader(list(state.get("hypotheses") or []))
    model = ctx.model_for("challenger")
    if top is None or model is None:
        why = "no leading hypothesis to challenge" if top is None else "no model for the challenger"
        return update("challenger", state, started, {"note": why})
    try:
        reply = model.invoke([HumanMessage(challenge_prompt(state, top))])
    except Exception as exc:  # any model failure is recorded as the role's error, not hidden
        error = untrusted(f"{type(exc).__name__}: {exc}", limit=300)
        return update("challenger", state, started, {"error": error, "note": "model call failed"})
    try:
        found = parse_challenge(str(reply.text))
    except ChallengeUnusable as exc:
        return update("challenger", state, started, {"note": f"challenge not used: {exc}"})
    weak = top["probability"] < ctx.settings.panel_weak_leader
    pick = state.get("next_action")
    candidate = _as_candidate(found, top, state, ctx)
    done = {action_key(a) for a in state.get("actions") or []}
    output: dict[str, Any] = {
        "challenge": found,
        "leader": top["name"],
        "leader_p": top["probability"],
        "weak_leader": weak,
    }
    if not weak:
        output["decision"] = (
            f"leader strong (p={top['probability']:.2f}): the chooser's pick stands"
        )
        return update("challenger", state, started, output)
    if action_key(candidate) in done or (pick and action_key(pick) == action_key(candidate)):
        output["decision"] = "the falsifying test is already done or already chosen"
        return update("challenger", state, started, output)
    output["decision"] = (
        f"leader weak (p={top['probability']:.2f} < {ctx.settings.panel_weak_leader:.2f}): "
        f"the falsifying test replaces {pick['action'] if pick else 'no pick'}"
    )
    output["displaced"] = pick
    return update("challenger", state, started, output, next_action=candidate)
