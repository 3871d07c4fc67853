"""The consultation graph: intake -> reason <-> act -> verify -> respond.

Read top to bottom: the dependencies of a graph, the five nodes, the routers, and
``build_graph``, which tests and users call with their own model, tools and
checkpointer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, TypeVar, cast, get_args

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.tools import BaseTool
from langgraph._internal._runnable import RunnableCallable  # sync + async node bodies
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Checkpointer, Command

import prompts
from agent.acting import model_audit
from agent.answer import build_answer, looks_like_text
from agent.brief import evidence_brief
from agent.checkpoints import close_orphaned_calls
from agent.citations import describe_ids
from agent.deps import Deps
from agent.differential import SUBMIT_DIFFERENTIAL
from agent.models import load_chat_model
from agent.models.calling import ModelCallFailed, acall_model, call_model, reply_cap
from agent.models.protocol import parse_reply
from agent.prompting import marker, model_messages
from agent.resources import Resources, open_resources
from agent.settings import Settings
from agent.state import BUDGET, REJECTED, REPAIR, TOOL_IMAGES, ConsultState, InputState
from knowledge.untrusted import protocol_safe
from tools.evidence import EvidenceLedger

log = logging.getLogger(__name__)


# --- nodes ------------------------------------------------------------------------------


def intake(state: ConsultState, *, deps: Deps) -> dict[str, Any]:
    """Start a turn: close orphaned calls, register images, reset budgets, load the synopsis."""
    update: dict[str, Any] = {}
    messages, rewritten = close_orphaned_calls(state["messages"])
    if rewritten is not None:
        update["messages"] = rewritten
    ledger = EvidenceLedger(state.get("evidence"))
    user = messages[-1]
    image_ids = [
        ledger.cite(
            "image",
            image["citation"]["sha256"],
            label=image["label"],
            excerpt=image["excerpt"],
            citation=image["citation"],
        )
        for image in state.get("incoming_images") or []
    ]
    if image_ids:
        tagged = HumanMessage(
            content=user.content, id=user.id, additional_kwargs={"image_ids": image_ids}
        )
        update.setdefault("messages", []).append(tagged)
    update |= {
        "turn": state.get("turn", 0) + 1,
        "turn_start": len(messages) - 1,
        "rounds": 0,
        "repairs": 0,
        "notes": [
            f"store unavailable, its tools not offered: {p}" for p in deps.resources.problems
        ],
        "rejected": [],
        "model_error": None,
        "answer": None,
        "incoming_images": [],
        "mode": state.get("mode") or deps.settings.mode,
        "deadline": time.time() + deps.settings.turn_deadline_s,
    }
    audit: list[dict[str, Any]] = []
    if state.get("patient_id") and not state.get("synopsis"):
        update["synopsis"], audit = deps.synopsis(state, ledger)
    update["red_flags"], screened = deps.red_flags(state, user.text, ledger)
    update["audit"] = [{**entry, "turn": update["turn"]} for entry in audit + screened]
    update["checked"] = {}
    update["evidence"] = ledger.new_records
    return update


@dataclass
class _Ask:
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


def _ask(state: ConsultState, deps: Deps) -> _Ask:
    s = deps.settings
    offered = deps.offered(state)
    added: list[BaseMessage] = []
    spent = state.get("rounds", 0) >= s.max_tool_rounds
    if spent and offered and not _said_this_turn(state, BUDGET):
        text = prompts.render("budget", rounds=state.get("rounds", 0))
        added.append(HumanMessage(content=text, additional_kwargs={"lingshu": BUDGET}))
    system = deps.system(state["mode"], offered, state.get("synopsis"))
    evidence = state.get("evidence") or {}
    msgs, dropped = model_messages(
        system=system,
        messages=[*state["messages"], *added],
        turn_start=state["turn_start"],
        evidence=evidence,
        tool_calling=s.tool_calling,
        image_url=deps.image_url,
        budget_tokens=s.prompt_budget_tokens,
        min_pixels=s.min_pixels,
        max_pixels=s.max_pixels,
        max_new_tokens=s.max_new_tokens,
    )
    notes = list(state.get("notes") or [])
    notes.extend(n for n in dropped.notes() if n not in notes)
    answering = deps.answer_tools(state)
    native = [*offered, *answering] if s.tool_calling == "native" else []
    limits = {
        "deadline": _monotonic(state.get("deadline")),
        "max_reply_chars": reply_cap(s.max_new_tokens),
    }
    return _Ask(added, msgs, notes, offered, answering, native, spent, limits)


def _monotonic(deadline: float | None) -> float | None:
    """The turn's deadline (epoch seconds, kept in the state) on the monotonic clock."""
    return None if deadline is None else time.monotonic() + (deadline - time.time())


