"""Guideline claims (G#) against the passage they cite, with the real MiniLM embedder."""

from __future__ import annotations

from typing import Any

import pytest

from agent.claims.guideline import GuidelineCheck, check_guideline_claim
from agent.verification import embedding_scorer
from knowledge.guidelines import get_embedder

PASSAGE = (
    "2021 AHA/ACC chest pain guideline — Cardiac troponin and risk stratification\n"
    "- High-sensitivity cardiac troponin is the preferred biomarker to establish or exclude "
    "myocardial injury.\n"
    "- After the first sample, troponin is repeated 1 to 3 hours later with high-sensitivity "
    "assays, or 3 to 6 hours later with conventional assays.\n"
    "| Group | Next step |\n| --- | --- |\n| Low risk | No urgent further testing |\n"
)


@pytest.fixture(scope="module")
def scorer() -> Any:
    return embedding_scorer(get_embedder())


@pytest.mark.parametrize(
    ("claim", "status", "said"),
    [
        (
            "With high-sensitivity assays, troponin is repeated 1 to 3 hours after the first sample.",
            "checked",
            "says this",
        ),
        (
            "With high-sensitivity assays, troponin is repeated 6 to 12 hours after the first sample.",
            "mismatch",
            "12",
        ),
        (
            "High-sensitivity cardiac troponin is not the preferred biomarker for myocardial injury.",
            "mismatch",
            "negates",
        ),
        (
            "In children, troponin is repeated 1 to 3 hours after the first sample.",
            "mismatch",
            "children",
        ),
        (
            "The left femur is fractured after a fall from a ladder.",
            "mismatch",
            "does not say this",
        ),
    ],
    ids=["supported", "wrong-number", "negated", "wrong-population", "off-topic"],
)
def test_each_kind_of_unsupported_claim_is_named(
    scorer: Any, claim: str, status: str, said: str
) -> None:
    verdict = check_guideline_claim(claim, [("G3", PASSAGE)], GuidelineCheck(scorer=scorer))
    assert verdict.status == status and said in verdict.reason, verdict.reason


def test_a_judge_is_asked_only_in_the_grey_zone_and_its_no_counts(scorer: Any) -> None:
    asked: list[str] = []

    def judge(claim: str, passage: str) -> str:
        asked.append(claim)
        return "unsupported"

    config = GuidelineCheck(scorer=scorer, judge=judge, grey=(0.45, 0.99))
    sure = "High-sensitivity cardiac troponin is the preferred biomarker to establish or exclude myocardial injury."
    grey = "Troponin is repeated 1 to 3 hours later with high-sensitivity assays."
    assert check_guideline_claim(sure, [("G1", PASSAGE)], config).status == "checked"
    verdict = check_guideline_claim(grey, [("G1", PASSAGE)], config)
    assert asked == [grey] and config.judge_calls == 1
    assert verdict.status == "mismatch" and "judge" in verdict.reason


# Reversed recommendations worded with the passage's own words (issue 21, second round).
# Passages paraphrase the starter corpus (knowledge/corpus): Surviving Sepsis Campaign 2021,
# BTS 2023 pneumothorax, ESC 2019 pulmonary embolism, 2017 ACC/AHA blood pressure, Canadian CT Head Rule 2001, Ottawa foot
# rules 1992, ACR BI-RADS 5th edition 2013 (demonstration and education, not clinical use).
REVERSALS = {
    "role": (
        "Surviving Sepsis Campaign 2021 — Vasopressors\n"
        "- Crystalloids are first-line fluids.\n"
        "- Norepinephrine is the first-line vasopressor in septic shock.",
        "Norepinephrine is the first-line vasopressor for septic shock.",
        "Dopamine is the first-line vasopressor in septic shock.",
        "'first-line'",
    ),
    "rejected-option": (
        "BTS 2023 pneumothorax — Management\n"
        "- Management is guided by symptoms and by high-risk characteristics rather than by "
        "the size of the pneumothorax on the radiograph alone.",
        "Symptoms and high-risk characteristics guide the management of a pneumothorax.",
        "The size of the pneumothorax on the chest radiograph decides its management.",
        "sets aside",
    ),
    "negation-dropped": (
        "ESC 2019 pulmonary embolism — Anticoagulation\n"
        "- NOACs are not recommended in severe renal impairment or during pregnancy.",
        "NOACs are not recommended during pregnancy.",
        "NOACs are recommended in severe renal impairment.",
        "drops the negation",
    ),
    "threshold-direction": (
        "Canadian CT Head Rule 2001 — High-risk factors\n"
        "- CT of the head is required for a GCS score below 15 at 2 hours after injury.",
        "A GCS score below 15 at 2 hours after injury means CT of the head is required.",
        "A GCS score of 15 or more at 2 hours after injury means CT of the head is required.",
        "bound",
    ),
    "restriction-dropped": (
        "Ottawa foot rules 1992 — Foot radiographs\n"
        "- A foot radiograph series is needed only if there is pain in the midfoot zone and "
        "bone tenderness at the navicular.",
        "A foot radiograph series is needed only if midfoot pain comes with navicular tenderness.",
        "A foot radiograph series is needed for any pain in the midfoot zone.",
        "only under a condition",
    ),
    "direction-inflected": (
        "ACR BI-RADS 2013 — Breast composition\n"
        "- d: the breasts are extremely dense, which lowers the sensitivity of mammography.",
        "Extremely dense breasts lower the sensitivity of mammography.",
        "Extremely dense breasts increase the sensitivity of mammography.",
        "'lower'",
    ),
}


