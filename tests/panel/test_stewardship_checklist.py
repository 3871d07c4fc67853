"""Stewardship vetoes low-value expensive tests; the checklist flags anchoring and gaps."""

from __future__ import annotations

from pathlib import Path

from agent.panel import apply, checklist, chooser, hypothesis_keeper, session_costs, stewardship
from tests.panel.cases import context, dx, turn_state


def _chosen(tmp_path: Path, state: dict, **settings: object) -> tuple[dict, object]:
    ctx = context(tmp_path, **settings)
    for role in (hypothesis_keeper, chooser):
        state = apply(state, role(state, ctx))
    return state, ctx


def test_an_expensive_low_value_test_is_vetoed_and_the_next_best_goes_ahead(
    tmp_path: Path,
) -> None:
    # NSTEMI at 0.95: a PET-CT aimed at the 0.04 alternative is worth little; as the
    # challenger could, put it in front of the chooser's pick (the chooser would commit at
    # 0.95 by default: here it is made to weigh the tests).
    state, ctx = _chosen(
        tmp_path,
        turn_state(
            1,
            dx("NSTEMI", "I21.4", 0.95, (("troponin", "test"),), against=1),
            dx("Sarcoidosis", "D86.9", 0.04, (("PET CT", "imaging"),)),
        ),
        panel_commit=1.0,
    )
    pet = next(c for c in state["panel"]["chooser"]["ranked"] if c["code"] == "78815")
    assert 0 < pet["bits"] < 0.1
    state["next_action"] = pet
    state = apply(state, stewardship(state, ctx))
    out = state["panel"]["stewardship"]
    assert out["vetoed"][0]["action"] == "PET CT"
    assert "$1,200.00" in out["vetoed"][0]["reason"] and "low value" in out["vetoed"][0]["reason"]
    assert state["next_action"]["code"] == "84484"
    assert state["actions"] == [{**state["next_action"], "turn": 1}]


def test_a_test_past_the_budget_is_vetoed(tmp_path: Path) -> None:
    state, ctx = _chosen(
        tmp_path,
        turn_state(
            2,
            dx("NSTEMI", "I21.4", 0.5, (("troponin", "test"),)),
            dx("Pulmonary embolism", "I26.99", 0.4, (("CTPA", "imaging"),)),
        ),
        panel_budget_usd=360.0,
    )
    state["actions"] = [
        {"action": "CTPA", "kind": "imaging", "code": "71275", "price_usd": 350.0, "turn": 1}
    ]
    state = apply(state, stewardship(state, ctx))
    assert state["panel"]["stewardship"]["vetoed"][0]["action"] == "troponin"
    assert "past the budget of $360.00" in state["panel"]["stewardship"]["vetoed"][0]["reason"]
    assert state["next_action"] is None and state["actions"][-1]["turn"] == 1
    costs = session_costs(state)
    assert costs["spent_usd"] == 350.0 and costs["proposed"] is None


def test_costs_total_the_sessions_tests_and_the_proposed_one() -> None:
    state = {
        "turn": 3,
        "actions": [
            {"action": "troponin", "kind": "test", "price_usd": 12.0, "turn": 1},
            {"action": "Ask the clinician: onset", "kind": "question", "price_usd": 0.0, "turn": 1},
            {"action": "echo", "kind": "imaging", "price_usd": None, "turn": 2},
            {"action": "CTPA", "kind": "imaging", "price_usd": 350.0, "turn": 3},
        ],
        "next_action": {"action": "CTPA", "kind": "imaging", "price_usd": 350.0},
    }
    costs = session_costs(state)
    assert costs["spent_usd"] == 12.0 and costs["unpriced"] == 1
    assert costs["marginal_usd"] == 350.0 and costs["with_proposed_usd"] == 362.0
    assert "not for billing" in costs["notice"]


def _anchoring_state(tmp_path: Path, against: tuple[int, int, int]) -> dict:
    ctx = context(tmp_path)
    state: dict = {}
    for turn, (p, n) in enumerate(zip((0.6, 0.62, 0.65), against, strict=True), start=1):
        new = turn_state(
            turn, dx("NSTEMI", "I21.4", p, against=n), dx("Pericarditis", "I30.9", 0.2)
        )
        state = {**state, **new}
        for role in (hypothesis_keeper, checklist):
            state = apply(state, role(state, ctx))
    return state


def test_the_checklist_flags_a_leader_held_while_evidence_against_it_grew(tmp_path: Path) -> None:
    issues = _anchoring_state(tmp_path, (0, 1, 2))["panel"]["checklist"]["issues"]
    assert [i["check"] for i in issues] == ["anchoring"]
    assert "from 0 to 2" in issues[0]["text"] and issues[0]["where"] == "NSTEMI"


def test_the_checklist_passes_when_evidence_against_did_not_grow(tmp_path: Path) -> None:
    out = _anchoring_state(tmp_path, (1, 1, 1))["panel"]["checklist"]
    assert out["passed"] and out["issues"] == []


def test_the_checklist_flags_certainty_without_counter_evidence_uncited_claims_and_bad_codes(
    tmp_path: Path,
) -> None:
    ctx = context(tmp_path)
    state = turn_state(
        1,
        dx("NSTEMI", "I21.4", 0.93, (("troponin", "test"),)),
        dx("Pericarditis", "I30.99", 0.03, cited=False),
        dx("Chest pain", "R07", 0.02, against=1),
    )
    state["answer"]["unknown_citations"] = ["E9"]
    state["answer"]["differential"]["diagnoses"][0]["supporting"][0]["check"] = {
        "status": "mismatch",
        "reason": "E1 says troponin normal",
    }
    for role in (hypothesis_keeper, checklist):
        state = apply(state, role(state, ctx))
    issues = {(i["check"], i["where"]) for i in state["panel"]["checklist"]["issues"]}
    assert ("anchoring", "NSTEMI") in issues
    assert ("uncited", "Pericarditis, supporting") in issues
    assert ("mismatch", "NSTEMI, supporting") in issues
    assert ("unknown citation", "answer") in issues
    assert ("invalid code", "Pericarditis") in issues
    assert ("category code", "Chest pain") in issues
    assert not state["panel"]["checklist"]["passed"]
    assert state["audit"][-1]["tool"] == "panel:checklist"
