"""DDXPlus: the released layout read, the differential parsed and scored by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.benchmarks import load_items
from evals.ddxplus import grade_differential, project_measures, ranked_conditions
from tests.evals import datasets

NAMES = ["Pneumonia", "Bronchitis", "Stable angina", "Unstable angina"]


def test_the_release_layout(tmp_path: Path) -> None:
    datasets.ddxplus(tmp_path)
    first, second = load_items("DDXPlus", tmp_path, tmp_path / "cache")
    assert first.answer == "Pneumonia" and first.meta["differential"] == {
        "Pneumonia": 0.6,
        "Bronchitis": 0.4,
    }
    assert "age 55, sex M, presents with: Do you have a fever? Yes." in first.prompt
    assert "- Where is the pain located? side of the chest (L)" in first.prompt
    assert "Bronchitis; Pneumonia; Stable angina; Unstable angina" in first.prompt
    assert second.answer == "Unstable angina"


def test_ranking_and_the_paper_measures() -> None:
    assert ranked_conditions("1. Unstable angina\n2. pneumonia\n3. Unstable angina", NAMES) == [
        "Unstable angina",
        "Pneumonia",
    ]
    assert ranked_conditions("stable angina, then bronchitis", NAMES) == [
        "Stable angina",
        "Bronchitis",
    ]
    from evals.items import Item

    item = Item(
        "DDXPlus",
        "0",
        "ddx",
        "q",
        "q",
        "Pneumonia",
        meta={
            "differential": {"Pneumonia": 0.6, "Bronchitis": 0.3, "Stable angina": 0.1},
            "conditions": NAMES,
        },
    )
    graded = grade_differential(item, "Bronchitis\nPneumonia\nUnstable angina\nmaybe nothing")
    # rank 2: top-1 miss, top-3 hit; 2 of 3 true, 2 of 3 predicted
    assert graded["metrics"]["top1"] == 0.0 and graded["metrics"]["top3"] == 1.0
    assert graded["metrics"]["ddr"] == pytest.approx(2 / 3)
    assert graded["metrics"]["ddp"] == pytest.approx(2 / 3)
    assert graded["score"] == pytest.approx(2 / 3) and graded["correct"] is False
    assert grade_differential(item, "I cannot say.")["how"] == "unparsed"


def test_project_measures_from_an_agent_answer() -> None:
    extra = {
        "differential": {"diagnoses": [{"icd10": "J18.9"}, {"icd10": "J99.99"}, {"icd10": None}]},
        "claim_counts": {"checked": 3, "unchecked": 1, "mismatch": 0},
        "red_flags": 2,
    }
    measures = project_measures(extra)
    assert measures["icd10_valid_share"] == pytest.approx(1 / 3)
    assert measures["claims_checked_share"] == 0.75 and measures["red_flags"] == 2.0
