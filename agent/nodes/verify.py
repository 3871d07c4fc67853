"""verify: check the final reply; send it back for repair (bounded) or keep the warnings."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.types import Command

from agent.deps import Deps
from agent.nodes.common import repair, routed
from agent.prompting import marker
from agent.questions import ASKED, QUESTION, asked_this_turn, verifier_question
from agent.state import REJECTED, REPAIR, ConsultState
from agent.verification import Verdict, unsupported_leader

AfterVerify = Literal["reason", "respond", "panel_keeper", "ask"]


def verify(state: ConsultState, deps: Deps) -> Command[AfterVerify]:
    """Check the final reply; send it back for repair (bounded) or keep the warnings."""
    return routed(state, _verified(state, deps), after_verify)


async def averify(state: ConsultState, deps: Deps) -> Command[AfterVerify]:
    """``verify`` on an event loop: a thread when support is scored by the embedding model,
    or when the verifier may put a question (it reads the record first)."""
    if deps.scores_support or _may_ask(state, deps):
        return await asyncio.to_thread(verify, state, deps)
    return verify(state, deps)


def after_verify(state: ConsultState) -> AfterVerify:
    """A repair request goes back to the model, the verifier's question to the clinician;
    anything else is answered (in sequential mode after the panel's round,
    agent/panel/nodes.py)."""
    last = state["messages"][-1]
    if isinstance(last, HumanMessage) and marker(last) == REPAIR:
        return "reason"
    if isinstance(last, AIMessage) and marker(last) == QUESTION:
        return "ask"
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
    asked = _question(state, deps, verdict) if verdict.problems else None
    if asked is not None:  # the repairs are spent and nothing supports the leader: ask
        rejected = AIMessage(
            content=reply.content,
            id=reply.id,
            additional_kwargs={**reply.additional_kwargs, "lingshu": REJECTED},
        )
        kwargs = {"lingshu": QUESTION, ASKED: asked}
        return {
            "messages": [rejected, AIMessage(content=asked["question"], additional_kwargs=kwargs)]
        }
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


def _may_ask(state: ConsultState, deps: Deps) -> bool:
    """Whether a question could follow this check: the repairs are spent, a question is left."""
    s = deps.settings
    return state.get("repairs", 0) >= s.max_repairs and (
        asked_this_turn(state["messages"], state["turn_start"]) < s.max_questions_per_turn
    )


def _question(state: ConsultState, deps: Deps, verdict: Verdict) -> dict[str, str] | None:
    """The program's question when the leading diagnosis is unsupported and the turn may
    still ask one (``max_questions_per_turn``); None to answer as it stands."""
    leader = unsupported_leader(verdict)
    limit = deps.settings.max_questions_per_turn
    messages, start = state["messages"], state["turn_start"]
    if leader is None or verdict.differential is None or asked_this_turn(messages, start) >= limit:
        return None
    before = [m.text for m in messages[start:] if marker(m) == QUESTION]
    return verifier_question(
        leader,
        verdict.differential.missing,
        deps.resources.ehr,
        state.get("patient_id"),
        state.get("evidence") or {},
        before,
    )
