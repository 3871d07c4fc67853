"""The test chooser: information per dollar against the kept differential."""

from __future__ import annotations

from pathlib import Path

from agent.panel import apply, chooser, hypothesis_keeper
from agent.panel.chooser import information_bits
from tests.panel.cases import context, dx, turn_state


def _after_keeper(tmp_path: Path, state: dict) -> tuple[dict, object]:
    ctx = context(tmp_path)
    return apply(state, hypothesis_keeper(state, ctx)), ctx


def test_a_cheap_discriminating_test_beats_an_expensive_one_that_separates_nothing(
    tmp_path: Path,
) -> None:
    # PET-CT is proposed for every hypothesis alike (so its result cannot tell them apart);
    # troponin is proposed for NSTEMI only.
    state, ctx = _after_keeper(
        tmp_path,
        turn_state(
            1,
            dx(
                "NSTEMI",
                "I21.4",
                0.5,
                (("hs-troponin at 0 and 2 h", "test"), ("PET CT", "imaging")),
            ),
            dx("Pulmonary embolism", "I26.99", 0.3, (("PET CT", "imaging"),)),
            dx("Pericarditis", "I30.9", 0.2, (("PET CT", "imaging"),)),
        ),
    )
    change = chooser(state, ctx)
    pick = change["next_action"]
    assert pick["code"] == "84484" and pick["price_usd"] == 12.0
    assert pick["targets"] == ["NSTEMI"] and pick["bits"] > 0.3
    pet = next(c for c in change["panel"]["chooser"]["ranked"] if c["code"] == "78815")
    assert pet["bits"] == 0.0 and pet["price_usd"] == 1200.0
    assert change["audit"][0]["tool"] == "panel:chooser"
    assert "$12.00" in change["panel"]["chooser"]["reason"]


def test_bits_are_zero_for_an_untargeted_test_and_highest_for_an_even_split() -> None:
    prior = [0.5, 0.5, 0.0]
    assert information_bits(prior, [False, False, False]) == 0.0
    assert information_bits(prior, [True, True, False]) == 0.0
    even = information_bits(prior, [True, False, False])
    skewed = information_bits([0.9, 0.1, 0.0], [True, False, False])
    assert even > skewed > 0


def test_an_action_already_taken_is_not_proposed_again(tmp_path: Path) -> None:
    first = turn_state(
        1,
        dx("NSTEMI", "I21.4", 0.5, (("troponin", "test"),)),
        dx("Pulmonary embolism", "I26.99", 0.4, (("D-dimer", "test"),)),
    )
    state, ctx = _after_keeper(tmp_path, first)
    troponin = chooser(state, ctx)["next_action"]
    assert troponin["code"] == "84484"
    second = {**state, **turn_state(2, *first["answer"]["differential"]["diagnoses"])}
    second["actions"] = [{**troponin, "turn": 1}]
    second = apply(second, hypothesis_keeper(second, ctx))
    assert chooser(second, ctx)["next_action"]["code"] == "85379"


def test_a_question_and_a_record_look_up_are_candidates(tmp_path: Path) -> None:
    state, ctx = _after_keeper(
        tmp_path,
        turn_state(
            1,
            dx("NSTEMI", "I21.4", 0.5, (("review prior ECGs in the record", "other"),)),
            dx("Pulmonary embolism", "I26.99", 0.4),
            missing=("recent immobilisation or long-haul travel (pulmonary embolism risk)",),
        ),
    )
    ranked = chooser(state, ctx)["panel"]["chooser"]["ranked"]
    kinds = {c["kind"]: c for c in ranked}
    assert kinds["ehr"]["targets"] == ["NSTEMI"] and kinds["ehr"]["price_usd"] == 0.0
    assert kinds["question"]["targets"] == ["Pulmonary embolism"]
    assert kinds["question"]["action"].startswith("Ask the clinician:")


def test_nothing_is_proposed_when_no_candidate_separates(tmp_path: Path) -> None:
    state, ctx = _after_keeper(
        tmp_path,
        turn_state(
            1,
            dx("A", None, 0.5, (("PET CT", "imaging"),)),
            dx("B", None, 0.5, (("PET CT", "imaging"),)),
        ),
    )
    change = chooser(state, ctx)
    assert change["next_action"] is None
    assert "separates" in change["panel"]["chooser"]["note"]
