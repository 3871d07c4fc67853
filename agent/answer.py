"""The turn's one answer record (:class:`Answer`), and telling prose from token soup.

The respond node builds the Answer once (:func:`build_answer`) and stores its plain-data
``record()`` in the state (checkpoints hold plain data); every face (the Python API, the
CLI, the service, the reports) reads it back with :meth:`Answer.from_record` and needs
nothing else of the session: the cited evidence is resolved into ``references``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agent.claims import count_claims
from agent.panel.costs import session_costs
from agent.state import ConsultState
from tools.evidence import CITATION_GROUP, EvidenceRecord, cited_ids, collect_ids

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
    "sequential": (
        "Sequential diagnosis for demonstration and education, not clinical use: the ranked "
        "differential, the proposed next action and its cost support, and do not replace, "
        "clinical judgement."
    ),
}

_WORD = re.compile(r"[^\W\d_]{2,}")
_NEUTRAL = re.compile(r"[\W\d_]+")
_SPECIAL = re.compile(r"<\|[a-z_]+\|>|</?tool_call>|</?tool_response>")


def looks_like_text(text: str) -> bool:
    """True for prose a person can read; False for empty output or token soup."""
    stripped = text.strip()
    if not stripped or _SPECIAL.search(stripped):
        return False
    # Citations, numbers and punctuation say nothing either way.
    tokens = [t for t in CITATION_GROUP.sub(" ", stripped).split() if not _NEUTRAL.fullmatch(t)]
    if not tokens:
        return False
    wordlike = sum(1 for t in tokens if _WORD.search(t))
    letters = sum(ch.isalpha() for ch in stripped)
    visible = sum(not ch.isspace() for ch in stripped)
    return wordlike / len(tokens) >= 0.5 and letters / max(1, visible) >= 0.4


class Answer(BaseModel):
    """The answer of one turn: what every face renders (plain data inside, no session needed).

    Keys a newer writer adds are kept (``extra="allow"``), so an older reader loses nothing.
    """

    model_config = ConfigDict(extra="allow")

    text: str = ""
    produced_by: str = "none"
    """``model``, ``evidence_brief`` (no model answered) or ``none`` (no usable reply)."""
    mode: str = "clinical"
    turn: int = 0
    differential: dict[str, Any] | None = None
    """The verified differential (its findings may carry a ``check``), or None."""
    red_flags: list[dict[str, Any]] = Field(default_factory=list)
    code_checks: dict[str, Any] = Field(default_factory=dict)
    citations: list[str] = Field(default_factory=list)
    """Every id the answer cites (red flags, differential, prose), in order, once."""
    references: list[dict[str, Any]] = Field(default_factory=list)
    """The cited ids that exist, each resolved to its evidence record, in citation order."""
    inspected_images: list[dict[str, Any]] = Field(default_factory=list)
    """Image views the session looked at but the answer does not cite (reports outline them)."""
    unknown_citations: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    model_error: str | None = None
    disclaimer: str = ""
    statements: list[dict[str, Any]] = Field(default_factory=list)
    claim_counts: dict[str, int] = Field(default_factory=dict)
    usage: dict[str, int] = Field(default_factory=dict)
    """The model's token counts over this turn's calls (empty: none reported)."""
    # --- sequential mode (agent/panel): empty in the other modes ---------------------
    hypotheses: list[dict[str, Any]] = Field(default_factory=list)
    """The session's ranked differential, kept across turns, each with its history."""
    next_action: dict[str, Any] | None = None
    """The single next action proposed this turn: kind, action, code, price, source, bits."""
    costs: dict[str, Any] | None = None
    """The session's tests: spent so far, the proposed next one, the total with it."""
    panel: dict[str, Any] = Field(default_factory=dict)
    """This turn's output of each panel role (keeper, chooser, challenger, ...)."""

    def record(self) -> dict[str, Any]:
        """The answer as plain data: what the state stores and JSON carries."""
        return self.model_dump()

    @classmethod
    def from_record(cls, record: Answer | Mapping[str, Any] | None) -> Answer:
        """The Answer of a stored record (an Answer is returned as it is)."""
        if isinstance(record, Answer):
            return record
        return cls.model_validate(dict(record or {}))

    @property
    def evidence(self) -> dict[str, dict[str, Any]]:
        """The evidence this answer refers to: its references and the images it looked at."""
        return {str(r["id"]): r for r in (*self.references, *self.inspected_images)}

    def all_cited_ids(self) -> list[str]:
        """Every id cited anywhere (prose, differential, red flags), unknown ones included."""
        seen = dict.fromkeys(self.citations)
        seen.update(dict.fromkeys(cited_ids(self.text)))
        seen.update(dict.fromkeys(collect_ids([self.red_flags, self.differential])))
        seen.update(dict.fromkeys(self.unknown_citations))
        return list(seen)