def _answered(
    state: ConsultState, deps: Deps, ask: _Ask, reply: AIMessage | ModelCallFailed
) -> dict[str, Any]:
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
        reply, now, deps, ask.offered, ask.answering, ask.spent
    )


def reason(state: ConsultState, *, deps: Deps) -> Command[AfterReason]:
    """Ask the model; keep its reply, its valid tool calls, or a repair request."""
    ask = _ask(state, deps)
    try:
        reply: AIMessage | ModelCallFailed = call_model(
            deps.model, ask.messages, ask.native, offered=ask.offered, **ask.limits
        )
    except ModelCallFailed as exc:
        reply = exc
    return _routed(state, _answered(state, deps, ask, reply), after_reason)


async def areason(state: ConsultState, *, deps: Deps) -> Command[AfterReason]:
    """``reason`` on the event loop: the model call is awaited, not given a thread."""
    if any(r["kind"] == "image" for r in (state.get("evidence") or {}).values()):
        ask = await asyncio.to_thread(_ask, state, deps)  # decodes and encodes images
    else:
        ask = _ask(state, deps)
    try:
        reply: AIMessage | ModelCallFailed = await acall_model(
            deps.model, ask.messages, ask.native, offered=ask.offered, **ask.limits
        )
    except ModelCallFailed as exc:
        reply = exc
    return _routed(state, _answered(state, deps, ask, reply), after_reason)


def _take_reply(
    reply: AIMessage,
    state: ConsultState,
    deps: Deps,
    offered: list[BaseTool],
    answering: list[BaseTool],
    spent: bool,
) -> dict[str, Any]:
    parsed = parse_reply(reply, {t.name: t for t in [*offered, *answering]})
    repairs, notes = state.get("repairs", 0), list(state.get("notes") or [])
    submitted = next((c for c in parsed.calls if c["name"] == SUBMIT_DIFFERENTIAL.name), None)
    if submitted is not None:  # the structured answer, sent as a tool call
        final = AIMessage(
            content=parsed.text, id=reply.id, additional_kwargs={"submitted": submitted["args"]}
        )
        return {"messages": [final]}
    if not parsed.attempted_calls:
        return {"messages": [AIMessage(content=parsed.text, id=reply.id)]}
    if spent:
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
        return {"messages": [bad, _repair(parsed.problems, state, offered)], "repairs": repairs + 1}
    notes.append("the model's tool calls could not be used: " + "; ".join(parsed.problems))
    return {"messages": [bad], "notes": notes}


def act(state: ConsultState, *, deps: Deps) -> dict[str, Any]:
    """Run the tool calls of the last reply; derived images go back as a user message."""
    call_msg = state["messages"][-1]
    assert isinstance(call_msg, AIMessage)
    ledger = EvidenceLedger(state.get("evidence"))
    outcomes = deps.run(call_msg.tool_calls, state, ledger)
    messages: list[BaseMessage] = [o.message for o in outcomes]
    derived = [i for o in outcomes for i in (o.message.artifact or {}).get("images", [])]
    if derived:
        text = "Images produced by the tools: " + ", ".join(f"[{i}]" for i in derived)
        messages.append(
            HumanMessage(
                content=text, additional_kwargs={"lingshu": TOOL_IMAGES, "image_ids": derived}
            )
        )
    if state.get("rejected"):
        messages.append(_repair(state["rejected"], state, deps.offered(state)))
    update: dict[str, Any] = {
        "messages": messages,
        "evidence": ledger.new_records,
        "rounds": state.get("rounds", 0) + 1,
        "rejected": [],
        "audit": [o.audit for o in outcomes],
    }
    external = {t.name for t in deps.resources.external}  # a failed MCP tool is also a warning
    failed = [
        o.message.text for o in outcomes if o.audit.get("error") and o.audit["tool"] in external
    ]
    if failed:
        update["notes"] = [
            *state.get("notes", []),
            *(f"external tool {e.removeprefix('Error: ')}" for e in failed),
        ]
    return update


