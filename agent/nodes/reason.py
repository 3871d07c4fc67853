"""reason: ask the model; keep its reply, its valid tool calls, or a repair request."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.tools import BaseTool
from langgraph.types import Command

import prompts
from agent.acting import model_audit
from agent.deps import Deps
from agent.differential import SUBMIT_DIFFERENTIAL
from agent.models.calling import ModelCallFailed, acall_model, call_model, reply_cap
from agent.models.protocol import parse_reply
from agent.nodes.common import repair, routed, said_this_turn
from agent.prompting import marker, model_messages
from agent.questions import ASK_CLINICIAN, ASKED, QUESTION
from agent.state import BUDGET, REJECTED, REPAIR, ConsultState

AfterReason = Literal["act", "reason", "verify", "respond", "ask"]


@dataclass
class Ask:
    """What ``reason`` sends the model, and what it needs to read the reply."""

    added: list[BaseMessage]
    messages: list[BaseMessage]
    notes: list[str]
    offered: list[BaseTool]
    answering: list[BaseTool]
    native: list[BaseTool]
    spent: bool
    limits: dict[str, Any]
    """The call's bounds: the turn's deadline (monotonic clock) and the reply cap."""
    started: float = field(default_factory=time.perf_counter)
    """When the model call began (made just before it), for the audit trail."""


def reason(state: ConsultState, deps: Deps) -> Command[AfterReason]:
    """Ask the model; keep its reply, its valid tool calls, or a repair request."""
    ask = prepare(state, deps)
    try:
        reply: AIMessage | ModelCallFailed = call_model(
            deps.model, ask.messages, ask.native, offered=ask.offered, **ask.limits
        )
    except ModelCallFailed as exc:
        reply = exc
    return routed(state, answered(state, deps, ask, reply), after_reason)


async def areason(state: ConsultState, deps: Deps) -> Command[AfterReason]:
    """``reason`` on the event loop: the model call is awaited, not given a thread."""
    evidence = (state.get("evidence") or {}).values()
    if deps.split is None and any(r["kind"] == "image" for r in evidence):
        ask = await asyncio.to_thread(prepare, state, deps)  # decodes and encodes images
    else:
        ask = prepare(state, deps)
    try:
        reply: AIMessage | ModelCallFailed = await acall_model(
            deps.model, ask.messages, ask.native, offered=ask.offered, **ask.limits
        )
    except ModelCallFailed as exc:
        reply = exc
    return routed(state, answered(state, deps, ask, reply), after_reason)


def after_reason(state: ConsultState) -> AfterReason:
    """Tool calls go to act, a repair back to reason, a reply to verify, a failure to respond."""
    if state.get("model_error"):
        return "respond"
    last = state["messages"][-1]
    if isinstance(last, AIMessage) and last.tool_calls:
        return "act"
    if isinstance(last, AIMessage) and marker(last) == QUESTION:
        return "ask"  # a question to the clinician (agent/nodes/ask.py)
    if marker(last) == REPAIR and isinstance(last, HumanMessage):
        return "reason"
    if isinstance(last, AIMessage) and marker(last) is None:
        return "verify"
    return "respond"


def prepare(state: ConsultState, deps: Deps) -> Ask:
    """The messages, tools and bounds of this model call."""
    s = deps.settings
    offered = deps.offered(state)
    added: list[BaseMessage] = []
    spent = state.get("rounds", 0) >= s.max_tool_rounds
    if spent and offered and not said_this_turn(state, BUDGET):
        text = prompts.render("budget", rounds=state.get("rounds", 0))
        added.append(HumanMessage(content=text, additional_kwargs={"lingshu": BUDGET}))
    answering = deps.answer_tools(state)
    # prompted calling: the question tool is listed with the evidence tools it sits beside
    shown = [*offered, *(t for t in answering if t is ASK_CLINICIAN)] if offered else offered
    system = deps.system(state["mode"], shown, state.get("synopsis"))
    msgs, dropped = model_messages(
        system=system,
        messages=[*state["messages"], *added],
        turn_start=state["turn_start"],
        evidence=state.get("evidence") or {},
        tool_calling=s.tool_calling,
        image_url=deps.image_url,
        budget_tokens=s.prompt_budget_tokens,
        min_pixels=s.min_pixels,
        max_pixels=s.max_pixels,
        max_new_tokens=s.max_new_tokens,
    )
    msgs = deps.for_model(msgs)  # split mode: the planner is sent no image parts
    notes = list(state.get("notes") or [])
    notes.extend(n for n in dropped.notes() if n not in notes)
    native = [*offered, *answering] if s.tool_calling == "native" else []
    limits = {
        "deadline": _monotonic(state.get("deadline")),
        "max_reply_chars": reply_cap(s.max_new_tokens),
    }
    return Ask(added, msgs, notes, offered, answering, native, spent, limits)


def _monotonic(deadline: float | None) -> float | None:
    """The turn's deadline (epoch seconds, kept in the state) on the monotonic clock."""
    return None if deadline is None else time.monotonic() + (deadline - time.time())


