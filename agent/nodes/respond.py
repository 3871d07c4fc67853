"""respond: the turn's answer record, from the verified reply or an evidence brief."""

from __future__ import annotations

import asyncio
from typing import Any

from agent.answer import build_answer, looks_like_text
from agent.deps import Deps
from agent.nodes.brief import evidence_brief
from agent.nodes.common import final_reply
from agent.state import ConsultState
from tools.evidence import EvidenceLedger


def respond(state: ConsultState, deps: Deps) -> dict[str, Any]:
    """The turn's answer: the model's verified reply, or an evidence brief without it."""
    if state.get("model_error"):
        ledger = EvidenceLedger(state.get("evidence"))
        brief = evidence_brief(state, deps, ledger)
        answer = build_answer(
            state, brief.text, produced_by="evidence_brief", extra=ledger.new_records
        ).record()  # the state keeps plain data: faces read it back with Answer.from_record
        return {"messages": [brief.message], "evidence": ledger.new_records, "answer": answer}
    final = final_reply(state)
    checked = state.get("checked") or {}
    if checked.get("differential"):
        text = str(checked.get("prose") or "")
        return {"answer": build_answer(state, text, produced_by="model", checked=checked).record()}
    if final is None or not looks_like_text(final):
        return {"answer": build_answer(state, "", produced_by="none").record()}
    return {"answer": build_answer(state, final, produced_by="model", checked=checked).record()}


async def arespond(state: ConsultState, deps: Deps) -> dict[str, Any]:
    """``respond`` on an event loop: a thread for the evidence brief (it searches the stores)."""
    if state.get("model_error"):
        return await asyncio.to_thread(respond, state, deps)
    return respond(state, deps)