def verify(state: ConsultState, *, deps: Deps) -> Command[AfterVerify]:
    """Check the final reply; send it back for repair (bounded) or keep the warnings."""
    return _routed(state, _verified(state, deps), after_verify)


def _verified(state: ConsultState, deps: Deps) -> dict[str, Any]:
    reply = state["messages"][-1]
    submitted = reply.additional_kwargs.get("submitted")
    verdict = deps.verify(reply.text, state.get("evidence") or {}, state["mode"], submitted)
    repairs = state.get("repairs", 0)
    if verdict.problems and repairs < deps.settings.max_repairs:
        rejected = AIMessage(
            content=reply.content,
            id=reply.id,
            additional_kwargs={**reply.additional_kwargs, "lingshu": REJECTED},
        )
        repair = _repair(verdict.problems, state, deps.offered(state))
        return {"messages": [rejected, repair], "repairs": repairs + 1}
    notes = list(state.get("notes") or [])
    notes.extend(f"unresolved after {repairs} repair(s): {p}" for p in verdict.problems)
    notes.extend(w for w in verdict.warnings if w not in notes)
    checked = {
        "differential": verdict.differential_record(),
        "statements": verdict.statements,
        "prose": verdict.prose,
        "code_checks": verdict.code_checks,
        "support": verdict.support,
    }
    return {"notes": notes, "checked": checked}


def respond(state: ConsultState, *, deps: Deps) -> dict[str, Any]:
    """The turn's answer: the model's verified reply, or an evidence brief without it."""
    if state.get("model_error"):
        ledger = EvidenceLedger(state.get("evidence"))
        brief = evidence_brief(state, deps, ledger)
        answer = build_answer(
            state, brief.text, produced_by="evidence_brief", extra=ledger.new_records
        )
        return {"messages": [brief.message], "evidence": ledger.new_records, "answer": answer}
    final = _final_reply(state)
    checked = state.get("checked") or {}
    if checked.get("differential"):
        text = str(checked.get("prose") or "")
        return {"answer": build_answer(state, text, produced_by="model", checked=checked)}
    if final is None or not looks_like_text(final):
        return {"answer": build_answer(state, "", produced_by="none")}
    return {"answer": build_answer(state, final, produced_by="model", checked=checked)}


# --- the same nodes on an event loop (the service's turns) ---------------------------------
# Work that only computes runs on the loop; work that may wait on a store or a remote
# server (record reads, tools, the embedding model, the evidence brief) gets a thread.


async def aintake(state: ConsultState, *, deps: Deps) -> dict[str, Any]:
    if state.get("patient_id"):  # the synopsis and the red-flag screen read the record
        return await asyncio.to_thread(intake, state, deps=deps)
    return intake(state, deps=deps)


async def aact(state: ConsultState, *, deps: Deps) -> dict[str, Any]:
    return await asyncio.to_thread(act, state, deps=deps)


async def averify(state: ConsultState, *, deps: Deps) -> Command[AfterVerify]:
    if deps.scores_support:
        return await asyncio.to_thread(verify, state, deps=deps)
    return verify(state, deps=deps)


async def arespond(state: ConsultState, *, deps: Deps) -> dict[str, Any]:
    if state.get("model_error"):  # the evidence brief searches the stores
        return await asyncio.to_thread(respond, state, deps=deps)
    return respond(state, deps=deps)


def _node(sync: Any, asynchronous: Any, deps: Deps) -> RunnableCallable:
    """A node LangGraph runs with ``sync`` under invoke and ``asynchronous`` under ainvoke."""
    return RunnableCallable(
        partial(sync, deps=deps), partial(asynchronous, deps=deps), name=sync.__name__, trace=False
    )


