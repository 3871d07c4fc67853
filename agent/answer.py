"""Assembling the turn's answer record, and telling prose from token soup."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from agent.citations import cited_ids
from agent.claims import count_claims
from agent.state import ConsultState
from tools.evidence import EvidenceRecord

DISCLAIMERS = {
    "clinical": (
        "Decision support for clinicians, not a medical device: it supports, and does not "
        "replace, clinical judgement."
    ),
    "education": (
        "For teaching with cited guideline passages (RAG-augmented education), not for "
        "patient care."
    ),
    "report": (
        "A draft for a qualified reader to check against the images; not a finalised report "
        "and not a medical device."
    ),
}

_WORD = re.compile(r"[^\W\d_]{2,}")
_CITATION = re.compile(r"\[[GEI]\d+(?:\s*[,;]\s*[GEI]?\d+)*\]")
_NEUTRAL = re.compile(r"[\W\d_]+")
_SPECIAL = re.compile(r"<\|[a-z_]+\|>|</?tool_call>|</?tool_response>")


def looks_like_text(text: str) -> bool:
    """True for prose a person can read; False for empty output or token soup."""
    stripped = text.strip()
    if not stripped or _SPECIAL.search(stripped):
        return False
    # Citations, numbers and punctuation say nothing either way.
    tokens = [t for t in _CITATION.sub(" ", stripped).split() if not _NEUTRAL.fullmatch(t)]
    if not tokens:
        return False
    wordlike = sum(1 for t in tokens if _WORD.search(t))
    letters = sum(ch.isalpha() for ch in stripped)
    visible = sum(not ch.isspace() for ch in stripped)
    return wordlike / len(tokens) >= 0.5 and letters / max(1, visible) >= 0.4


def build_answer(
    state: ConsultState,
    text: str,
    *,
    produced_by: str,
    extra: Mapping[str, EvidenceRecord] | None = None,
    checked: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The answer of a turn as plain data (checkpointed, returned by every face)."""
    evidence = {**(state.get("evidence") or {}), **(extra or {})}
    checked = checked or {}
    warnings = list(state.get("notes") or [])
    if produced_by == "none":
        warnings.insert(0, "the model produced no usable answer this turn")
    differential = checked.get("differential")
    red_flags = list(state.get("red_flags") or [])
    ids = list(
        dict.fromkeys(
            [
                *(i for flag in red_flags for i in flag.get("evidence", [])),
                *_differential_ids(differential),
                *cited_ids(text),
            ]
        )
    )
    mode = state.get("mode", "clinical")
    statements = list(checked.get("statements") or [])
    answer = {
        "text": text.strip(),
        "produced_by": produced_by,
        "mode": mode,
        "turn": state.get("turn", 0),
        "differential": differential,
        "red_flags": red_flags,
        "code_checks": dict(checked.get("code_checks") or {}),
        "citations": ids,
        "references": [evidence[i] for i in ids if i in evidence],
        # image views the session looked at but the answer does not cite (reports outline them)
        "inspected_images": [
            r for r in evidence.values() if r.get("kind") == "image" and r["id"] not in ids
        ],
        "unknown_citations": [i for i in ids if i not in evidence],
        "warnings": warnings,
        "model_error": state.get("model_error"),
        "disclaimer": DISCLAIMERS.get(mode, DISCLAIMERS["clinical"]),
        "statements": statements,
    }
    answer["claim_counts"] = count_claims(answer)
    return answer


def _differential_ids(differential: Mapping[str, Any] | None) -> list[str]:
    if not differential:
        return []
    ids: list[str] = []
    for finding in differential.get("red_flags", []):
        ids.extend(finding.get("evidence", []))
    for dx in differential.get("diagnoses", []):
        for group in ("supporting", "against", "next_steps"):
            for item in dx.get(group, []):
                ids.extend(item.get("evidence", []))
    return ids
