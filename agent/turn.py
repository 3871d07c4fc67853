"""What one turn gives back: its :class:`TurnResult` (the one answer record) and the
events a streamed turn yields on the way (tool calls, tool results, tokens).

The answer comes from the respond node's update in the stream (no second read of the
session's state); every face renders that one record.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, ToolMessage

from agent.answer import Answer
from agent.questions import pending_question
from agent.report import to_html, to_markdown

__all__ = ["Collected", "TurnResult", "events"]


@dataclass
class TurnResult:
    """What one turn returns to a face (CLI, server, notebook): its one answer record.

    ``answer`` is the record the respond node stored (plain data); ``final`` is the same
    record as an :class:`~agent.answer.Answer`; ``gathered`` the evidence records this turn
    added (as the stream carried them: a client may cite them next turn)."""

    session_id: str
    answer: dict[str, Any]
    gathered: dict[str, Any] = field(default_factory=dict)
    final: Answer = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.final = Answer.from_record(self.answer)
        self.answer = self.final.record()

    @classmethod
    def of(
        cls,
        session_id: str,
        answer: Answer | Mapping[str, Any] | None,
        gathered: Mapping[str, Any] | None = None,
    ) -> TurnResult:
        record = Answer.from_record(answer).record()
        return cls(session_id=session_id, answer=record, gathered=dict(gathered or {}))

    @property
    def evidence(self) -> dict[str, Any]:
        """The evidence this turn gathered and the evidence its answer refers to (references,
        images it looked at); the session's whole evidence is ``Lingshu.state(sid)["evidence"]``."""
        return {**self.gathered, **self.final.evidence}

    @property
    def question(self) -> dict[str, str] | None:
        """The question the turn stopped at (``{"question", "why"}``), or None: the session
        waits for its answer, which the next text sent to the session gives."""
        asked = self.answer.get("question")
        return dict(asked) if isinstance(asked, dict) else None

    @property
    def usage(self) -> dict[str, int]:
        """The model's token counts for this turn, summed over its calls (empty: none reported)."""
        return self.final.usage

    @property
    def text(self) -> str:
        """The answer as text: the whole rendered answer for a differential, else the prose."""
        if self.final.differential:
            return self.markdown()
        return self.final.text

    def markdown(self) -> str:
        """The answer as Markdown, exactly as the CLI and the Markdown report render it."""
        return to_markdown(self.final)

    def html(self, image_root: str | None = None) -> str:
        """The answer as one self-contained HTML report, as ``--report x.html`` writes it."""
        return to_html(self.final, image_root=image_root)

    def to_json(self) -> dict[str, Any]:
        """The answer record with the session id and the evidence it refers to (``usage``
        only when the model reported it)."""
        out = {"session_id": self.session_id, **self.answer, "evidence": self.evidence}
        if not out.get("usage"):
            out.pop("usage", None)
        return out

    def event(self) -> dict[str, Any]:
        """The final stream event as plain data (what SSE and ``--json`` carry)."""
        return {"type": "answer", **self.to_json()}


class Collected:
    """What a turn's "updates" stream carries for its result: the respond node's answer
    record and the evidence records the nodes added (no read of the state)."""

    def __init__(self) -> None:
        self.answer: Mapping[str, Any] | None = None
        self.gathered: dict[str, Any] = {}
        self.question: dict[str, str] | None = None
        """The question the turn stopped at (an interrupt of the ask node), or None."""

    def add(self, update: Any) -> None:
        """Take one "updates" chunk (``{node: values}``)."""
        if isinstance(update, dict) and update.get("__interrupt__"):
            self.question = pending_question(update["__interrupt__"]) or self.question
        for values in (update or {}).values() if isinstance(update, dict) else ():
            if not isinstance(values, dict):
                continue
            if values.get("answer"):
                self.answer = values["answer"]
            if isinstance(values.get("evidence"), dict):
                self.gathered.update(values["evidence"])


def events(mode_name: str, data: Any) -> Iterator[dict[str, Any]]:
    if mode_name == "messages":
        chunk, meta = data
        node = meta.get("langgraph_node")
        if isinstance(chunk, AIMessageChunk) and node == "reason" and chunk.text:
            yield {"type": "token", "text": chunk.text}
        return
    asked = pending_question(data.get("__interrupt__") or ()) if isinstance(data, dict) else None
    if asked is not None:  # the turn stops at a question to the clinician
        yield {"type": "question", **asked}
    for node, update in (data or {}).items():
        for msg in (update or {}).get("messages", []) if isinstance(update, dict) else []:
            if node == "reason" and isinstance(msg, AIMessage) and msg.tool_calls:
                for call in msg.tool_calls:
                    yield {"type": "tool_call", "name": call["name"], "args": call["args"]}
            elif node == "act" and isinstance(msg, ToolMessage):
                yield {
                    "type": "tool_result",
                    "name": msg.name,
                    "status": msg.status,
                    "text": msg.text[:500],
                }
        if isinstance(update, dict) and node == "reason" and update.get("model_error"):
            yield {"type": "model_unavailable", "reason": update["model_error"]}
