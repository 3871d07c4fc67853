"""The evidence brief: what the tools can gather when no reasoning model answers.

The respond node gives it when the model could not be used this turn.
"""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.messages import AIMessage, ToolCall

import prompts
from agent.deps import Deps
from agent.prompting import is_user_turn
from agent.report import readable_passage
from agent.settings import Settings
from agent.state import BRIEF, ConsultState
from knowledge.untrusted import untrusted
from tools.evidence import EvidenceLedger

SEARCH_TOOL = "search_guidelines"
EXCERPT_CHARS = 300


@dataclass
class Brief:
    text: str
    message: AIMessage


def evidence_brief(state: ConsultState, deps: Deps, ledger: EvidenceLedger) -> Brief:
    """Synopsis, images and guideline passages for the question, each cited."""
    settings = deps.settings
    reason = f"{_which(settings)} could not be used: {state.get('model_error')}."
    question = next((m.text for m in reversed(state["messages"]) if is_user_turn(m)), "").strip()
    passages: list[str] = []
    if question and any(t.name == SEARCH_TOOL for t in deps.offered(state)):
        call = ToolCall(name=SEARCH_TOOL, args={"query": question[:500], "k": 3}, id="brief")
        (outcome,) = deps.run([call], state, ledger)
        for eid in (outcome.message.artifact or {}).get("evidence", []):
            record = ledger.get(eid)
            if record is not None:
                flat = " ".join(readable_passage(record["excerpt"]).split())
                excerpt = untrusted(flat, limit=EXCERPT_CHARS)
                passages.append(f"[{eid}] {untrusted(record['label'])}: {excerpt}")
        if outcome.message.status == "error":
            passages.append(untrusted(outcome.message.text))
    images = [f"[{eid}] {untrusted(ledger.get(eid)['label'])}" for eid in ledger.ids("image")]  # type: ignore[index]
    text = prompts.render(
        "evidence_brief",
        reason=reason,
        synopsis=untrusted(state.get("synopsis") or "").strip(),
        images=images,
        passages=passages,
    )
    message = AIMessage(content=text, additional_kwargs={"lingshu": BRIEF})
    return Brief(text=text, message=message)


def _which(settings: Settings) -> str:
    """The model that was down, named as the clinician configured it."""
    if settings.split_mode:  # the planner reasons; Lingshu only answers look's questions
        return (
            f"The planner model {untrusted(settings.planner_model or '')} at "
            f"{settings.planner_base_url} (split mode; Lingshu at {_where(settings)} "
            "answers image questions only when the planner asks)"
        )
    return f"The reasoning model at {_where(settings)}"


def _where(settings: Settings) -> str:
    if settings.backend == "openai":
        return settings.base_url
    return f"{settings.model} (in-process transformers)"
