"""Three scripted turns through the whole panel: state kept, audit complete, cost totalled."""

from __future__ import annotations

import json
from pathlib import Path

from agent.panel import ROLES, costs_line, panel_markdown, run_round, session_costs
from testing.fakes import ScriptedChatModel
from tests.panel.cases import context, dx, turn_state


def _challenge(test: str, alternative: str = "Pulmonary embolism") -> str:
    return json.dumps(
        {
            "alternative": alternative,
            "argument": "fits too",
            "falsifying_test": test,
            "kind": "test",
        }
    )


def test_three_turns_keep_the_differential_audit_every_role_and_total_the_cost(
    tmp_path: Path,
) -> None:
    model = ScriptedChatModel(
        script=[_challenge("D-dimer"), _challenge("CT pulmonary angiogram"), "not json at all"]
    )
    ctx = context(tmp_path, model)
    turns = [
        turn_state(
            1,
            dx("NSTEMI", "I21.4", 0.45, (("troponin", "test"),)),
            dx("Pulmonary embolism", "I26.99", 0.35, (("D-dimer", "test"),)),
        ),
        turn_state(
            2,
            dx("NSTEMI", "I21.4", 0.3, (("troponin", "test"),), against=1),
            dx("Pulmonary embolism", "I26.99", 0.55, (("CTPA", "imaging"),)),
        ),
        turn_state(
            3,
            dx("Pulmonary embolism", "I26.99", 0.85, (("CTPA", "imaging"),)),
            dx("NSTEMI", "I21.4", 0.05, against=2),
        ),
    ]
    state: dict = {}
    for new in turns:
        state = run_round({**state, **new}, ctx)
        assert [a["tool"] for a in state["audit"][-5:]] == [f"panel:{r}" for r in ROLES]

    pe = next(h for h in state["hypotheses"] if h["name"] == "Pulmonary embolism")
    assert [s["probability"] for s in pe["history"]] == [0.35, 0.55, 0.85]
    # turn 1: NSTEMI is weak (0.45), the challenger's D-dimer displaces troponin; turn 2:
    # PE leads at 0.55 (not weak), the chooser's troponin stands; turn 3: CTPA.
    assert [(a["turn"], a["code"]) for a in state["actions"]] == [
        (1, "85379"),
        (2, "84484"),
        (3, "71275"),
    ]
    costs = session_costs(state)
    assert costs["spent_usd"] == 26.0 and costs["with_proposed_usd"] == 376.0
    assert "not json" not in str(state["panel"]) and "no JSON object" in str(state["panel"])
    text = panel_markdown(state)
    assert "| Pulmonary embolism | I26.99 | 0.85 | 0.55 -> 0.85 |" in text
    assert "**Next action (imaging, chosen by the chooser):** CTPA" in text
    assert "**Challenger:** challenge not used: the reply holds no JSON object" in text
    assert "Tests so far: $26.00; proposed next: CTPA ($350.00)." in text
    assert costs_line(costs) in text and "not for billing" in text
    assert len(model.prompts) == 3


def test_every_role_survives_a_turn_without_a_differential(tmp_path: Path) -> None:
    ctx = context(tmp_path, ScriptedChatModel(script=[]))
    state = run_round({"turn": 1, "answer": None}, ctx)
    assert [a["tool"] for a in state["audit"]] == [f"panel:{r}" for r in ROLES]
    assert state["hypotheses"] == [] and state["next_action"] is None
    assert state["panel"]["checklist"]["passed"]
    assert "no leading hypothesis" in state["panel"]["challenger"]["note"]


def test_the_markdown_keeps_its_table_whatever_the_names() -> None:
    assert panel_markdown({"turn": 1}) == ""
    hypothesis = {
        "name": "A | B\nC",
        "icd10": None,
        "probability": 0.5,
        "first_turn": 1,
        "status": "active",
        "note": "",
        "history": [{"turn": 1, "probability": 0.5, "reason": "first proposed", "against": 0}],
    }
    text = panel_markdown({"turn": 1, "hypotheses": [hypothesis], "panel": {"turn": 1}})
    assert "| A \\| B C |  | 0.50 | new at turn 1 |  |" in text
    assert "**Next action:** none" in text and "Tests so far: $0.00." in text
