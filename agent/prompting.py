"""What the model is sent: system prompt, the session history, images, within budget.

The system prompt (instructions + tool specs + patient synopsis) comes first and is
byte-identical for every call of a session, so a vLLM server with prefix caching
reuses it. History follows, fitted to the budget by :mod:`agent.prompt_budget` (old
images first, then old tool results, then old turns).
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
from agent.models.protocol import IdentityMemo, render_tools_block, to_prompted
from agent.models.qwen_tokens import history_budget, images_per_prompt
from agent.prompt_budget import CHARS_PER_TOKEN, Fitted, fit_history
from agent.state import BRIEF, BUDGET, REJECTED, REPAIR
from knowledge.untrusted import protocol_safe, untrusted
from tools.evidence import EvidenceRecord

ImageUrl = Callable[[EvidenceRecord], str]
"""Turns an image evidence record into a data URL within the pixel budget."""


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
        synopsis=untrusted(synopsis or "").strip(),
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
            label = untrusted(record["label"], limit=300)
            parts.append({"type": "text", "text": f"Image [{eid}]: {label}"})
            parts.append({"type": "image_url", "image_url": {"url": image_url(record)}})
        parts.append({"type": "text", "text": msg.text})
        out.append(HumanMessage(content=parts, id=msg.id))
    return out


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
    max_new_tokens: int = 0,
) -> tuple[list[BaseMessage], Fitted]:
    """The full model input, and what was left out of it to fit the budget: the prompt
    and a reply of ``max_new_tokens`` share ``budget_tokens`` (see agent.prompt_budget)."""
    history = history_for_model(messages, turn_start)
    fitted = fit_history(
        history,
        budget=history_budget(budget_tokens, max_new_tokens) - len(system) // CHARS_PER_TOKEN,
        evidence=evidence,
        min_pixels=min_pixels,
        max_pixels=max_pixels,
        max_images=images_per_prompt(budget_tokens, max_new_tokens, min_pixels, max_pixels),
    )
    history = with_images(fitted.history, evidence, image_url)
    history = [_tokens_escaped(m) for m in history]
    if tool_calling == "prompted":
        history = to_prompted(history)
    else:
        history = [_native(m) for m in history]
    return [SystemMessage(content=system), *history], fitted


def _tokens_escaped(msg: BaseMessage) -> BaseMessage:
    """A user's text with chat-template special tokens and protocol tags escaped.

    The clinician is trusted, but a chatbot front end forwards text it did not write, and
    no clinical question holds ``<|im_start|>`` or ``</tool_response>``: the tokenizer
    would read them as turns and calls. Other markup (``<5 mmol/L``, ``<b>``) is kept.
    """
    if not isinstance(msg, HumanMessage) or marker(msg) is not None:
        return msg
    if isinstance(msg.content, str):
        safe: str | list[str | dict[str, Any]] = protocol_safe(msg.content)
    else:
        safe = [
            {**p, "text": protocol_safe(p["text"])}
            if isinstance(p, dict) and p.get("type") == "text"
            else p
            for p in msg.content
        ]
    if safe == msg.content:
        return msg
    return HumanMessage(content=safe, id=msg.id, additional_kwargs=msg.additional_kwargs)


def _native_form(msg: BaseMessage) -> BaseMessage:
    """Native mode: keep tool roles; drop prompted-call text the server would repeat."""
    if isinstance(msg, AIMessage) and msg.tool_calls:
        return AIMessage(content="", tool_calls=msg.tool_calls)
    if isinstance(msg, ToolMessage):
        return ToolMessage(content=msg.text, tool_call_id=msg.tool_call_id)
    return msg


_native_memo = IdentityMemo(_native_form)


def _native(msg: BaseMessage) -> BaseMessage:
    if isinstance(msg, AIMessage | ToolMessage):
        return _native_memo(msg)
    return msg
