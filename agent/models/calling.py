"""Calling a chat model from the graph: tool binding, stop strings, typed failures."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.tools import BaseTool

from agent.models.constrained import (
    SERVER_REFUSED_NOTE,
    ToolConstraint,
    looks_like_refusal,
    note_server_outcome,
    server_refused,
)
from agent.models.errors import ModelUnavailable
from agent.models.protocol import tool_specs

log = logging.getLogger(__name__)

PROMPTED_STOP = ["<tool_response>"]
"""The model must never write a tool's result itself."""


class ModelCallFailed(RuntimeError):
    """The model could not produce a reply this time (unreachable, refused, timed out)."""


def call_model(
    model: BaseChatModel,
    messages: Sequence[BaseMessage],
    native_tools: Sequence[BaseTool] = (),
    *,
    offered: Sequence[BaseTool] = (),
) -> AIMessage:
    """One model call; ``native_tools`` non-empty means server-side tool calling.

    ``offered``: the tools the prompt offers. In prompted mode a model that supports it
    (``constrained_tools`` not ``off``) decodes tool calls constrained to their schemas;
    a server that refuses the constraint is remembered and the reply says so.
    """
    try:
        if native_tools:
            reply = model.bind_tools(tool_specs(native_tools)).invoke(list(messages))
        else:
            reply = _prompted(model, list(messages), offered)
    except Exception as exc:
        if (failed := _failure(exc)) is None:
            raise
        raise failed from exc
    return _checked(reply)


async def acall_model(
    model: BaseChatModel,
    messages: Sequence[BaseMessage],
    native_tools: Sequence[BaseTool] = (),
    *,
    offered: Sequence[BaseTool] = (),
) -> AIMessage:
    """``call_model`` for an event loop (the model's async client, or its thread)."""
    try:
        if native_tools:
            reply = await model.bind_tools(tool_specs(native_tools)).ainvoke(list(messages))
        else:
            reply = await _aprompted(model, list(messages), offered)
    except Exception as exc:
        if (failed := _failure(exc)) is None:
            raise
        raise failed from exc
    return _checked(reply)


def _failure(exc: Exception) -> ModelCallFailed | None:
    """The ModelCallFailed an error of the model call stands for (None: a fault of ours)."""
    if isinstance(exc, ModelUnavailable):
        return ModelCallFailed(str(exc))
    if isinstance(exc, openai.APITimeoutError):
        return ModelCallFailed(f"the model server did not answer in time ({exc})")
    if isinstance(exc, openai.APIConnectionError):
        return ModelCallFailed(f"cannot connect to the model server ({_cause(exc)})")
    if isinstance(exc, openai.APIStatusError):
        return ModelCallFailed(
            f"the model server refused the request (HTTP {exc.status_code}: {_message(exc)})"
        )
    if isinstance(exc, httpx.HTTPError):
        return ModelCallFailed(f"the model server could not be used ({exc})")
    return None


def _checked(reply: Any) -> AIMessage:
    if not isinstance(reply, AIMessage):
        raise ModelCallFailed(f"the model returned {type(reply).__name__}, not a message")
    return reply


@dataclass
class _Plan:
    """How to ask in prompted mode: the call's arguments, a note for the reply, and the
    server whose answer tells whether it takes constrained requests (None: not asked)."""

    kwargs: dict[str, Any]
    note: str | None = None
    server: str | None = None


def _plan(model: BaseChatModel, offered: Sequence[BaseTool]) -> _Plan:
    if not offered or getattr(model, "constrained_tools", "off") == "off":
        return _Plan({"stop": PROMPTED_STOP})
    constraint = ToolConstraint.from_tools(offered)
    base_url = getattr(model, "openai_api_base", None)
    if base_url is None:  # in-process: the model applies the constraint itself
        return _Plan({"stop": PROMPTED_STOP, "tool_constraint": constraint})
    if server_refused(base_url):
        return _Plan({"stop": PROMPTED_STOP}, note=SERVER_REFUSED_NOTE)
    extra = {**(getattr(model, "extra_body", None) or {})}
    extra["structured_outputs"] = constraint.vllm_structured_outputs()
    return _Plan({"stop": PROMPTED_STOP, "extra_body": extra}, server=base_url)


def _refused(server: str, exc: openai.APIStatusError) -> bool:
    if not looks_like_refusal(server, exc.status_code, _message(exc)):
        return False
    log.warning("constrained request refused (HTTP %s); retrying unconstrained", exc.status_code)
    return True


def _prompted(
    model: BaseChatModel, messages: list[BaseMessage], offered: Sequence[BaseTool]
) -> Any:
    plan = _plan(model, offered)
    if plan.server is None:
        return _with_note(model.invoke(messages, **plan.kwargs), plan.note)
    try:
        reply = model.invoke(messages, **plan.kwargs)
    except openai.APIStatusError as exc:
        if not _refused(plan.server, exc):
            raise
        reply = model.invoke(messages, stop=PROMPTED_STOP)  # its errors are the real ones
        note_server_outcome(plan.server, supported=False)
        return _with_note(reply, SERVER_REFUSED_NOTE)
    note_server_outcome(plan.server, supported=True)
    return reply


async def _aprompted(
    model: BaseChatModel, messages: list[BaseMessage], offered: Sequence[BaseTool]
) -> Any:
    plan = _plan(model, offered)
    if plan.server is None:
        return _with_note(await model.ainvoke(messages, **plan.kwargs), plan.note)
    try:
        reply = await model.ainvoke(messages, **plan.kwargs)
    except openai.APIStatusError as exc:
        if not _refused(plan.server, exc):
            raise
        reply = await model.ainvoke(messages, stop=PROMPTED_STOP)
        note_server_outcome(plan.server, supported=False)
        return _with_note(reply, SERVER_REFUSED_NOTE)
    note_server_outcome(plan.server, supported=True)
    return reply


def _with_note(reply: Any, note: str | None) -> Any:
    if note is not None and isinstance(reply, AIMessage):
        notes = list(reply.response_metadata.get("lingshu_notes", []))
        reply.response_metadata = {**reply.response_metadata, "lingshu_notes": [*notes, note]}
    return reply


def _cause(exc: BaseException) -> str:
    inner = exc.__cause__ or exc.__context__
    return str(inner or exc) or type(exc).__name__


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        detail = body.get("message") or body.get("detail") or body.get("error")
        if detail:
            return str(detail)[:300]
    return str(exc)[:300]