# --- routers ------------------------------------------------------------------------------


# Each router picks the next node from the state as it is once its node's update is in.
# The node returns the choice with its update (a Command): LangGraph's conditional edges
# would read the whole state again for each decision, which cost ~0.4 ms a turn each.
AfterReason = Literal["act", "reason", "verify", "respond"]
AfterVerify = Literal["reason", "respond"]
R = TypeVar("R", bound=str)


def _routed(state: ConsultState, update: dict[str, Any], router: Callable[[Any], R]) -> Command[R]:
    """``update`` with the node that ``router`` picks from the state after it."""
    after: dict[str, Any] = {**state, **{k: v for k, v in update.items() if k != "messages"}}
    if update.get("messages"):
        after["messages"] = add_messages(list[Any](state["messages"]), update["messages"])
    return Command(update=update, goto=router(after))


def after_reason(state: ConsultState) -> AfterReason:
    if state.get("model_error"):
        return "respond"
    last = state["messages"][-1]
    if isinstance(last, AIMessage) and last.tool_calls:
        return "act"
    if marker(last) == REPAIR and isinstance(last, HumanMessage):
        return "reason"
    if isinstance(last, AIMessage) and marker(last) is None:
        return "verify"
    return "respond"


def after_verify(state: ConsultState) -> AfterVerify:
    last = state["messages"][-1]
    return "reason" if isinstance(last, HumanMessage) and marker(last) == REPAIR else "respond"


# --- helpers --------------------------------------------------------------------------------


def _repair(problems: Sequence[str], state: ConsultState, offered: list[BaseTool]) -> HumanMessage:
    text = prompts.render(
        "repair",
        # a problem quotes the model's reply (a tool name, an argument key, a claim), which
        # can carry record text the model repeated: no special token or protocol tag goes back
        problems=[protocol_safe(p) for p in problems],
        evidence_summary=describe_ids((state.get("evidence") or {}).keys()),
        tools_offered=bool(offered),
    )
    return HumanMessage(content=text, additional_kwargs={"lingshu": REPAIR})


def _said_this_turn(state: ConsultState, tag: str) -> bool:
    return any(marker(m) == tag for m in state["messages"][state["turn_start"] :])


def _final_reply(state: ConsultState) -> str | None:
    for msg in reversed(state["messages"][state["turn_start"] :]):
        if isinstance(msg, AIMessage) and not msg.tool_calls and marker(msg) is None:
            return msg.text
    return None


# --- the builder ----------------------------------------------------------------------------


def build_graph(
    settings: Settings | None = None,
    *,
    model: BaseChatModel | None = None,
    checkpointer: Checkpointer = None,
    tools: Sequence[BaseTool] | None = None,
    resources: Resources | None = None,
) -> Any:
    """Compile the consultation graph; every part can be swapped (tests pass fakes)."""
    settings = settings or Settings()
    if tools is None:
        from tools import ALL_TOOLS

        tools = ALL_TOOLS
    resources = resources if resources is not None else open_resources(settings)
    deps = Deps(
        settings=settings,
        model=model if model is not None else load_chat_model(settings),
        tools=[*tools, *resources.external],  # external MCP tools beside the built-in ones
        resources=resources,
    )
    builder = StateGraph(ConsultState, input_schema=InputState)
    builder.add_node("intake", _node(intake, aintake, deps))
    builder.add_node("reason", _node(reason, areason, deps), destinations=get_args(AfterReason))
    builder.add_node("act", _node(act, aact, deps))
    builder.add_node("verify", _node(verify, averify, deps), destinations=get_args(AfterVerify))
    builder.add_node("respond", _node(respond, arespond, deps))
    builder.add_edge(START, "intake")
    builder.add_edge("intake", "reason")
    builder.add_edge("act", "reason")
    builder.add_edge("respond", END)
    graph = builder.compile(checkpointer=checkpointer, name="lingshu-consultation")
    graph.deps = deps  # type: ignore[attr-defined]
    return graph


__all__ = ["Deps", "build_graph"]
