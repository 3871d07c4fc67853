"""One item's reply graded in its benchmark's terms, and the failure category it falls in."""

from __future__ import annotations

from typing import Any

from evals import scoring
from evals.items import Item
from tools import evidence


def report_metrics_one(reply: str, reference: str) -> dict[str, float]:
    """Per-item BLEU (sacrebleu, sentence level, 0-1) and ROUGE-1/2/L F (rouge-score)."""
    import sacrebleu
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    rouge = scorer.score(reference, reply)
    bleu = sacrebleu.sentence_bleu(reply, [reference]).score / 100 if reply.strip() else 0.0
    return {
        "bleu": bleu,
        "rouge1": rouge["rouge1"].fmeasure,
        "rouge2": rouge["rouge2"].fmeasure,
        "rougel": rouge["rougeL"].fmeasure,
    }


def strip_citations(text: str) -> str:
    """The reply without evidence citations (``[I1]``, ``[G2, E3]``): the agent's provenance
    marks are not words of the answer, and must not cost it BLEU or ROUGE."""
    return evidence.strip_citations(text)


def grade(item: Item, reply: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """``parsed``, ``correct`` (None for reports), ``how``, ``metrics`` and ``score`` (0-1):
    the right/wrong as 1/0, or ROUGE-L for a report, or the DDXPlus differential F1."""
    reply = strip_citations(reply)
    if item.kind == "mcq":
        scored = scoring.score_mcq(item.options, item.answer, reply)
    elif item.kind == "yesno":
        scored = scoring.score_yes_no(item.answer, reply)
    elif item.kind == "closed":
        scored = scoring.score_closed(item.answer, reply)
    elif item.kind == "open":
        scored = scoring.score_open(item.answer, reply)
    elif item.kind == "report":
        metrics = report_metrics_one(reply, item.answer)
        return {
            "parsed": reply.strip(),
            "correct": None,
            "how": "metrics",
            "metrics": metrics,
            "score": metrics["rougel"],
        }
    elif item.kind == "consult":
        from evals.consult import grade_consult

        return grade_consult(item, reply, (extra or {}).get("transcript", []))
    elif item.kind == "fhir":
        from evals.fhir_tasks import grade_fhir

        return grade_fhir(item, reply)
    else:
        from evals.ddxplus import grade_differential

        return grade_differential(item, reply)
    return {
        "parsed": scored.parsed,
        "correct": scored.correct,
        "how": scored.how,
        "metrics": scored.metrics,
        "score": float(bool(scored.correct)),
    }


def category(record: dict[str, Any]) -> str:
    """What kind of outcome an item had, for the failure chart."""
    if record.get("error"):
        return "error"
    if record.get("extra", {}).get("produced_by") not in (None, "model"):
        return "no model answer"
    if record.get("how") == "unparsed":
        return "unparsed"
    if record.get("correct") is None:
        return "scored"
    if record.get("how") == "difflib":
        return "difflib right" if record["correct"] else "difflib wrong"
    if record.get("judge") is not None:
        return "judged right" if record["correct"] else "judged wrong"
    return "right" if record["correct"] else "wrong"
