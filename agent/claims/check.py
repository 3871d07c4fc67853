"""Every claim of an answer checked against what it cites, with a verdict kept beside it.

A claim is a finding (red flag, supporting, against) or a next step of the
differential, or a cited sentence of a prose answer or report. Each cited kind has
its own check:

- ``E#`` record entries: :func:`agent.claims.record.check_record_claim` (values, units,
  dates, flags, trends, presence/absence, status);
- ``G#`` guideline passages: :mod:`agent.claims.guideline` (sentence similarity, numbers,
  negation, population, an optional judge);
- ``I#`` images: a claim about a size must cite a view that shows it at enough pixels;
- ``F#`` findings (split mode): :func:`agent.claims.finding.check_finding_claim`.

The claim's verdict is the weakest of its parts: ``mismatch`` (with the reason) if any
part disagrees, else ``unchecked`` if any part could not be compared, else ``checked``.
The shape is the shared answer convention: ``{"status": ..., "reason": ...}``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from agent.claims.finding import check_finding_claim
from agent.claims.guideline import GuidelineCheck, check_guideline_claim, sentences
from agent.claims.record import check_record_claim
from tools.evidence import EvidenceRecord, citation_groups, cited_ids

STATUSES = ("checked", "unchecked", "mismatch")
_RANK = {"checked": 0, "unchecked": 1, "mismatch": 2}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(mm|cm)\b", re.I)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass
class ClaimVerdict:
    status: str
    reason: str
    problem: str = ""
    """The repair message for the model when the claim is a mismatch."""
    support: list[dict[str, Any]] = field(default_factory=list)

    def as_check(self) -> dict[str, str]:
        return {"status": self.status, "reason": self.reason}


def _combine(parts: list[tuple[str, str]]) -> tuple[str, str]:
    if not parts:
        return "unchecked", "cites no evidence"
    worst = max(parts, key=lambda p: _RANK[p[0]])[0]
    reasons = [r for s, r in parts if s == worst] if worst != "checked" else [r for _, r in parts]
    return worst, "; ".join(dict.fromkeys(r for r in reasons if r))


def check_claim(
    text: str,
    ids: Sequence[str],
    evidence: Mapping[str, EvidenceRecord],
    *,
    guideline: GuidelineCheck | None = None,
    max_pixels: int | None = None,
) -> ClaimVerdict:
    """The verdict on one claim citing ``ids``."""
    known = [i for i in ids if i in evidence]
    parts: list[tuple[str, str]] = []
    support: list[dict[str, Any]] = []
    record_ids = [i for i in known if evidence[i]["kind"] == "ehr"]
    if record_ids:
        record = check_record_claim(scoped_text(text, record_ids), record_ids, evidence)
        parts.append((record.status, record.reason))
    guideline_ids = [i for i in known if evidence[i]["kind"] == "guideline"]
    if guideline_ids:
        if guideline is None:
            parts.append(("unchecked", f"support in {', '.join(guideline_ids)} not measured"))
        else:
            passages = [(i, passage_text(evidence[i])) for i in guideline_ids]
            said = scoped_text(text, guideline_ids)
            g = check_guideline_claim(said, passages, guideline)
            parts.append((g.status, g.reason))
            support.append({"claim": said, "id": g.best_id, "score": round(g.score, 3)})
    image_ids = [i for i in known if evidence[i]["kind"] == "image"]
    if image_ids:
        parts.append(check_image_claim(text, image_ids, evidence, max_pixels))
    finding_ids = [i for i in known if evidence[i]["kind"] == "finding"]
    if finding_ids:  # split mode: what the vision model said it saw (agent.claims.finding)
        said = scoped_text(text, finding_ids)
        pixels = partial(check_image_claim, evidence=evidence, max_pixels=max_pixels)
        parts.append(check_finding_claim(said, finding_ids, evidence, pixels))
    missing = [i for i in ids if i not in evidence]
    if missing:
        parts.append(("mismatch", f"{', '.join(missing)} not in this session's evidence"))
    status, reason = _combine(parts)
    problem = ""
    if status == "mismatch":
        problem = (
            f"the claim '{text[:100]}' [{', '.join(ids)}] does not match what it cites: {reason}; "
            "correct the claim to what the evidence holds, or cite the evidence that says it"
        )
    return ClaimVerdict(status, reason, problem, support)


def scoped_text(text: str, ids: Sequence[str]) -> str:
    """The part of ``text`` that cites one of ``ids``, where the text cites inline.

    "ACS is likely: rising troponin [E17]; troponin is the preferred marker [G1]." holds
    two claims: the record is checked against the words before ``[E17]``, the guideline
    against those before ``[G1]`` (back to the clause or the previous citation). Text
    whose inline citations all name the same ids, or that has none, is one claim.
    """
    marks = list(citation_groups(text))  # the one id grammar of tools.evidence
    if len({tuple(ids) for _, ids in marks}) < 2:
        return text
    wanted = set(ids)
    kept: list[str] = []
    start = 0
    for mark, mark_ids in marks:
        segment = text[start : mark.start()]
        after_a_citation = start > 0
        start = mark.end()
        if wanted & set(mark_ids):
            # words right after another citation belong to it up to the clause's end
            clause = re.split(r"[;:]\s", segment)[-1] if after_a_citation else segment
            kept.append(clause.strip(" ,;:"))
    said = " ".join(k for k in kept if k)
    return said or text


def prime_guideline(
    config: GuidelineCheck,
    claims: Sequence[tuple[str, Sequence[str]]],
    evidence: Mapping[str, EvidenceRecord],
) -> None:
    """Score every (claim, cited passage) once in one batch, so the embedder runs once.

    The scorer caches what it embeds; the checks of each claim that follow find every
    claim and passage sentence there.
    """
    batch = []
    for text, ids in claims:
        for i in ids:
            if i in evidence and evidence[i]["kind"] == "guideline":
                body = passage_text(evidence[i])
                batch.append((text, sentences(body, config.windows)))
                batch.append((text, sentences(body.split("\n", 1)[-1], False)))
    if batch:
        config.scorer(batch)


def passage_text(record: EvidenceRecord) -> str:
    """A guideline passage with its title and section as the first line (its context)."""
    c = record.get("citation") or {}
    head = " — ".join(str(p) for p in (c.get("title"), c.get("section")) if p)
    return f"{head}\n{record['excerpt']}" if head else record["excerpt"]


# --- images -------------------------------------------------------------------------------------
def shown_mm_per_pixel(citation: Mapping[str, Any], max_pixels: int | None) -> float | None:
    """Millimetres per pixel of an image as the model saw it (after the pixel budget)."""
    spacing = citation.get("spacing")
    width, height = citation.get("width"), citation.get("height")
    if not spacing or not width or not height:
        return None
    scale = 1.0
    if max_pixels and width * height > max_pixels:
        scale = math.sqrt(max_pixels / (width * height))
    return float(max(spacing)) / scale


def check_image_claim(
    text: str,
    ids: Sequence[str],
    evidence: Mapping[str, EvidenceRecord],
    max_pixels: int | None,
) -> tuple[str, str]:
    """A size stated from an image needs a cited view that showed it across >= 3 pixels."""
    sizes = [float(v) * (10 if u.lower() == "cm" else 1) for v, u in _SIZE.findall(text)]
    views = ", ".join(ids)
    if not sizes:
        derived = [i for i in ids if evidence[i]["citation"].get("parent")]
        seen = f"the view {', '.join(derived)}" if derived else f"the image {views}"
        return "checked", f"cites {seen} it was seen in"
    smallest = min(sizes)
    per_pixel = [
        (i, p)
        for i in ids
        if (p := shown_mm_per_pixel(evidence[i]["citation"], max_pixels)) is not None
    ]
    if not per_pixel:
        return "unchecked", f"{views} has no pixel spacing to measure {smallest:g} mm against"
    best_id, best = min(per_pixel, key=lambda p: p[1])
    if smallest / best >= 3:
        return (
            "checked",
            f"{smallest:g} mm spans {smallest / best:.0f} pixels in {best_id} as shown",
        )
    return "mismatch", (
        f"{smallest:g} mm is under 3 pixels in {best_id} as the model saw it "
        f"({best:.2f} mm per pixel); zoom into the region and cite the view"
    )


# --- a whole answer ---------------------------------------------------------------------------
ClaimPath = tuple[str, ...]


def claims_of(differential: Mapping[str, Any]) -> Iterator[tuple[ClaimPath, str, list[str]]]:
    """(path, text, cited ids) of every finding and next step of a differential dict."""
    for n, finding in enumerate(differential.get("red_flags") or []):
        yield (
            ("red_flags", str(n)),
            str(finding.get("text", "")),
            list(finding.get("evidence") or []),
        )
    for d, dx in enumerate(differential.get("diagnoses") or []):
        for group in ("supporting", "against"):
            for n, finding in enumerate(dx.get(group) or []):
                path = ("diagnoses", str(d), group, str(n))
                yield path, str(finding.get("text", "")), list(finding.get("evidence") or [])
        for n, step in enumerate(dx.get("next_steps") or []):
            text = " ".join(str(step.get(k) or "") for k in ("action", "why")).strip()
            path = ("diagnoses", str(d), "next_steps", str(n))
            yield path, text, list(step.get("evidence") or [])


def prose_claims(text: str) -> list[tuple[str, list[str]]]:
    """Cited sentences of a prose answer or report: (sentence, ids)."""
    out = []
    for sentence in _SENTENCE.split(text):
        ids = cited_ids(sentence)
        if ids:
            out.append((sentence.strip(), ids))
    return out


def annotate(
    differential: dict[str, Any], checks: Mapping[ClaimPath, ClaimVerdict]
) -> dict[str, Any]:
    """A copy of the differential dict with ``check`` beside every claim that was checked."""
    out = {**differential}
    out["red_flags"] = [dict(f) for f in differential.get("red_flags") or []]
    out["diagnoses"] = []
    for dx in differential.get("diagnoses") or []:
        copy = {**dx}
        for group in ("supporting", "against", "next_steps"):
            copy[group] = [dict(item) for item in dx.get(group) or []]
        out["diagnoses"].append(copy)
    for path, verdict in checks.items():
        node: Any = out
        for part in path:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node["check"] = verdict.as_check()
    return out


def count_claims(answer: Mapping[str, Any]) -> dict[str, int]:
    """``{"checked": n, "unchecked": n, "mismatch": n}`` over the differential and statements."""
    counts = dict.fromkeys(STATUSES, 0)
    items: list[Mapping[str, Any]] = []
    dx = answer.get("differential") or {}
    items.extend(dx.get("red_flags") or [])
    for diagnosis in dx.get("diagnoses") or []:
        for group in ("supporting", "against", "next_steps"):
            items.extend(diagnosis.get(group) or [])
    items.extend(answer.get("statements") or [])
    for item in items:
        status = (item.get("check") or {}).get("status")
        if status in counts:
            counts[status] += 1
    return counts


Checker = Callable[[str, Sequence[str]], ClaimVerdict]
