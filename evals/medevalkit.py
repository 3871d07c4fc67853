"""The VQA breakdown (closed / open / total), corrected, and the figure MedEvalKit would print.

MedEvalKit's ``cal_metrics`` for VQA-RAD, SLAKE and PathVQA has these defects, each
reproduced by ``as_medevalkit`` so a reader can line our figure up with a published one:

1. open accuracy divided by the open total twice (``acc = right / total``, then the loop
   that averages the open metrics divides ``acc`` by ``total`` again);
2. precision / recall / F1 unpacked in the wrong order (``calculate_f1`` returns
   ``f1, precision, recall``; the caller reads ``precision, recall, f1``);
3. with the LLM judge on PathVQA, closed right answers are zeroed (``close.right = 0`` and
   only open questions are judged), so closed accuracy prints 0 and the total loses them;
4. with the LLM judge on SLAKE, every question (closed too) is judged and a judged-right
   closed question is added on top of its rule-based right, so closed ones count twice.

Here: closed questions keep their rule-based score, only open questions go to the judge,
each question counts once, and P/R/F1 are what their names say.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evals.scoring import medevalkit_open_fields

OPEN_METRICS = (
    "bleu1",
    "bleu2",
    "bleu3",
    "bleu4",
    "rouge1",
    "rouge2",
    "rougel",
    "precision",
    "recall",
    "f1",
    "em",
)


def _rate(right: float, total: int) -> float | None:
    return right / total if total else None


def vqa_breakdown(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Closed, open and total accuracy; the open text metrics averaged; judge counts."""
    closed = [r for r in records if r.get("answer_type") == "closed"]
    opened = [r for r in records if r.get("answer_type") == "open"]
    closed_right = sum(1 for r in closed if r.get("correct"))
    open_right = sum(1 for r in opened if r.get("correct"))
    open_metrics = {
        m: _rate(sum(float((r.get("metrics") or {}).get(m, 0.0)) for r in opened), len(opened))
        for m in OPEN_METRICS
    }
    judged = [r for r in opened if r.get("judge")]
    return {
        "closed": {
            "n": len(closed),
            "right": closed_right,
            "acc": _rate(closed_right, len(closed)),
        },
        "open": {
            "n": len(opened),
            "right": open_right,
            "acc": _rate(open_right, len(opened)),
            **open_metrics,
            "judged": len(judged),
            "judge_no_verdict": sum(1 for r in judged if r["judge"].get("verdict") is None),
        },
        "total": {
            "n": len(records),
            "right": closed_right + open_right,
            "acc": _rate(closed_right + open_right, len(records)),
        },
    }


def as_medevalkit(
    records: Sequence[dict[str, Any]], benchmark: str, *, judged: bool
) -> dict[str, Any]:
    """The closed / open / total figures MedEvalKit's ``cal_metrics`` would print for these
    replies. For SLAKE with a judge, closed questions are taken as judged the way exact
    match scored them (this harness does not send closed questions to the judge)."""
    closed = [r for r in records if r.get("answer_type") == "closed"]
    opened = [r for r in records if r.get("answer_type") == "open"]
    rule_closed = sum(1 for r in closed if r.get("correct"))
    em_open = sum(1 for r in opened if (r.get("metrics") or {}).get("em"))
    judge_open = sum(1 for r in opened if (r.get("judge") or {}).get("verdict"))
    sums = dict.fromkeys(OPEN_METRICS, 0.0)
    for r in opened:
        metrics = dict(r.get("metrics") or {})
        metrics.update(medevalkit_open_fields(str(r.get("parsed", "")), str(r.get("answer", ""))))
        for m in OPEN_METRICS:
            sums[m] += float(metrics.get(m, 0.0))
    if not judged:
        close_right, open_right = rule_closed, em_open
    elif benchmark == "PATH_VQA":  # closed right zeroed, only open judged
        close_right, open_right = 0, judge_open
    elif benchmark == "SLAKE":  # closed judged too, and counted on top of the rule
        close_right, open_right = rule_closed + rule_closed, judge_open
    else:
        close_right, open_right = rule_closed, judge_open
    total = len(records)
    n_open = len(opened)
    open_out: dict[str, Any] = {"n": n_open, "right": open_right}
    if n_open:
        open_out["acc"] = open_right / n_open / n_open  # divided by the total twice
        open_out.update({m: sums[m] / n_open for m in OPEN_METRICS})
    return {
        "closed": {"n": len(closed), "right": close_right, "acc": _rate(close_right, len(closed))},
        "open": open_out,
        "total": {
            "n": total,
            "right": close_right + open_right,
            "acc": _rate(close_right + open_right, total),
        },
    }
