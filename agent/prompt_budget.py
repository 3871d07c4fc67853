"""Fitting a session's history into the prompt budget, images first.

The prompt and the reply share the context (``prompt_budget_tokens``, at most Lingshu's
8,192): the history gets what the system prompt and ``max_new_tokens`` leave. Images
are counted as the Qwen2.5-VL processor counts them (:mod:`agent.models.qwen_tokens`),
text at 4 characters a token. When the prompt does not fit, the least useful part goes
first, oldest first within each step:

1. images of earlier turns: each becomes a one-line reference to its id and what it
   shows (the answers that discussed it stay, and so do its citations);
2. the tool calls and results of earlier turns (their questions and answers stay);
3. whole earlier turns;
4. images of this turn beyond the newest one.

A prompt never carries more images than ``max_images`` (vLLM's
``--limit-mm-per-prompt``): older ones become references the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agent.models.protocol import IdentityMemo
from agent.models.qwen_tokens import full_image_tokens, image_tokens_at
from agent.state import TOOL_IMAGES
from knowledge.imaging import fit_pixels
from knowledge.untrusted import untrusted
from tools.evidence import EvidenceRecord

CHARS_PER_TOKEN = 4


@dataclass
class Fitted:
    """The history that fits, and what was left out to fit it."""

    history: list[BaseMessage]
    referenced: list[str] = field(default_factory=list)
    """Image ids sent as one-line references instead of pixels."""
    exchanges: int = 0
    """Earlier turns whose tool calls and results were left out."""
    turns: int = 0
    """Earlier turns left out whole."""

    def notes(self) -> list[str]:
        notes = []
        if self.referenced:
            ids = ", ".join(self.referenced)
            notes.append(f"image(s) {ids} sent as references, not pixels, to fit the prompt budget")
        if self.exchanges:
            notes.append(
                f"tool results of {self.exchanges} earlier turn(s) left out of the prompt "
                "to fit its budget"
            )
        if self.turns:
            notes.append(f"{self.turns} earlier turn(s) left out of the prompt to fit its budget")
        return notes


def image_tokens(record: EvidenceRecord, min_pixels: int, max_pixels: int) -> int:
    """Tokens of an image evidence record in the prompt: sent at ``fit_pixels``'s size,
    counted as the processor does (the whole budget when its size is unknown)."""
    citation = record["citation"]
    w, h = int(citation.get("width", 0) or 0), int(citation.get("height", 0) or 0)
    if not w or not h:
        return full_image_tokens(max_pixels)
    fw, fh = fit_pixels(w, h, min_pixels, max_pixels)
    return image_tokens_at(fw, fh, min_pixels, max_pixels)


def text_tokens(msg: BaseMessage) -> int:
    """Tokens of a message's text (and of native tool-call arguments), estimated.
    An assistant or tool message's count is remembered for the turn's later rounds."""
    if isinstance(msg, AIMessage | ToolMessage):
        counted: int = _counted(msg)
        return counted
    return _text_tokens(msg)


def _text_tokens(msg: BaseMessage) -> int:
    calls = 0
    if isinstance(msg, AIMessage) and msg.tool_calls and "<tool_call>" not in msg.text:
        calls = sum(len(str(c["args"])) // CHARS_PER_TOKEN + 16 for c in msg.tool_calls)
    return len(msg.text) // CHARS_PER_TOKEN + 4 + calls


_counted = IdentityMemo(_text_tokens)


@dataclass
class _Budget:
    evidence: Mapping[str, EvidenceRecord]
    min_pixels: int
    max_pixels: int

    known: dict[int, tuple[BaseMessage, int]] = field(default_factory=dict)
    """Cost of each message seen in this call, by identity (a message is never changed
    in place: one that loses its images is a new message)."""

    def cost(self, msg: BaseMessage) -> int:
        if isinstance(msg, AIMessage | ToolMessage):  # no images: its text, counted once
            counted: int = _counted(msg)
            return counted
        seen = self.known.get(id(msg))
        if seen is not None and seen[0] is msg:
            return seen[1]
        cost = _text_tokens(msg) + sum(
            image_tokens(self.evidence[i], self.min_pixels, self.max_pixels)
            for i in _image_ids(msg)
            if i in self.evidence
        )
        self.known[id(msg)] = (msg, cost)
        return cost

    def total(self, history: Sequence[BaseMessage]) -> int:
        cost = self.cost
        return sum([cost(m) for m in history])


def fit_history(
    history: Sequence[BaseMessage],
    *,
    budget: int,
    evidence: Mapping[str, EvidenceRecord],
    min_pixels: int,
    max_pixels: int,
    max_images: int,
) -> Fitted:
    """``history`` cut to ``budget`` tokens and ``max_images`` images (see the module)."""
    fitted = Fitted(list(history))
    price = _Budget(evidence, min_pixels, max_pixels)

    def over() -> bool:
        return price.total(fitted.history) > budget

    def too_many() -> bool:
        return _image_count(fitted.history) > max_images

    if not over() and not too_many():  # the usual case: everything fits
        return fitted
    earlier_images = [
        i for i in range(_current_turn(fitted.history)) if _image_ids(fitted.history[i])
    ]
    for i in earlier_images:  # 1. earlier images
        if not over() and not too_many():
            break
        _reference(fitted, i, evidence)
    turn = 0
    while over() and turn < len(earlier := _earlier_turns(fitted.history)):  # 2. exchanges
        start, end = earlier[turn]
        kept = [m for m in fitted.history[start:end] if not _exchange(m)]
        if len(kept) < end - start:
            fitted.history[start:end] = kept
            fitted.exchanges += 1
        turn += 1
    while over() and _current_turn(fitted.history) > 0:  # 3. whole earlier turns
        fitted.history = fitted.history[_turn_starts(fitted.history)[1] :]
        fitted.turns += 1
    holders = [i for i, m in enumerate(fitted.history) if _image_ids(m)]
    for i in holders[:-1]:  # 4. this turn's images, oldest first, but the newest
        if not over() and not too_many():
            break
        _reference(fitted, i, evidence)
    if holders and too_many():  # the newest message alone holds too many
        _reference(fitted, holders[-1], evidence, keep=max_images)
    return fitted


def _image_ids(msg: BaseMessage) -> list[str]:
    if not isinstance(msg, HumanMessage):
        return []
    return list(msg.additional_kwargs.get("image_ids") or [])


def _image_count(history: Sequence[BaseMessage]) -> int:
    return sum([len(_image_ids(m)) for m in history if isinstance(m, HumanMessage)])


def _reference(
    fitted: Fitted, index: int, evidence: Mapping[str, EvidenceRecord], keep: int = 0
) -> None:
    """Replace the images of message ``index`` (all but its last ``keep``) with one line
    each: the id and what the image shows."""
    msg = fitted.history[index]
    ids = _image_ids(msg)
    gone, kept = (ids[:-keep], ids[-keep:]) if keep else (ids, [])
    if not gone:
        return
    lines = [_reference_line(i, evidence.get(i)) for i in gone]
    kwargs = {k: v for k, v in msg.additional_kwargs.items() if k != "image_ids"}
    if kept:
        kwargs["image_ids"] = kept
    text = "\n".join([*lines, msg.text]) if msg.text else "\n".join(lines)
    fitted.history[index] = HumanMessage(content=text, id=msg.id, additional_kwargs=kwargs)
    fitted.referenced.extend(i for i in gone if i not in fitted.referenced)


def _reference_line(eid: str, record: EvidenceRecord | None) -> str:
    if record is None:
        return f"[{eid}] (an image shown earlier, left out of this prompt)"
    seen = untrusted(f"{record['label']}; {record.get('excerpt') or ''}".strip("; "), limit=200)
    return f"[{eid}] (shown earlier, left out of this prompt to fit its budget): {seen}"


def _exchange(msg: BaseMessage) -> bool:
    """A tool call, a tool result, or the images the tools produced."""
    if isinstance(msg, AIMessage) and msg.tool_calls:
        return True
    if isinstance(msg, ToolMessage):
        return True
    return isinstance(msg, HumanMessage) and msg.additional_kwargs.get("lingshu") == TOOL_IMAGES


def _is_question(msg: BaseMessage) -> bool:
    return isinstance(msg, HumanMessage) and msg.additional_kwargs.get("lingshu") is None


def _turn_starts(history: Sequence[BaseMessage]) -> list[int]:
    return [i for i, m in enumerate(history) if _is_question(m)]


def _current_turn(history: Sequence[BaseMessage]) -> int:
    """Index of the question that opens the current (last) turn; 0 when there is none."""
    starts = _turn_starts(history)
    return starts[-1] if starts else 0


def _earlier_turns(history: Sequence[BaseMessage]) -> list[tuple[int, int]]:
    """(start, end) of every turn before the current one."""
    starts = _turn_starts(history)
    return list(pairwise(starts))