def answered(
    state: ConsultState, deps: Deps, ask: Ask, reply: AIMessage | ModelCallFailed
) -> dict[str, Any]:
    """The update for the model's reply (or its failure), with the call's audit entry."""
    ms = (time.perf_counter() - ask.started) * 1000
    audit = [model_audit(state.get("turn", 0), ms, reply, state.get("patient_id"))]
    if isinstance(reply, ModelCallFailed):
        failed = {"model_error": str(reply), "notes": ask.notes, "audit": audit}
        return {"messages": ask.added, **failed}
    notes = ask.notes
    # A backend may say what it could not do (e.g. constrained decoding refused by the server).
    notes.extend(n for n in reply.response_metadata.get("lingshu_notes", []) if n not in notes)
    now = cast(ConsultState, {**state, "notes": notes})
    return {"messages": ask.added, "notes": notes, "audit": audit} | _take_reply(
        reply, now, deps, ask
    )


def _take_reply(reply: AIMessage, state: ConsultState, deps: Deps, ask: Ask) -> dict[str, Any]:
    parsed = parse_reply(reply, {t.name: t for t in [*ask.offered, *ask.answering]})
    repairs, notes = state.get("repairs", 0), list(state.get("notes") or [])
    submitted = next((c for c in parsed.calls if c["name"] == SUBMIT_DIFFERENTIAL.name), None)
    if submitted is not None:  # the structured answer, sent as a tool call
        final = AIMessage(
            content=parsed.text, id=reply.id, additional_kwargs={"submitted": submitted["args"]}
        )
        return {"messages": [final]}
    asked = next((c for c in parsed.calls if c["name"] == ASK_CLINICIAN.name), None)
    if asked is not None:  # a question to the clinician: the ask node puts it or sends it back
        question = str(asked["args"].get("question") or "").strip()
        kwargs = {"lingshu": QUESTION, ASKED: asked["args"]}
        return {"messages": [AIMessage(content=question, id=reply.id, additional_kwargs=kwargs)]}
    if not parsed.attempted_calls:
        return {"messages": [AIMessage(content=parsed.text, id=reply.id)]}
    if ask.spent:
        notes.append(
            f"the tool budget ({deps.settings.max_tool_rounds} rounds) was spent; "
            "further tool calls were not run"
        )
        return {"messages": [AIMessage(content=parsed.text, id=reply.id)], "notes": notes}
    if parsed.calls:
        kept = AIMessage(content=reply.text, tool_calls=parsed.calls, id=reply.id)
        return {
            "messages": [kept],
            "rejected": parsed.problems,
            "repairs": repairs + 1 * bool(parsed.problems),
        }
    bad = AIMessage(content=reply.text, id=reply.id, additional_kwargs={"lingshu": REJECTED})
    if repairs < deps.settings.max_repairs:
        return {
            "messages": [bad, repair(parsed.problems, state, ask.offered)],
            "repairs": repairs + 1,
        }
    notes.append("the model's tool calls could not be used: " + "; ".join(parsed.problems))
    return {"messages": [bad], "notes": notes}
