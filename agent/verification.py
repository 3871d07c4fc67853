"""Mechanical checks of a final reply, before anyone sees it.

Two kinds of outcome: *problems* go back to the model in a repair message (bounded
by the repair budget) and, if still there after it, become visible warnings;
*warnings* (a category ICD-10-CM code, say) are kept with the answer directly.
Nothing is silently fixed or dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.answer import looks_like_text
from agent.citations import cited_ids, unknown_citations
from agent.claims import (
    ClaimPath,
    ClaimVerdict,
    annotate,
    check_claim,
    claims_of,
    prime_guideline,
    prose_claims,
)
from agent.claims.guideline import GuidelineCheck, Judge
from agent.differential import Diagnosis, Differential, DifferentialParse, parse_differential
from tools.evidence import EvidenceRecord

SupportScorer = Callable[[Sequence[tuple[str, Sequence[str]]]], list[float]]
"""[(claim, passage sentences), ...] -> the best similarity in [-1, 1] for each claim."""
CodeChecker = Callable[[str], Any]
"""code -> an object with ``code``, ``exists``, ``billable``, ``description``, ``suggestion``."""

SUPPORT_THRESHOLD = GuidelineCheck.threshold
"""Below this cosine similarity (all-MiniLM-L6-v2) a passage does not say the claim."""


@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    differential: Differential | None = None
    prose: str = ""
    code_checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    support: list[dict[str, Any]] = field(default_factory=list)
    claims: dict[ClaimPath, ClaimVerdict] = field(default_factory=dict)
    """The verdict on each finding and next step, by its path in the differential."""
    statements: list[dict[str, Any]] = field(default_factory=list)
    """Cited sentences of the prose (or report), each with its ``check``."""

    def differential_record(self) -> dict[str, Any] | None:
        """The differential as plain data, each claim with its ``check`` beside it."""
        if self.differential is None:
            return None
        return annotate(self.differential.model_dump(), self.claims)


def verify_reply(
    text: str,
    evidence: Mapping[str, EvidenceRecord],
    *,
    mode: str = "clinical",
    submitted: dict[str, Any] | None = None,
    check_code: CodeChecker | None = None,
    score_support: SupportScorer | None = None,
    judge: Judge | None = None,
    max_pixels: int | None = None,
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
        _check_differential(
            parsed.differential, evidence, verdict, check_code, score_support, judge, max_pixels
        )
    if mode == "report":
        _check_report(parsed.prose or text, evidence, verdict)
    guideline = GuidelineCheck(scorer=score_support, judge=judge) if score_support else None
    for sentence, ids in prose_claims(parsed.prose):
        result = check_claim(sentence, ids, evidence, guideline=guideline, max_pixels=max_pixels)
        verdict.statements.append({"text": sentence, "evidence": ids, "check": result.as_check()})
        if result.problem and all(i in evidence for i in ids):
            verdict.problems.append(result.problem)
    return verdict


def unsupported_leader(verdict: Verdict) -> Diagnosis | None:
    """The leading diagnosis (highest likelihood, the first on a tie) when nothing supports
    it: none of its supporting findings cites evidence, or each that does was checked and
    found a mismatch (the problems ``_check_differential`` names). None otherwise."""
    dx = verdict.differential
    if dx is None or not dx.diagnoses:
        return None
    index, leader = max(enumerate(dx.diagnoses), key=lambda p: (p[1].likelihood, -p[0]))
    for n, finding in enumerate(leader.supporting):
        check = verdict.claims.get(("diagnoses", str(index), "supporting", str(n)))
        if finding.evidence and check is not None and check.status != "mismatch":
            return None
    return leader


def _check_differential(
    dx: Differential,
    evidence: Mapping[str, EvidenceRecord],
    verdict: Verdict,
    check_code: CodeChecker | None,
    score_support: SupportScorer | None,
    judge: Judge | None = None,
    max_pixels: int | None = None,
) -> None:
    for bad in dx.malformed_ids():
        verdict.problems.append(f"{bad!r} is not an evidence id (ids look like G1, E4, I2)")
    malformed = set(dx.malformed_ids())
    ids_text = " ".join(f"[{i}]" for i in dx.cited_ids() if i not in malformed)
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
    _check_disease_ids(dx, verdict)
    guideline = GuidelineCheck(scorer=score_support, judge=judge) if score_support else None
    _check_claims(dx, evidence, verdict, guideline, max_pixels)


def _check_disease_ids(dx: Differential, verdict: Verdict) -> None:
    """An OMIM or Orphanet id (a rare disease, often without its own ICD-10-CM code) must exist."""
    for diagnosis in dx.diagnoses:
        if not diagnosis.disease_id:
            continue
        from knowledge.phenotypes import disease

        if disease(diagnosis.disease_id) is None:
            verdict.problems.append(
                f"{diagnosis.disease_id} for '{diagnosis.name}' is not an OMIM or Orphanet "
                "disease in the HPO annotations; give the id the phenotype tool returned or "
                "leave disease_id empty"
            )


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
            verdict.problems.append(_code_problem(diagnosis.name, diagnosis.icd10, result))
        elif not result.billable:
            verdict.warnings.append(
                f"{result.code} ({result.description}) is an ICD-10-CM category, not a billable "
                "code; a more specific code is needed for coding"
            )


def _code_problem(name: str, code: str, result: Any) -> str:
    """One sentence: what the code is not, the closest codes once, what to do."""
    suggestion = str(getattr(result, "suggestion", "") or "")
    head, _, rest = suggestion.partition("; ")
    what = head if head.startswith(str(result.code)) else f"{code} is not an ICD-10-CM code"
    closest = rest.split("closest codes: ", 1)[-1] if "closest codes: " in rest else rest
    hint = f" (closest: {closest})" if closest else ""
    return f"for '{name}', {what}{hint}; give a valid code or leave icd10 empty"


def _check_claims(
    dx: Differential,
    evidence: Mapping[str, EvidenceRecord],
    verdict: Verdict,
    guideline: GuidelineCheck | None,
    max_pixels: int | None,
) -> None:
    """Each finding and next step against what it cites; mismatches go back to the model."""
    claims = list(claims_of(dx.model_dump()))
    malformed = set(dx.malformed_ids())
    if guideline is not None:  # every claim and passage sentence embedded in one batch
        prime_guideline(guideline, [(t, ids) for _, t, ids in claims], evidence)
    for path, text, ids in claims:
        if not ids or malformed.intersection(ids):
            continue
        result = check_claim(text, ids, evidence, guideline=guideline, max_pixels=max_pixels)
        verdict.claims[path] = result
        verdict.support.extend(result.support)
        if result.problem:
            verdict.problems.append(result.problem)


def _check_report(text: str, evidence: Mapping[str, EvidenceRecord], verdict: Verdict) -> None:
    lowered = text.lower()
    for section in ("findings", "impression"):
        if section not in lowered:
            verdict.problems.append(f"the report has no '{section.capitalize()}' section")
    images = [i for i, r in evidence.items() if r["kind"] == "image"]
    if images and not _cites_images(cited_ids(text), evidence, set(images)):
        verdict.problems.append(
            "the report's statements must cite the images they come from "
            f"(this session has {', '.join(images)})"
        )


def _cites_images(
    ids: Sequence[str], evidence: Mapping[str, EvidenceRecord], images: set[str]
) -> bool:
    """Whether ``ids`` cite an image: an ``I#``, or an ``F#`` (what Lingshu saw, split mode)
    whose citation names images of this session (the finding points at them)."""
    for i in ids:
        if i.startswith("I"):
            return True
        record = evidence.get(i)
        if record is None or record["kind"] != "finding":
            continue
        looked = record["citation"].get("images")
        if isinstance(looked, list) and images.intersection(looked):
            return True
    return False


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
