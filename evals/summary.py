"""The summary of a run: per benchmark and arm, and the paired difference between arms."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from evals.medevalkit import as_medevalkit, vqa_breakdown
from evals.report_metrics import corpus_report_metrics
from evals.stats import bootstrap_ci, paired


def _spread(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "median": None, "p90": None}
    data = np.asarray(values, dtype=float)
    return {
        "mean": float(data.mean()),
        "median": float(np.median(data)),
        "p90": float(np.percentile(data, 90)),
    }


def summarize_arm(
    benchmark: str, records: Sequence[dict[str, Any]], *, meteor: bool = True
) -> dict[str, Any]:
    """Accuracy (an item whose arm failed counts as wrong) with its 95% bootstrap CI, or the
    mean score for reports; latency, tokens, tool calls, outcome categories."""
    answered = [r for r in records if not r.get("error")]
    scores = [float(r.get("score") or 0.0) for r in records]
    low, high = bootstrap_ci(scores)
    graded = [r for r in records if r.get("kind") not in ("report", "ddx")]
    out: dict[str, Any] = {
        "n": len(records),
        "errors": len(records) - len(answered),
        "metric": "accuracy"
        if graded
        else ("rouge_l" if records[0]["kind"] == "report" else "ddx_f1"),
        "score": float(np.mean(scores)) if scores else None,
        "ci95": [low, high],
        "latency_s": _spread([r["latency_s"] for r in answered]),
        "prompt_tokens": _spread([r["tokens"]["prompt"] for r in answered]),
        "completion_tokens": _spread([r["tokens"]["completion"] for r in answered]),
        "tool_calls_mean": float(np.mean([len(r.get("tool_calls") or []) for r in answered]))
        if answered
        else None,
        "citations_mean": float(np.mean([len(r.get("citations") or []) for r in answered]))
        if answered
        else None,
        "categories": dict(Counter(r.get("category", "?") for r in records)),
        "parsed_by": dict(Counter(r.get("how", "error") for r in records)),
    }
    if any(r.get("answer_type") for r in records):
        judged = any(r.get("judge") for r in records)
        out["vqa"] = vqa_breakdown(records)
        out["medevalkit_would_print"] = as_medevalkit(records, benchmark, judged=judged)
    if records and records[0]["kind"] == "report":
        texts = [(str(r.get("reply") or ""), str(r["answer"])) for r in records]
        replies, references = [t[0] for t in texts], [t[1] for t in texts]
        out["report"] = corpus_report_metrics(replies, references, meteor=meteor)
    if records and records[0]["kind"] == "ddx":
        from evals.ddxplus import summarize_ddx

        out["ddx"] = summarize_ddx(records)
    return out


def summarize(
    by_benchmark: dict[str, dict[str, list[dict[str, Any]]]], *, meteor: bool = True
) -> dict[str, Any]:
    """``{benchmark: {arm: records}}`` -> the summary JSON (``paired`` is agent - bare)."""
    out: dict[str, Any] = {"benchmarks": {}}
    for benchmark, arms in by_benchmark.items():
        entry: dict[str, Any] = {
            "arms": {
                arm: summarize_arm(benchmark, recs, meteor=meteor) for arm, recs in arms.items()
            }
        }
        if "bare" in arms and "agent" in arms:
            base = {r["id"]: float(r.get("score") or 0.0) for r in arms["bare"]}
            other = {r["id"]: float(r.get("score") or 0.0) for r in arms["agent"]}
            right_wrong = entry["arms"]["bare"]["metric"] == "accuracy"
            entry["paired"] = paired(base, other, right_wrong=right_wrong)
        out["benchmarks"][benchmark] = entry
    return out
