"""Scorers against answers worked out by hand, and each MedEvalKit defect: our figure and the
figure MedEvalKit would print for the same replies."""

from __future__ import annotations

import pytest

from evals import scoring
from evals.grading import grade, strip_citations
from evals.items import Item
from evals.medevalkit import as_medevalkit, vqa_breakdown
from evals.stats import bootstrap_ci, mcnemar, paired

OPTIONS = {"A": "Pneumonia", "B": "Pulmonary embolism", "C": "Heart failure", "D": "Asthma"}


@pytest.mark.parametrize(
    ("reply", "parsed", "how", "correct"),
    [
        ("B", "B", "letter", True),
        ("b. Pulmonary embolism", "B", "letter", True),
        ("The answer is (B).", "B", "letter", True),
        ("Reasoning first.\nAnswer: C", "C", "letter", False),
        ("\\boxed{B}", "B", "letter", True),
        ("<answer>pulmonary embolism</answer>", "B", "text", True),
        ("pulmonary embolus", "B", "difflib", True),  # guessed, and recorded as a guess
        ("", "", "unparsed", False),
    ],
)
def test_mcq(reply: str, parsed: str, how: str, correct: bool) -> None:
    scored = scoring.score_mcq(OPTIONS, "B", reply)
    assert (scored.parsed, scored.how, scored.correct) == (parsed, how, correct)


def test_yes_no_reads_words_not_substrings() -> None:
    assert scoring.score_yes_no("yes", "Yes, the study is normal.").correct is True
    # MedEvalKit's substring test finds "no" in "normal" and calls this ambiguous.
    assert "no" in "yes, the study is normal" and "yes" in "yes, the study is normal"
    assert scoring.score_yes_no("no", "No.").correct is True
    assert scoring.score_yes_no("no", "yes or no").how == "unparsed"


def test_closed_exact_match() -> None:
    assert scoring.score_closed("Lung", "lung.").correct is True
    assert scoring.score_closed("Lung", "the lung").correct is False


def test_open_metrics_by_hand() -> None:
    scored = scoring.score_open("left lower lung lobe", "left lung")
    # words in common: left, lung -> precision 2/2, recall 2/4, F1 2*1*0.5/1.5
    assert scored.metrics["precision"] == 1.0
    assert scored.metrics["recall"] == 0.5
    assert scored.metrics["f1"] == pytest.approx(2 / 3)
    assert scored.metrics["em"] == 0.0 and scored.correct is False
    assert scored.metrics["rouge1"] == pytest.approx(2 / 3)  # ROUGE-1 F: same counts
    # MedEvalKit unpacks (f1, precision, recall) as (precision, recall, f1):
    assert scoring.medevalkit_open_fields("left lung", "left lower lung lobe") == {
        "precision": pytest.approx(2 / 3),
        "recall": 1.0,
        "f1": 0.5,
    }
    exact = scoring.score_open("Liver", "liver")
    assert exact.correct is True and exact.metrics["bleu1"] == 1.0


def test_judge_protocol() -> None:
    assert scoring.judge_verdict("<think>same</think>\n<judge>0</judge>") is True
    assert scoring.judge_verdict("<judge>1</judge>") is False
    assert scoring.judge_verdict("I think it is right") is None


def test_citations_do_not_count_as_words() -> None:
    assert (
        strip_citations("Effusion [I1]. Impression: effusion [I1, I2].")
        == "Effusion. Impression: effusion."
    )
    item = Item("X", "1", "mcq", "q", "q", "A", options={"A": "a", "B": "b"})
    assert grade(item, "Seen on the film [I1]. Answer: A")["correct"] is True


def _records(
    closed: list[bool], open_em: list[bool], judge: list[bool] | None = None
) -> list[dict]:
    out = [{"answer_type": "closed", "correct": c, "parsed": "", "answer": ""} for c in closed]
    for n, em in enumerate(open_em):
        verdict = judge[n] if judge is not None else None
        out.append(
            {
                "answer_type": "open",
                "parsed": "left lung",
                "answer": "left lower lung lobe",
                "metrics": {"em": float(em), "precision": 1.0, "recall": 0.5, "f1": 2 / 3},
                "judge": {"verdict": verdict} if judge is not None else None,
                "correct": verdict if judge is not None else em,
            }
        )
    return out


def test_open_accuracy_is_divided_once() -> None:
    records = _records([True, True, False, False], [True, True, False, False])
    ours = vqa_breakdown(records)
    assert (
        ours["open"]["acc"] == 0.5 and ours["closed"]["acc"] == 0.5 and ours["total"]["acc"] == 0.5
    )
    theirs = as_medevalkit(records, "VQA_RAD", judged=False)
    assert theirs["open"]["acc"] == 0.125  # 2 / 4 / 4
    assert theirs["total"]["acc"] == 0.5
    # P/R/F1 as MedEvalKit labels them: "precision" holds F1, "recall" precision, "f1" recall.
    assert ours["open"]["precision"] == 1.0 and ours["open"]["f1"] == pytest.approx(2 / 3)
    assert theirs["open"]["precision"] == pytest.approx(2 / 3) and theirs["open"]["f1"] == 0.5


def test_pathvqa_judge_zeroes_closed_questions() -> None:
    records = _records([True, True, True, False], [False, False], judge=[True, False])
    ours = vqa_breakdown(records)
    assert ours["closed"]["acc"] == 0.75 and ours["open"]["acc"] == 0.5
    assert ours["total"]["right"] == 4 and ours["total"]["acc"] == pytest.approx(4 / 6)
    theirs = as_medevalkit(records, "PATH_VQA", judged=True)
    assert theirs["closed"]["acc"] == 0.0
    assert theirs["total"]["acc"] == pytest.approx(1 / 6)


def test_slake_judge_counts_closed_questions_twice() -> None:
    records = _records([True, True, True, False], [False, False], judge=[True, False])
    theirs = as_medevalkit(records, "SLAKE", judged=True)
    assert theirs["closed"]["acc"] == 1.5  # 6 right out of 4
    assert theirs["total"]["acc"] == pytest.approx(7 / 6)
    assert vqa_breakdown(records)["total"]["acc"] == pytest.approx(4 / 6)


def test_mcnemar_and_intervals_by_hand() -> None:
    # 5 items right under b only, none under a only: p = 2 * 0.5**5
    test = mcnemar([False] * 5 + [True] * 3, [True] * 5 + [True] * 3)
    assert test == {"a_only": 0, "b_only": 5, "p_value": pytest.approx(0.0625)}
    assert mcnemar([True, False], [True, False])["p_value"] == 1.0
    low, high = bootstrap_ci([0, 1] * 50)
    assert low < 0.5 < high and high - low < 0.25
    assert bootstrap_ci([1, 1, 1]) == (1.0, 1.0)
    result = paired({"a": 0.0, "b": 1.0, "c": 0.0}, {"a": 1.0, "b": 1.0, "d": 1.0})
    assert result is not None and result["n"] == 2 and result["difference"] == 0.5
    assert result["mcnemar"]["b_only"] == 1
