"""ask: put the model's one focused question to the clinician, or send it back.

Reached when the model's reply called ``ask_clinician``, or from verify with the program's
question when nothing supports the leading diagnosis (``questions.verifier_question``, checked
there against the bound, the record and the images). The question is sent back to
the model (a repair-style message) when the turn's questions are spent, when the
patient's record already answers it, or when it asks what an image of the session
shows. Otherwise the turn stops at ``langgraph.types.interrupt``: the session is
checkpointed at the question, and the clinician's answer resumes it (``Command(resume=
text)``). LangGraph re-runs this node from its start on resume, so everything before the
interrupt is deterministic and writes nothing (record reads only).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.types import Command, interrupt

from agent.deps import Deps
from agent.nodes.common import repair
from agent.questions import (
    ASKED,
    CLINICIAN_ANSWER,
    VERIFIER,
    about_images,
    bound_reached,
    record_hits,
    refusal,
)
from agent.state import REJECTED, ConsultState
from knowledge.untrusted import protocol_safe

AfterAsk = Literal["reason", "respond"]


def ask(state: ConsultState, deps: Deps) -> Command[AfterAsk]:
    """Interrupt the turn with the model's question, or send the question back."""
    asked, problem = _checked(state, deps)
    if problem:
        return _sent_back(state, deps, problem)
    answer = interrupt(asked)
    return Command(update=_answered(state, deps, asked, answer), goto="reason")


async def aask(state: ConsultState, deps: Deps) -> Command[AfterAsk]:
    """``ask`` on an event loop: the record look-up takes a thread."""
    asked, problem = await asyncio.to_thread(_checked, state, deps)
    if problem:
        return _sent_back(state, deps, problem)
    answer = interrupt(asked)
    return Command(update=_answered(state, deps, asked, answer), goto="reason")


def answered_this_turn(state: ConsultState) -> int:
    """How many of the model's questions the clinician answered in this turn."""
    return sum(
        1
        for m in state["messages"][state["turn_start"] :]
        if isinstance(m, HumanMessage) and m.additional_kwargs.get("lingshu") == CLINICIAN_ANSWER
    )


def _checked(state: ConsultState, deps: Deps) -> tuple[dict[str, str], str | None]:
    """The question (and why), and the reason it may not be asked (None: ask it)."""
    last = state["messages"][-1]
    args = dict(last.additional_kwargs.get(ASKED) or {})
    asked = {
        "question": str(args.get("question") or last.text).strip(),
        "why": str(args.get("why") or "").strip(),
    }
    if args.get("by") == VERIFIER:  # built and checked by verify with the same checks
        return asked, None
    limit = deps.settings.max_questions_per_turn
    if limit <= 0 or answered_this_turn(state) >= limit:
        return asked, bound_reached(limit)
    hits = record_hits(asked["question"], deps.resources.ehr, state.get("patient_id"))
    images = about_images(asked["question"], state.get("evidence") or {})
    if hits or images:
        return asked, refusal(hits, images)
    return asked, None


def _sent_back(state: ConsultState, deps: Deps, problem: str) -> Command[AfterAsk]:
    """The question is not asked: the model is told why (bounded by the turn's repairs)."""
    last = state["messages"][-1]
    rejected = AIMessage(
        content=last.content,
        id=last.id,
        additional_kwargs={**last.additional_kwargs, "lingshu": REJECTED},
    )
    repairs = state.get("repairs", 0)
    if repairs < deps.settings.max_repairs:
        messages: list[BaseMessage] = [rejected, repair([problem], state, deps.offered(state))]
        return Command(update={"messages": messages, "repairs": repairs + 1}, goto="reason")
    notes = [*(state.get("notes") or []), f"the model's question was not asked: {problem}"]
    return Command(update={"messages": [rejected], "notes": notes}, goto="respond")


def _answered(
    state: ConsultState, deps: Deps, asked: dict[str, str], answer: Any
) -> dict[str, Any]:
    """The clinician's answer joins the conversation; the turn's deadline restarts."""
    text = protocol_safe(str(answer if answer is not None else "")).strip() or "(no answer)"
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    entry = {
        "time": now,
        "turn": state.get("turn", 0),
        "ms": 0.0,
        "patient_id": state.get("patient_id"),
        "resources": [],
        "status": "ok",
    }
    by = (state["messages"][-1].additional_kwargs.get(ASKED) or {}).get("by") or "model"
    audit = [
        {**entry, "tool": "ask_clinician", "args": {**asked, "by": by}},
        {**entry, "tool": "clinician_answer", "args": {"text": text}},
    ]
    reply = HumanMessage(content=text, additional_kwargs={"lingshu": CLINICIAN_ANSWER})
    return {
        "messages": [reply],
        "audit": audit,
        "deadline": time.time() + deps.settings.turn_deadline_s,
    }
