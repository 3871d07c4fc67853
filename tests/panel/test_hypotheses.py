"""The kept differential: updated across turns, matched by code then name, never rewritten."""

from __future__ import annotations

from pathlib import Path

from agent.panel import apply, hypothesis_keeper, merge
from tests.panel.cases import context, dx, turn_state


def _three_turns(tmp_path: Path) -> dict:
    ctx = context(tmp_path)
    state: dict = {}
    turns = [
        turn_state(1, dx("NSTEMI", "I21.4", 0.5), dx("Pulmonary embolism", "I26.99", 0.3)),
        turn_state(
            2,
            dx("NSTEMI", "I21.4", 0.6),
            dx("pulmonary  EMBOLISM", None, 0.2),  # same hypothesis by name
            dx("Aortic dissection", "I71.00", 0.1),
        ),
        turn_state(
            3,
            dx("Non-ST elevation myocardial infarction", "I21.4", 0.7),  # same by code
            dx("Aortic dissection", "I71.00", 0.2),
        ),
    ]
    for new in turns:
        state = apply({**state, **new}, hypothesis_keeper({**state, **new}, ctx))
    return state


def test_probabilities_persist_and_update_across_three_turns(tmp_path: Path) -> None:
    state = _three_turns(tmp_path)
    kept = {h["name"]: h for h in state["hypotheses"]}
    assert set(kept) == {"NSTEMI", "Pulmonary embolism", "Aortic dissection"}
    mi = kept["NSTEMI"]
    assert mi["first_turn"] == 1 and mi["probability"] == 0.7 and mi["status"] == "active"
    assert [(s["turn"], s["probability"]) for s in mi["history"]] == [(1, 0.5), (2, 0.6), (3, 0.7)]
    assert "0.60 -> 0.70" in mi["history"][-1]["reason"]
    assert kept["Aortic dissection"]["first_turn"] == 2
    assert state["hypotheses"][0]["name"] == "NSTEMI"
    assert [a["tool"] for a in state["audit"]] == ["panel:keeper"] * 3


def test_a_dropped_hypothesis_is_kept_low_with_a_note(tmp_path: Path) -> None:
    state = _three_turns(tmp_path)
    pe = next(h for h in state["hypotheses"] if h["name"] == "Pulmonary embolism")
    assert pe["status"] == "dropped" and pe["probability"] == 0.02
    assert "dropped at turn 3" in pe["note"]
    assert [s["turn"] for s in pe["history"]] == [1, 2, 3]
    assert state["hypotheses"][-1] is pe  # ranked after every active hypothesis


def test_a_dropped_hypothesis_comes_back_with_its_history() -> None:
    one = merge([], {"diagnoses": [dx("A", None, 0.6), dx("B", None, 0.3)]}, 1)
    two = merge(one, {"diagnoses": [dx("A", None, 0.7)]}, 2)
    three = merge(two, {"diagnoses": [dx("A", None, 0.5), dx("b", None, 0.4)]}, 3)
    b = next(h for h in three if h["name"] == "B")
    assert b["status"] == "active" and b["probability"] == 0.4 and b["first_turn"] == 1
    assert b["history"][-1]["reason"] == "returned to the differential"
    assert one[1]["probability"] == 0.3  # earlier lists are not mutated


def test_probabilities_are_renormalised_to_sum_at_most_one() -> None:
    kept = merge([], {"diagnoses": [dx("A", None, 0.5), dx("B", None, 0.4)]}, 1)
    kept = merge(kept, {"diagnoses": [dx("A", None, 0.9), dx("C", None, 0.5)]}, 2)
    assert sum(h["probability"] for h in kept) <= 1.0 + 1e-9
    a = next(h for h in kept if h["name"] == "A")
    assert a["probability"] < 0.9 and "renormalised" in a["history"][-1]["reason"]


def test_a_turn_without_a_verified_differential_leaves_the_kept_one(tmp_path: Path) -> None:
    state = _three_turns(tmp_path)
    before = [dict(h) for h in state["hypotheses"]]
    change = hypothesis_keeper(
        {**state, "turn": 4, "answer": {"differential": None}}, context(tmp_path)
    )
    assert change["hypotheses"] == before
    assert "unchanged" in change["panel"]["keeper"]["note"]