@pytest.mark.parametrize("kind", sorted(REVERSALS))
def test_a_reversed_recommendation_in_the_passages_words_is_caught(scorer: Any, kind: str) -> None:
    passage, right, reversed_, said = REVERSALS[kind]
    config = GuidelineCheck(scorer=scorer)
    kept = check_guideline_claim(right, [("G2", passage)], config)
    assert kept.status == "checked", kept.reason
    caught = check_guideline_claim(reversed_, [("G2", passage)], config)
    assert caught.status == "mismatch" and caught.label == "contradicted", caught.reason
    assert said in caught.reason and caught.reason.startswith("G2"), caught.reason


def test_a_recheck_reuses_the_verdict_but_not_for_another_passage(scorer: Any) -> None:
    calls: list[int] = []

    def counting(batch: Any) -> list[float]:
        calls.append(len(batch))
        return list(scorer(batch))

    config = GuidelineCheck(scorer=counting)
    claim = "NOACs are recommended in severe renal impairment."
    passage = REVERSALS["negation-dropped"][0]
    first = check_guideline_claim(claim, [("G1", passage)], config)
    asked = len(calls)
    again = check_guideline_claim(claim, [("G1", passage)], GuidelineCheck(scorer=counting))
    assert again == first and len(calls) == asked  # the same question: no scoring at all
    edited = passage.replace("are not recommended", "are recommended")
    changed = check_guideline_claim(claim, [("G1", edited)], GuidelineCheck(scorer=counting))
    assert len(calls) > asked and changed.status == "checked", changed.reason


def test_a_claim_giving_one_table_row_another_rows_value_is_caught(scorer: Any) -> None:
    passage = (
        "2017 ACC/AHA high blood pressure — Categories\n"
        "| Category | Systolic (mmHg) | | Diastolic (mmHg) |\n| --- | --- | --- | --- |\n"
        "| Normal | < 120 | and | < 80 |\n| Elevated | 120-129 | and | < 80 |\n"
        "| Stage 1 hypertension | 130-139 | or | 80-89 |\n"
        "| Stage 2 hypertension | >= 140 | or | >= 90 |"
    )
    # The row rule alone (the numbers step would also catch the second claim's 140).
    config = GuidelineCheck(scorer=scorer, steps=("similarity", "polarity"))
    right = "Stage 1 hypertension is a systolic pressure of 130-139 mmHg or a diastolic of 80-89."
    assert check_guideline_claim(right, [("G4", passage)], config).status == "checked"
    wrong = "Stage 1 hypertension is a systolic pressure of 140 mmHg or more."
    verdict = check_guideline_claim(wrong, [("G4", passage)], config)
    assert verdict.status == "mismatch" and "other rows" in verdict.reason, verdict.reason
    assert "140" in verdict.reason


def test_a_sentence_citing_the_record_and_a_guideline_is_two_claims(scorer: Any) -> None:
    """Models write "ACS is likely: rising troponin [E1]; troponin is the preferred marker
    [G1]." The guideline is held to the words before [G1] only, the record to those before
    [E1]: the record's part is not a claim the passage failed to make, and a wrong part
    is still caught on its own side."""
    from agent.claims import check_claim

    evidence: dict[str, Any] = {
        "G1": {
            "id": "G1",
            "kind": "guideline",
            "key": "chunk-1",
            "label": "2021 AHA/ACC chest pain guideline",
            "excerpt": PASSAGE,
            "citation": {"title": "2021 AHA/ACC chest pain guideline"},
        },
        "E1": {
            "id": "E1",
            "kind": "ehr",
            "key": "Condition/c1",
            "label": "Condition Chest pain (2026-03-01)",
            "excerpt": "Chest pain (since 2026-03)",
            "citation": {"resource_type": "Condition", "display": "Chest pain", "status": "active"},
        },
    }
    config = GuidelineCheck(scorer=scorer)
    both = (
        "Acute coronary syndrome is most likely given the ongoing chest pain [E1]; "
        "high-sensitivity cardiac troponin is the preferred biomarker [G1]."
    )
    assert check_claim(both, ["E1", "G1"], evidence, guideline=config).status != "mismatch"
    wrong = both.replace("is the preferred", "is not the preferred")
    verdict = check_claim(wrong, ["E1", "G1"], evidence, guideline=config)
    assert verdict.status == "mismatch" and "G1" in verdict.reason
