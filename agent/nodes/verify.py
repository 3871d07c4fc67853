"""verify: check the final reply; send it back for repair (bounded) or keep the warnings."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.types import Command

from agent.deps import Deps
from agent.nodes.common import repair, routed
from agent.prompting import marker
from agent.state import REJECTED, REPAIR, ConsultState

AfterVerify = Literal["reason", "respond", "panel_keeper"]


def verify(state: ConsultState, deps: Deps) -> Command[AfterVerify]:
    """Check the final reply; send it back for repair (bounded) or keep the warnings."""
    return routed(state, _verified(state, deps), after_verify)


async def averify(state: ConsultState, deps: Deps) -> Command[AfterVerify]:
    """``verify`` on an event loop: a thread when support is scored by the embedding model."""
    if deps.scores_support:
        return await asyncio.to_thread(verify, state, deps)
    return verify(state, deps)


def after_verify(state: ConsultState) -> AfterVerify:
    """A repair request goes back to the model; anything else is answered (in sequential
    mode after the panel's round, agent/panel/nodes.py)."""
    last = state["messages"][-1]
    if isinstance(last, HumanMessage) and marker(last) == REPAIR:
        return "reason"
    return "panel_keeper" if state.get("mode") == "sequential" else "respond"


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
        request = repair(verdict.problems, state, deps.offered(state))
        return {"messages": [rejected, request], "repairs": repairs + 1}
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
