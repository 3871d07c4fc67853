"""The evidence brief: what the tools can gather when no reasoning model answers."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.messages import AIMessage, ToolCall
from langchain_core.tools import BaseTool

import prompts
from agent.acting import run_calls
from agent.prompting import is_user_turn
from agent.settings import Settings
from agent.state import BRIEF, ConsultState
from tools.runtime import ToolContext

SEARCH_TOOL = "search_guidelines"
EXCERPT_CHARS = 300


@dataclass
class Brief:
    text: str
    message: AIMessage


def evidence_brief(
    state: ConsultState, offered: list[BaseTool], ctx: ToolContext, settings: Settings
) -> Brief:
    """Synopsis, images and guideline passages for the question, each cited."""
    reason = (
        f"The reasoning model at {_where(settings)} could not be used: {state.get('model_error')}."
    )
    question = next(
        (m.text for m in reversed(state["messages"]) if is_user_turn(m)), ""
    ).strip()
    passages: list[str] = []
    search = next((t for t in offered if t.name == SEARCH_TOOL), None)
    if search is not None and question:
        call = ToolCall(name=SEARCH_TOOL, args={"query": question[:500], "k": 3}, id="brief")
        (outcome,) = run_calls(
            [call], {SEARCH_TOOL: search}, ctx, timeout_s=settings.tool_timeout_s, turn=0
        )
        for eid in (outcome.message.artifact or {}).get("evidence", []):
            record = ctx.ledger.get(eid)
            if record is not None:
                excerpt = " ".join(record["excerpt"].split())[:EXCERPT_CHARS]
                passages.append(f"[{eid}] {record['label']}: {excerpt}")
        if outcome.message.status == "error":
            passages.append(outcome.message.text)
    images = [
        f"[{eid}] {ctx.ledger.get(eid)['label']}"  # type: ignore[index]
        for eid in ctx.ledger.ids("image")
    ]
    text = prompts.render(
        "evidence_brief",
        reason=reason,
        synopsis=(state.get("synopsis") or "").strip(),
        images=images,
        passages=passages,
    )
    message = AIMessage(content=text, additional_kwargs={"lingshu": BRIEF})
    return Brief(text=text, message=message)


def _where(settings: Settings) -> str:
    if settings.backend == "openai":
        return settings.base_url
    return f"{settings.model} (in-process transformers)"
