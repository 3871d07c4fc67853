"""intake: start a turn (close orphaned calls, register images, reset budgets, synopsis)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from langchain_core.messages import HumanMessage

from agent.checkpoints import close_orphaned_calls
from agent.deps import Deps
from agent.state import ConsultState
from tools.evidence import EvidenceLedger


def intake(state: ConsultState, deps: Deps) -> dict[str, Any]:
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
    update |= _fresh_turn(state, deps, len(messages) - 1)
    audit: list[dict[str, Any]] = []
    if state.get("patient_id") and not state.get("synopsis"):
        update["synopsis"], audit = deps.synopsis(state, ledger)
    update["red_flags"], screened = deps.red_flags(state, user.text, ledger)
    update["audit"] = [{**entry, "turn": update["turn"]} for entry in audit + screened]
    update["evidence"] = ledger.new_records
    return update


def _fresh_turn(state: ConsultState, deps: Deps, turn_start: int) -> dict[str, Any]:
    """The per-turn fields, reset: counters, notes, the answer, the deadline."""
    return {
        "turn": state.get("turn", 0) + 1,
        "turn_start": turn_start,
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
        "checked": {},
    }


async def aintake(state: ConsultState, deps: Deps) -> dict[str, Any]:
    """``intake`` on an event loop: a thread when the record is read (synopsis, red flags)."""
    if state.get("patient_id"):
        return await asyncio.to_thread(intake, state, deps)
    return intake(state, deps)
