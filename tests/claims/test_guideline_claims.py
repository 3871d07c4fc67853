"""Guideline claims (G#) against the passage they cite, with the real MiniLM embedder."""

from __future__ import annotations

from typing import Any

import pytest

from agent.claims_guideline import GuidelineCheck, check_guideline_claim
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
