"""A plain (not streamed) chat-completion request, sent the openai SDK's documented way
for "undocumented endpoints": ``client.post("/chat/completions", cast_to=object, body=...)``.

The stock ``ChatOpenAI`` sends the same request, but its call passes through the SDK's
per-field request transform and response model, about 1 ms of CPU per call
(BENCHMARKS.md, "Model client: plain calls by the SDK's post"). This module builds the
same JSON body ``ChatOpenAI`` sends (checked field by field in
``tests/models/test_wire_parity.py``) with langchain-core's public converter
(``convert_to_openai_messages``), and turns the reply into an ``AIMessage`` with
langchain-core's public tool-call parser (``parse_tool_call``).

It claims only requests it can build exactly: ``wire_body`` answers None for anything
else (a message kind, a content block or a keyword it does not know), and the caller
sends that request through the stock ``ChatOpenAI``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.exceptions import OutputParserException
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    convert_to_openai_messages,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.output_parsers.openai_tools import make_invalid_tool_call, parse_tool_call

from agent.models.errors import ModelReplyInvalid

CLAIMED_KWARGS = frozenset({"tools", "tool_choice", "extra_body", "timeout"})
"""The call keywords this path sends the way ``ChatOpenAI`` does (``timeout`` is a request
option, the rest go into the body)."""

_OPENAI_EXTRAS = frozenset(
    {"function_call", "tool_calls", "audio", "refusal", "name", "reasoning_content"}
)
"""``additional_kwargs`` keys ``ChatOpenAI`` writes into the request: such a message is
left to it."""

_SENT_PARAMS = ("max_completion_tokens", "temperature", "top_p")


def wire_body(
    params: Mapping[str, Any],
    messages: Sequence[BaseMessage],
    stop: list[str] | None,
    kwargs: Mapping[str, Any],
) -> dict[str, Any] | None:
    """The JSON body ``ChatOpenAI`` would send for this plain call, or None when this
    path does not claim it. ``params``: the model's name, sampling settings and
    ``extra_body`` (the fields of ``LingshuChatOpenAI`` of the same names)."""
    if not CLAIMED_KWARGS.issuperset(kwargs):
        return None
    wire = _wire_messages(messages)
    if wire is None:
        return None
    body: dict[str, Any] = {"model": params["model_name"], "stream": False, "messages": wire}
    body.update({k: params[k] for k in _SENT_PARAMS if params.get(k) is not None})
    if stop:
        body["stop"] = stop
    body.update({k: kwargs[k] for k in ("tools", "tool_choice") if kwargs.get(k) is not None})
    extra = kwargs["extra_body"] if "extra_body" in kwargs else params.get("extra_body")
    body.update(extra or {})
    return body


def _wire_messages(messages: Sequence[BaseMessage]) -> list[dict[str, Any]] | None:
    for message in messages:
        if not _claimed(message):
            return None
    wire: list[dict[str, Any]] = convert_to_openai_messages(list(messages))
    for item in wire:
        if item["role"] == "tool":  # ChatOpenAI sends a tool result's id and text only
            item.pop("name", None)
        elif item.get("tool_calls"):  # and an assistant call's empty text as null
            item["content"] = item.get("content") or None
    return wire


def _claimed(message: BaseMessage) -> bool:
    if _OPENAI_EXTRAS.intersection(message.additional_kwargs):
        return False
    content = message.content
    if isinstance(message, ToolMessage):
        return isinstance(content, str)
    if isinstance(message, AIMessage):
        return isinstance(content, str) and not message.invalid_tool_calls
    if not isinstance(message, HumanMessage | SystemMessage):
        return False
    return isinstance(content, str) or all(_plain_block(b) for b in content)


def _plain_block(block: Any) -> bool:
    if not isinstance(block, dict):
        return False
    if block.get("type") == "text":
        return set(block) == {"type", "text"} and isinstance(block["text"], str)
    if block.get("type") == "image_url":
        url = block.get("image_url")
        return (
            set(block) == {"type", "image_url"}
            and isinstance(url, dict)
            and set(url)
            <= {
                "url",
                "detail",
            }
        )
    return False


def reply_message(response: Mapping[str, Any]) -> AIMessage:
    """The ``AIMessage`` of a checked chat completion (``completion``), with
    the fields ``ChatOpenAI`` fills: tool calls (unparseable ones as invalid tool calls),
    usage and the response metadata."""
    choice = response["choices"][0]
    message = choice["message"]
    calls, invalid = [], []
    for raw in message.get("tool_calls") or []:
        try:
            parsed = parse_tool_call(raw, return_id=True)
        except OutputParserException as exc:
            invalid.append(make_invalid_tool_call(raw, str(exc)))
            continue
        if parsed is not None:
            calls.append(parsed)
    usage = response.get("usage") or None
    metadata = {
        "token_usage": usage,
        "model_provider": "openai",
        "model_name": response.get("model"),
        "system_fingerprint": response.get("system_fingerprint"),
        "id": response.get("id"),
        "finish_reason": choice.get("finish_reason"),
        "logprobs": choice.get("logprobs"),
    }
    return AIMessage(
        content=message.get("content") or "",
        tool_calls=calls,
        invalid_tool_calls=invalid,
        usage_metadata=_usage(usage),
        response_metadata=metadata,
    )


def _usage(usage: Mapping[str, Any] | None) -> UsageMetadata | None:
    if not usage:
        return None
    given, made = usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0
    return UsageMetadata(
        input_tokens=given,
        output_tokens=made,
        total_tokens=usage.get("total_tokens") or given + made,
        input_token_details={},
        output_token_details={},
    )


def completion(response: Any) -> dict[str, Any]:
    """``response`` if it is a chat completion with a reply in it, else ``ModelReplyInvalid``
    naming what is wrong (not JSON, no choices, no message, an empty reply)."""
    if not isinstance(response, dict):
        shown = response[:80] if isinstance(response, str | bytes) else type(response).__name__
        raise ModelReplyInvalid(f"the model server's reply is not JSON ({shown!r})")
    choices = response.get("choices")
    if not isinstance(choices, list) or not choices:
        what = "an empty choices list" if isinstance(choices, list) else "no choices"
        raise ModelReplyInvalid(f"the model server's reply has {what}")
    first = choices[0]
    message = first.get("message") if isinstance(first, dict) else None
    if not isinstance(message, dict):
        raise ModelReplyInvalid("the model server's reply has a choice without a message")
    content, calls = message.get("content"), message.get("tool_calls")
    if content is not None and not isinstance(content, str | list):
        raise ModelReplyInvalid(f"the reply's content is {type(content).__name__}, not text")
    if not content and not calls:
        raise ModelReplyInvalid("the model sent an empty reply (no text and no tool call)")
    return response
