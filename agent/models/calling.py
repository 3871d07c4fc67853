"""Calling a chat model from the graph: tool binding, stop strings, typed failures."""

from __future__ import annotations

import logging
from collections.abc import Sequence
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
    except ModelUnavailable as exc:
        raise ModelCallFailed(str(exc)) from exc
    except openai.APITimeoutError as exc:
        raise ModelCallFailed(f"the model server did not answer in time ({exc})") from exc
    except openai.APIConnectionError as exc:
        raise ModelCallFailed(f"cannot connect to the model server ({_cause(exc)})") from exc
    except openai.APIStatusError as exc:
        raise ModelCallFailed(
            f"the model server refused the request (HTTP {exc.status_code}: {_message(exc)})"
        ) from exc
    except httpx.HTTPError as exc:
        raise ModelCallFailed(f"the model server could not be used ({exc})") from exc
    if not isinstance(reply, AIMessage):
        raise ModelCallFailed(f"the model returned {type(reply).__name__}, not a message")
    return reply


def _prompted(
    model: BaseChatModel, messages: list[BaseMessage], offered: Sequence[BaseTool]
) -> Any:
    if not offered or getattr(model, "constrained_tools", "off") == "off":
        return model.invoke(messages, stop=PROMPTED_STOP)
    constraint = ToolConstraint.from_tools(offered)
    base_url = getattr(model, "openai_api_base", None)
    if base_url is None:  # in-process: the model applies the constraint itself
        return model.invoke(messages, stop=PROMPTED_STOP, tool_constraint=constraint)
    if server_refused(base_url):
        return _with_note(model.invoke(messages, stop=PROMPTED_STOP), SERVER_REFUSED_NOTE)
    extra = {**(getattr(model, "extra_body", None) or {})}
    extra["structured_outputs"] = constraint.vllm_structured_outputs()
    try:
        reply = model.invoke(messages, stop=PROMPTED_STOP, extra_body=extra)
    except openai.APIStatusError as exc:
        if not looks_like_refusal(base_url, exc.status_code, _message(exc)):
            raise
        log.warning(
            "constrained request refused (HTTP %s); retrying unconstrained", exc.status_code
        )
        reply = model.invoke(messages, stop=PROMPTED_STOP)  # its errors are the real ones
        note_server_outcome(base_url, supported=False)
        return _with_note(reply, SERVER_REFUSED_NOTE)
    note_server_outcome(base_url, supported=True)
    return reply


def _with_note(reply: Any, note: str) -> Any:
    if isinstance(reply, AIMessage):
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
