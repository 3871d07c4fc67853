"""Checking a final reply and assembling the turn's answer record."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from agent.citations import cited_ids, references, unknown_citations
from agent.state import ConsultState
from tools.runtime import EvidenceRecord

DISCLAIMER = (
    "Decision support for clinicians, not a medical device: it supports, not replaces, "
    "clinical judgement."
)

_WORD = re.compile(r"[^\W\d_]{2,}")
_SPECIAL = re.compile(r"<\|[a-z_]+\|>|</?tool_call>|</?tool_response>")


def looks_like_text(text: str) -> bool:
    """True for prose a person can read; False for empty output or token soup."""
    stripped = text.strip()
    if not stripped or _SPECIAL.search(stripped):
        return False
    tokens = stripped.split()
    wordlike = sum(1 for t in tokens if _WORD.search(t))
    letters = sum(ch.isalpha() for ch in stripped)
    visible = sum(not ch.isspace() for ch in stripped)
    return wordlike / len(tokens) >= 0.5 and letters / max(1, visible) >= 0.5


def check_reply(text: str, evidence: Mapping[str, EvidenceRecord]) -> list[str]:
    """Problems with a final reply, each worded so the model can fix it."""
    if not text.strip():
        return ["your reply was empty; answer the clinician's question"]
    if not looks_like_text(text):
        return [
            "your reply is not readable text (it looks like broken output or leftover "
            "markup); answer in plain sentences"
        ]
    return unknown_citations(text, evidence)


def build_answer(
    state: ConsultState,
    text: str,
    *,
    produced_by: str,
    extra: Mapping[str, EvidenceRecord] | None = None,
) -> dict[str, Any]:
    """The answer of a turn as plain data (checkpointed, returned by every face)."""
    evidence = {**(state.get("evidence") or {}), **(extra or {})}
    warnings = list(state.get("notes") or [])
    if produced_by == "none":
        warnings.insert(0, "the model produced no usable answer this turn")
    return {
        "text": text.strip(),
        "produced_by": produced_by,
        "mode": state.get("mode", "clinical"),
        "turn": state.get("turn", 0),
        "citations": cited_ids(text),
        "references": references(text, evidence),
        "unknown_citations": [i for i in cited_ids(text) if i not in evidence],
        "warnings": warnings,
        "model_error": state.get("model_error"),
        "disclaimer": DISCLAIMER,
    }
