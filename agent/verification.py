"""Mechanical checks of a final reply, before anyone sees it.

Two kinds of outcome: *problems* go back to the model in a repair message (bounded
by the repair budget) and, if still there after it, become visible warnings;
*warnings* (a category ICD-10-CM code, say) are kept with the answer directly.
Nothing is silently fixed or dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.answer import looks_like_text
from agent.citations import cited_ids, unknown_citations
from agent.differential import Differential, DifferentialParse, Finding, parse_differential
from tools.runtime import EvidenceRecord

SupportScorer = Callable[[Sequence[tuple[str, Sequence[str]]]], list[float]]
"""[(claim, passage sentences), ...] -> the best similarity in [-1, 1] for each claim."""
CodeChecker = Callable[[str], Any]
"""code -> an object with ``code``, ``exists``, ``billable``, ``description``, ``suggestion``."""

SUPPORT_THRESHOLD = 0.3
"""Below this cosine similarity (all-MiniLM-L6-v2) a claim shares too little with its passage."""

_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")


@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    differential: Differential | None = None
    prose: str = ""
    code_checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    support: list[dict[str, Any]] = field(default_factory=list)


def verify_reply(
    text: str,
    evidence: Mapping[str, EvidenceRecord],
    *,
    mode: str = "clinical",
    submitted: dict[str, Any] | None = None,
    check_code: CodeChecker | None = None,
    score_support: SupportScorer | None = None,
) -> Verdict:
    """Every check of DESIGN.md's verify step, in the order a reader would want them."""
    parsed: DifferentialParse = parse_differential(text, submitted)
    verdict = Verdict(differential=parsed.differential, prose=parsed.prose)
    verdict.problems.extend(parsed.errors)
    if not parsed.attempted and not looks_like_text(text):
        verdict.problems.append(
            "your reply was empty; answer the clinician's question"
            if not text.strip()
            else "your reply is not readable text (it looks like broken output or leftover "
            "markup); answer in plain sentences"
        )
        return verdict
    verdict.problems.extend(unknown_citations(parsed.prose, evidence))
    if parsed.differential is not None:
        _check_differential(parsed.differential, evidence, verdict, check_code, score_support)
    if mode == "report":
        _check_report(parsed.prose or text, evidence, verdict)
    return verdict


def _check_differential(
    dx: Differential,
    evidence: Mapping[str, EvidenceRecord],
    verdict: Verdict,
    check_code: CodeChecker | None,
    score_support: SupportScorer | None,
) -> None:
    for bad in dx.malformed_ids():
        verdict.problems.append(f"{bad!r} is not an evidence id (ids look like G1, E4, I2)")
    ids_text = " ".join(f"[{i}]" for i in dx.cited_ids() if i not in dx.malformed_ids())
    verdict.problems.extend(unknown_citations(ids_text, evidence))
    for diagnosis in dx.diagnoses:
        if not any(f.evidence for f in diagnosis.supporting):
            verdict.problems.append(
                f"diagnosis '{diagnosis.name}' has no supporting finding with a citation; "
                "cite the evidence for it or remove it"
            )
    total = sum(d.likelihood for d in dx.diagnoses)
    if total > 1.0 + 1e-6:
        verdict.problems.append(
            f"the likelihoods sum to {total:.2f}; they are probabilities and must sum to at "
            "most 1 (the remainder means 'other')"
        )
    if check_code is not None:
        _check_codes(dx, verdict, check_code)
    if score_support is not None:
        _check_support(dx, evidence, verdict, score_support)


def _check_codes(dx: Differential, verdict: Verdict, check_code: CodeChecker) -> None:
    for diagnosis in dx.diagnoses:
        if not diagnosis.icd10:
            continue
        result = check_code(diagnosis.icd10)
        verdict.code_checks[diagnosis.icd10] = {
            "code": result.code,
            "exists": result.exists,
            "billable": result.billable,
            "description": result.description,
        }
        if not result.exists:
            hint = f" (closest: {result.suggestion})" if getattr(result, "suggestion", "") else ""
            verdict.problems.append(
                f"{diagnosis.icd10} for '{diagnosis.name}' is not an ICD-10-CM code{hint}; "
                "give a valid code or leave icd10 empty"
            )
        elif not result.billable:
            verdict.warnings.append(
                f"{result.code} ({result.description}) is an ICD-10-CM category, not a billable "
                "code; a more specific code is needed for coding"
            )


def _findings(dx: Differential) -> list[Finding]:
    found = list(dx.red_flags)
    for diagnosis in dx.diagnoses:
        found.extend(diagnosis.supporting)
        found.extend(diagnosis.against)
    return found


def _check_support(
    dx: Differential,
    evidence: Mapping[str, EvidenceRecord],
    verdict: Verdict,
    score: SupportScorer,
) -> None:
    pairs: list[tuple[Finding, str]] = [
        (finding, gid)
        for finding in _findings(dx)
        for gid in finding.evidence
        if gid in evidence and evidence[gid]["kind"] == "guideline"
    ]
    if not pairs:
        return
    scores = score([(finding.text, _sentences(evidence[gid]["excerpt"])) for finding, gid in pairs])
    best: dict[int, tuple[float, str, list[str]]] = {}
    order: list[Finding] = []
    for (finding, gid), value in zip(pairs, scores, strict=True):
        key = id(finding)
        if key not in best:
            order.append(finding)
            best[key] = (value, gid, [gid])
        else:
            top, top_id, ids = best[key]
            best[key] = (value, gid, [*ids, gid]) if value > top else (top, top_id, [*ids, gid])
    for finding in order:
        value, best_id, guideline_ids = best[id(finding)]
        verdict.support.append({"claim": finding.text, "id": best_id, "score": round(value, 3)})
        if value < SUPPORT_THRESHOLD:
            cited = ", ".join(guideline_ids)
            verdict.problems.append(
                f"the claim '{finding.text[:80]}' cites {cited} but shares little with it "
                f"(support {value:.2f} < {SUPPORT_THRESHOLD}); cite the passage that says it, "
                "or drop the citation"
            )


def _check_report(text: str, evidence: Mapping[str, EvidenceRecord], verdict: Verdict) -> None:
    lowered = text.lower()
    for section in ("findings", "impression"):
        if section not in lowered:
            verdict.problems.append(f"the report has no '{section.capitalize()}' section")
    images = [i for i, r in evidence.items() if r["kind"] == "image"]
    if images and not any(i.startswith("I") for i in cited_ids(text)):
        verdict.problems.append(
            "the report's statements must cite the images they come from "
            f"(this session has {', '.join(images)})"
        )


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(text) if s.strip()] or [text]


def embedding_scorer(embedder: Any, cache_size: int = 4096) -> SupportScorer:
    """A support scorer over an embedder with ``encode(texts) -> normalised vectors``.

    All texts of one verification are embedded in one batch; passage sentences are
    cached, so a repaired answer re-checked against the same evidence costs little.
    """
    cache: dict[str, Any] = {}

    def score(pairs: Sequence[tuple[str, Sequence[str]]]) -> list[float]:
        texts = {t for claim, sentences in pairs for t in (claim, *sentences)}
        todo = [t for t in texts if t not in cache]
        if todo:
            for text, vector in zip(todo, embedder.encode(todo), strict=True):
                cache[text] = vector
        while len(cache) > cache_size:
            cache.pop(next(iter(cache)))
        return [
            max(float(cache[claim] @ cache[s]) for s in sentences) for claim, sentences in pairs
        ]

    return score
