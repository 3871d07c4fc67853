"""What the model is sent: system prompt, the session history, images, within budget.

The system prompt (instructions + tool specs + patient synopsis) comes first and is
byte-identical for every call of a session, so a vLLM server with prefix caching
reuses it. History follows, oldest turns dropped first when the prompt budget is hit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import BaseTool

import prompts
from agent.differential import format_hint
from agent.models.protocol import render_tools_block, to_prompted
from agent.state import BRIEF, BUDGET, REJECTED, REPAIR
from knowledge.imaging import fit_pixels
from tools.runtime import EvidenceRecord

ImageUrl = Callable[[EvidenceRecord], str]
"""Turns an image evidence record into a data URL within the pixel budget."""

_PATCH_AREA = 28 * 28


def marker(msg: BaseMessage) -> str | None:
    value = msg.additional_kwargs.get("lingshu")
    return value if isinstance(value, str) else None


def is_user_turn(msg: BaseMessage) -> bool:
    """A message the user wrote (not one the framework added on the user's side)."""
    return isinstance(msg, HumanMessage) and marker(msg) is None


def system_prompt(
    mode: str, tools: Sequence[BaseTool], tool_calling: str, synopsis: str | None
) -> str:
    tools_block = ""
    if tools and tool_calling == "prompted":
        tools_block = prompts.render("tool_protocol", tools_block=render_tools_block(tools))
    return prompts.render(
        "system",
        mode_instructions=prompts.render(f"mode_{mode}", differential_format=format_hint()).strip(),
        tools_block=tools_block.strip(),
        synopsis=(synopsis or "").strip(),
    )


def history_for_model(messages: Sequence[BaseMessage], turn_start: int) -> list[BaseMessage]:
    """The conversation as the model should see it.

    Evidence briefs are never shown (they are not the model's words); repair and
    budget notices of earlier turns are dropped with the replies they corrected.
    """
    kept: list[BaseMessage] = []
    for index, msg in enumerate(messages):
        tag = marker(msg)
        if tag == BRIEF:
            continue
        if index < turn_start and tag in (REPAIR, BUDGET, REJECTED):
            continue
        kept.append(msg)
    return kept


def with_images(
    messages: Sequence[BaseMessage], evidence: Mapping[str, EvidenceRecord], image_url: ImageUrl
) -> list[BaseMessage]:
    """Expand ``additional_kwargs['image_ids']`` of user messages into image parts."""
    out: list[BaseMessage] = []
    for msg in messages:
        ids = msg.additional_kwargs.get("image_ids") if isinstance(msg, HumanMessage) else None
        if not ids:
            out.append(msg)
            continue
        parts: list[str | dict[str, Any]] = []
        for eid in ids:
            record = evidence.get(eid)
            if record is None:
                continue
            parts.append({"type": "text", "text": f"Image [{eid}]: {record['label']}"})
            parts.append({"type": "image_url", "image_url": {"url": image_url(record)}})
        parts.append({"type": "text", "text": msg.text})
        out.append(HumanMessage(content=parts, id=msg.id))
    return out


def estimate_tokens(messages: Sequence[BaseMessage], min_pixels: int, max_pixels: int) -> int:
    """Tokens, roughly: characters / 4, plus one per 28x28 patch of each image."""
    total = 0
    for msg in messages:
        content = msg.content
        parts = content if isinstance(content, list) else [content]
        for part in parts:
            if isinstance(part, str):
                total += len(part) // 4 + 4
            elif part.get("type") == "image_url":
                total += 1280  # a full-budget image, when the size is unknown
            else:
                total += len(str(part.get("text", ""))) // 4 + 4
    return total


def image_tokens(record: EvidenceRecord, min_pixels: int, max_pixels: int) -> int:
    citation = record["citation"]
    w, h = int(citation.get("width", 0) or 0), int(citation.get("height", 0) or 0)
    if not w or not h:
        return max_pixels // _PATCH_AREA
    fw, fh = fit_pixels(w, h, min_pixels, max_pixels)
    return (fw * fh) // _PATCH_AREA


def fit_budget(
    history: list[BaseMessage], budget: int, fixed: int, cost: Callable[[BaseMessage], int]
) -> tuple[list[BaseMessage], int]:
    """Drop whole turns, oldest first, until the prompt fits; returns (history, turns dropped)."""
    starts = [i for i, m in enumerate(history) if is_user_turn(m)]
    dropped = 0
    while fixed + sum(cost(m) for m in history) > budget and len(starts) > 1:
        cut = starts[1]
        history = history[cut:]
        starts = [i - cut for i in starts[1:]]
        dropped += 1
    return history, dropped


def model_messages(
    *,
    system: str,
    messages: Sequence[BaseMessage],
    turn_start: int,
    evidence: Mapping[str, EvidenceRecord],
    tool_calling: str,
    image_url: ImageUrl,
    budget_tokens: int,
    min_pixels: int,
    max_pixels: int,
) -> tuple[list[BaseMessage], int]:
    """The full model input and how many earlier turns had to be left out."""
    history = history_for_model(messages, turn_start)

    def cost(msg: BaseMessage) -> int:
        ids = msg.additional_kwargs.get("image_ids") or []
        pictures = sum(
            image_tokens(evidence[i], min_pixels, max_pixels) for i in ids if i in evidence
        )
        return len(msg.text) // 4 + 4 + pictures + _calls_cost(msg)

    history, dropped = fit_budget(history, budget_tokens, len(system) // 4, cost)
    history = with_images(history, evidence, image_url)
    if tool_calling == "prompted":
        history = to_prompted(history)
    else:
        history = [_native(m) for m in history]
    return [SystemMessage(content=system), *history], dropped


def _calls_cost(msg: BaseMessage) -> int:
    if isinstance(msg, AIMessage) and msg.tool_calls and "<tool_call>" not in msg.text:
        return sum(len(str(c["args"])) // 4 + 16 for c in msg.tool_calls)
    return 0


def _native(msg: BaseMessage) -> BaseMessage:
    """Native mode: keep tool roles; drop prompted-call text the server would repeat."""
    if isinstance(msg, AIMessage) and msg.tool_calls:
        return AIMessage(content="", tool_calls=msg.tool_calls)
    if isinstance(msg, ToolMessage):
        return ToolMessage(content=msg.text, tool_call_id=msg.tool_call_id)
    return msg
