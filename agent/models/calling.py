"""Calling a chat model from the graph: tool binding, stop strings, typed failures."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.tools import BaseTool

from agent.models.errors import ModelUnavailable
from agent.models.protocol import tool_specs

PROMPTED_STOP = ["<tool_response>"]
"""The model must never write a tool's result itself."""


class ModelCallFailed(RuntimeError):
    """The model could not produce a reply this time (unreachable, refused, timed out)."""


def call_model(
    model: BaseChatModel, messages: Sequence[BaseMessage], native_tools: Sequence[BaseTool]
) -> AIMessage:
    """One model call; ``native_tools`` non-empty means server-side tool calling."""
    try:
        if native_tools:
            reply = model.bind_tools(tool_specs(native_tools)).invoke(list(messages))
        else:
            reply = model.invoke(list(messages), stop=PROMPTED_STOP)
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