def build_answer(
    state: ConsultState,
    text: str,
    *,
    produced_by: str,
    extra: Mapping[str, EvidenceRecord] | None = None,
    checked: Mapping[str, Any] | None = None,
) -> Answer:
    """The answer of a turn, built once in the respond node from the state."""
    evidence: dict[str, Any] = {**(state.get("evidence") or {}), **(extra or {})}
    checked = checked or {}
    warnings = list(state.get("notes") or [])
    if produced_by == "none":
        warnings.insert(0, "the model produced no usable answer this turn")
    differential = checked.get("differential")
    red_flags = list(state.get("red_flags") or [])
    ids = collect_ids([red_flags, differential])
    ids.extend(i for i in cited_ids(text) if i not in ids)
    mode = state.get("mode", "clinical")
    answer = Answer(
        text=text.strip(),
        produced_by=produced_by,
        mode=mode,
        turn=state.get("turn", 0),
        differential=differential,
        red_flags=red_flags,
        code_checks=dict(checked.get("code_checks") or {}),
        citations=ids,
        references=[evidence[i] for i in ids if i in evidence],
        inspected_images=[
            r for r in evidence.values() if r.get("kind") == "image" and r["id"] not in ids
        ],
        unknown_citations=[i for i in ids if i not in evidence],
        warnings=warnings,
        model_error=state.get("model_error"),
        disclaimer=DISCLAIMERS.get(mode, DISCLAIMERS["clinical"]),
        statements=list(checked.get("statements") or []),
        usage=turn_usage(state),
        **panel_fields(state),
    )
    answer.claim_counts = count_claims(answer.record())
    return answer


def panel_fields(state: Mapping[str, Any]) -> dict[str, Any]:
    """The sequential panel's part of the answer (nothing in the other modes).

    A turn the panel did not run (no model answered) keeps the ranked differential but
    proposes nothing: the next action of a former turn is not proposed again.
    """
    if state.get("mode") != "sequential":
        return {}
    turn = state.get("turn", 0)
    panel = dict(state.get("panel") or {})
    ran = panel.get("turn") == turn
    current = {**state, "next_action": state.get("next_action") if ran else None}
    return {
        "hypotheses": list(state.get("hypotheses") or []),
        "next_action": current["next_action"],
        "costs": session_costs(current),
        "panel": panel if ran else {},
    }


def turn_usage(values: Mapping[str, Any]) -> dict[str, int]:
    """The model's token counts over the turn's calls, as the server reported them
    (read from the turn's audit entries of its model calls; empty when none reported)."""
    turn = values.get("turn")
    prompt = completion = 0
    seen = False
    for entry in values.get("audit") or []:
        if entry.get("tool") != "model" or entry.get("turn") != turn:
            continue
        args = entry.get("args") or {}
        if "input_tokens" in args or "output_tokens" in args:
            seen = True
            prompt += int(args.get("input_tokens") or 0)
            completion += int(args.get("output_tokens") or 0)
    if not seen:
        return {}
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
