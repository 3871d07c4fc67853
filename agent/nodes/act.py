"""act: run the tool calls of the last reply through the one tool-call wrapper."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from agent.deps import Deps
from agent.nodes.common import repair
from agent.state import TOOL_IMAGES, ConsultState
from tools.evidence import EvidenceLedger


def act(state: ConsultState, deps: Deps) -> dict[str, Any]:
    """Run the tool calls of the last reply; derived images go back as a user message."""
    call_msg = state["messages"][-1]
    if not isinstance(call_msg, AIMessage):
        raise TypeError(f"act follows a model reply with tool calls, not {type(call_msg)}")
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
        messages.append(repair(state["rejected"], state, deps.offered(state)))
    update: dict[str, Any] = {
        "messages": messages,
        "evidence": ledger.new_records,
        "rounds": state.get("rounds", 0) + 1,
        "rejected": [],
        "audit": [o.audit for o in outcomes],
    }
    warnings = [o.note for o in outcomes if o.note]  # e.g. a failed external (MCP) tool
    if warnings:
        update["notes"] = [*state.get("notes", []), *warnings]
    return update


async def aact(state: ConsultState, deps: Deps) -> dict[str, Any]:
    """``act`` on a thread: tools read stores and remote servers."""
    return await asyncio.to_thread(act, state, deps)
