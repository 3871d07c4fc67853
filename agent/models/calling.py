"""Calling a chat model from the graph: tool binding, stop strings, deadline, typed failures.

Every way a model call can fail ends in one ``ModelCallFailed`` kind (see
:mod:`agent.models.errors`), never in another exception: the graph turns it into the
evidence brief and the session stays usable. That covers the server's faults (down,
hung, an HTTP error, a reply that is not a chat completion, a body cut mid-way) and
the client's own (an ``AttributeError`` or ``TypeError`` from an upgraded dependency).

A call may carry a ``deadline`` (a ``time.monotonic()`` instant, the turn's): it ends
with ``ModelTimedOut`` then, however the server behaves (silent, stalled mid-body,
dripping a byte at a time), retries included. A reply longer than
``max_reply_chars`` is cut there, and says so.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
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
from agent.models.errors import (
    ModelCallFailed,
    ModelClientError,
    ModelRefused,
    ModelReplyInvalid,
    ModelTimedOut,
    ModelUnavailable,
    ModelUnreachable,
)
from agent.models.protocol import tool_specs

try:  # the HTTP library of the installed openai: httpx2 from openai 3, httpx before
    import httpx2

    _HTTP_ERRORS: tuple[type[Exception], ...] = (httpx.HTTPError, httpx2.HTTPError)
except ImportError:  # pragma: no cover - depends on the installed openai
    _HTTP_ERRORS = (httpx.HTTPError,)
try:  # what the SDK's aiohttp transport lets through unmapped (e.g. a bad status line)
    import aiohttp

    _TRANSPORT_ERRORS: tuple[type[Exception], ...] = (aiohttp.ClientError,)
except ImportError:  # pragma: no cover - the openai[aiohttp] extra is missing
    _TRANSPORT_ERRORS = ()

log = logging.getLogger(__name__)

PROMPTED_STOP = ["<tool_response>"]
"""The model must never write a tool's result itself."""

CHARS_PER_TOKEN_CAP = 16
"""A reply may hold at most this many characters per token of ``max_new_tokens``: far
above any real text (about 4 per token), far below a server that ignores the limit."""

CUT_NOTE = "the model's reply was cut at {cap:,} characters (the reply cap set by max_new_tokens)"

__all__ = [
    "PROMPTED_STOP",
    "ModelCallFailed",
    "acall_model",
    "call_model",
    "reply_cap",
]

_waiters = ThreadPoolExecutor(max_workers=256, thread_name_prefix="lingshu-model-call")
"""Threads that carry synchronous model calls under a deadline (made as needed; a
service runs up to ``server_threads`` turns at once per worker)."""


def reply_cap(max_new_tokens: int) -> int:
    """The most characters a reply may keep, for a ``max_new_tokens`` setting."""
    return max_new_tokens * CHARS_PER_TOKEN_CAP


def call_model(
    model: BaseChatModel,
    messages: Sequence[BaseMessage],
    native_tools: Sequence[BaseTool] = (),
    *,
    offered: Sequence[BaseTool] = (),
    deadline: float | None = None,
    max_reply_chars: int | None = None,
) -> AIMessage:
    """One model call; ``native_tools`` non-empty means server-side tool calling.

    ``offered``: the tools the prompt offers. In prompted mode a model that supports it
    (``constrained_tools`` not ``off``) decodes tool calls constrained to their schemas;
    a server that refuses the constraint is remembered and the reply says so.
    ``deadline``: the ``time.monotonic()`` instant by which the call must have ended.
    """
    extra = _timeout_kwargs(model, deadline)

    def ask() -> Any:
        if native_tools:
            return model.bind_tools(tool_specs(native_tools)).invoke(list(messages), **extra)
        return _prompted(model, list(messages), offered, extra)

    try:
        reply = ask() if deadline is None else _within(ask, deadline)
    except Exception as exc:
        raise failure(exc) from exc
    return _checked(reply, max_reply_chars)


async def acall_model(
    model: BaseChatModel,
    messages: Sequence[BaseMessage],
    native_tools: Sequence[BaseTool] = (),
    *,
    offered: Sequence[BaseTool] = (),
    deadline: float | None = None,
    max_reply_chars: int | None = None,
) -> AIMessage:
    """``call_model`` for an event loop (the model's async client, or its thread).

    The deadline cancels the request on the loop: no request timeout is needed."""
    extra: dict[str, Any] = {}
    try:
        async with asyncio.timeout_at(_loop_deadline(deadline)):
            if native_tools:
                bound = model.bind_tools(tool_specs(native_tools))
                reply = await bound.ainvoke(list(messages), **extra)
            else:
                reply = await _aprompted(model, list(messages), offered, extra)
    except TimeoutError as exc:
        if deadline is not None and time.monotonic() >= deadline - 0.05:
            raise _past_deadline() from exc
        raise failure(exc) from exc
    except Exception as exc:
        raise failure(exc) from exc
    return _checked(reply, max_reply_chars)


ABANDONED: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "lingshu_model_call_abandoned", default=None
)
"""Set in a call's worker once the turn stopped waiting for it: a streamed reply stops
being read there (no token of it reaches the turn's stream after its brief)."""


def _within(ask: Callable[[], Any], deadline: float) -> Any:
    """Run ``ask`` in a worker thread and wait for it until ``deadline`` at most.

    A synchronous HTTP read cannot be interrupted from outside: past the deadline the
    turn goes on without it, its reply dropped. The worker ends on the request timeout
    it was given (the time that was left) or, streaming, at its next chunk."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise _past_deadline()
    abandoned = threading.Event()
    context = contextvars.copy_context()  # callbacks (token streaming) ride in it
    context.run(ABANDONED.set, abandoned)
    future = _waiters.submit(context.run, ask)
    try:
        return future.result(timeout=left)
    except FutureTimeout:
        abandoned.set()
        future.cancel()
        raise _past_deadline() from None


def _past_deadline() -> ModelTimedOut:
    return ModelTimedOut("no reply before the turn's deadline (setting turn_deadline_s)")


def _loop_deadline(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    return asyncio.get_running_loop().time() + (deadline - time.monotonic())


def _timeout_kwargs(model: BaseChatModel, deadline: float | None) -> dict[str, Any]:
    """A request timeout no longer than the time left, for an OpenAI-wire client."""
    if deadline is None or getattr(model, "openai_api_base", None) is None:
        return {}
    left = max(deadline - time.monotonic(), 0.05)
    configured = getattr(model, "request_timeout", None)
    if isinstance(configured, int | float) and configured < left:
        return {}
    return {"timeout": left}


def failure(exc: BaseException) -> ModelCallFailed:
    """The ``ModelCallFailed`` an exception of a model call stands for. Every exception
    maps to one: a fault of the client library itself is ``ModelClientError``, logged
    with its traceback, so that an upgrade that breaks the client degrades the turn to
    the evidence brief instead of failing it."""
    known = next((e for e in _chain(exc) if isinstance(e, ModelCallFailed)), None)
    if known is not None:  # raised inside the client (e.g. its reply check), maybe wrapped
        return known
    if isinstance(exc, ModelUnavailable):
        return ModelUnreachable(str(exc))
    if isinstance(exc, openai.APITimeoutError) and _refused_under(exc):
        return _connection(exc)
    if isinstance(exc, openai.APITimeoutError | TimeoutError):
        return ModelTimedOut(f"the model server did not answer in time ({exc or 'timed out'})")
    if isinstance(exc, (openai.APIConnectionError, *_TRANSPORT_ERRORS)):
        return _connection(exc)
    if isinstance(exc, openai.APIStatusError):
        return ModelRefused(
            f"the model server refused the request (HTTP {exc.status_code}: {_message(exc)})"
        )
    if isinstance(exc, RecursionError):
        return ModelReplyInvalid("the model server's reply is nested too deeply to read")
    if isinstance(exc, openai.APIResponseValidationError | json.JSONDecodeError):
        return ModelReplyInvalid(f"the model server's reply is not a chat completion ({exc})")
    if isinstance(exc, (*_HTTP_ERRORS, openai.OpenAIError)):
        return ModelUnreachable(f"the model server could not be used ({exc})")
    log.error(
        "model client failed (%s); giving the evidence brief", type(exc).__name__, exc_info=exc
    )
    return ModelClientError(f"the model client failed: {type(exc).__name__}: {str(exc)[:300]}")


_CUT_MID_BODY = (
    "incomplete",
    "not completed",
    "complete message body",
    "contentlength",
    "payload",
    "transferencoding",
)


def _connection(exc: BaseException) -> ModelCallFailed:
    """A connection error: a body cut off mid-way, garbage instead of HTTP, or no server."""
    cause = _cause(exc)
    where = " ".join(
        f"{type(e).__name__} {e}".lower().replace("_", "").replace("-", "") for e in _chain(exc)
    )
    if any(mark in where for mark in _CUT_MID_BODY):
        return ModelReplyInvalid(f"the model server's reply was cut off mid-body ({cause})")
    if "status line" in where or "badstatusline" in where or "protocol" in where:
        return ModelReplyInvalid(f"the model server did not answer in HTTP ({cause})")
    return ModelUnreachable(f"cannot connect to the model server ({cause})")


def _refused_under(exc: BaseException) -> bool:
    """A "timeout" whose cause is a connection the OS refused or could not make (the
    SDK's aiohttp transport maps every connection error to a connect timeout)."""
    return any(isinstance(e, OSError) and not isinstance(e, TimeoutError) for e in _chain(exc)[1:])


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 8:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _checked(reply: Any, max_reply_chars: int | None) -> AIMessage:
    if not isinstance(reply, AIMessage):
        raise ModelReplyInvalid(f"the model returned {type(reply).__name__}, not a message")
    cut = reply.response_metadata.get("lingshu_cut")
    if max_reply_chars is not None and isinstance(reply.content, str):
        if len(reply.content) > max_reply_chars:
            reply = reply.model_copy(update={"content": reply.content[:max_reply_chars]})
            cut = max_reply_chars
        for call in reply.tool_calls:
            if _size(call["args"]) > max_reply_chars:
                cap = f"{max_reply_chars:,} characters"
                raise ModelReplyInvalid(f"a tool call's arguments are over the reply cap ({cap})")
    if cut:
        reply = _with_note(reply, CUT_NOTE.format(cap=int(cut)))
    return reply


@dataclass
class _Plan:
    """How to ask in prompted mode: the call's arguments, a note for the reply, and the
    server whose answer tells whether it takes constrained requests (None: not asked)."""

    kwargs: dict[str, Any]
    note: str | None = None
    server: str | None = None


def _plan(model: BaseChatModel, offered: Sequence[BaseTool], extra: dict[str, Any]) -> _Plan:
    plain = {"stop": PROMPTED_STOP, **extra}
    if not offered or getattr(model, "constrained_tools", "off") == "off":
        return _Plan(plain)
    constraint = ToolConstraint.from_tools(offered)
    base_url = getattr(model, "openai_api_base", None)
    if base_url is None:  # in-process: the model applies the constraint itself
        return _Plan({**plain, "tool_constraint": constraint})
    if server_refused(base_url):
        return _Plan(plain, note=SERVER_REFUSED_NOTE)
    body = {**(getattr(model, "extra_body", None) or {})}
    body["structured_outputs"] = constraint.vllm_structured_outputs()
    return _Plan({**plain, "extra_body": body}, server=base_url)


def _refused(server: str, exc: openai.APIStatusError) -> bool:
    if not looks_like_refusal(server, exc.status_code, _message(exc)):
        return False
    log.warning("constrained request refused (HTTP %s); retrying unconstrained", exc.status_code)
    return True


def _prompted(
    model: BaseChatModel,
    messages: list[BaseMessage],
    offered: Sequence[BaseTool],
    extra: dict[str, Any],
) -> Any:
    plan = _plan(model, offered, extra)
    if plan.server is None:
        return _with_note(model.invoke(messages, **plan.kwargs), plan.note)
    try:
        reply = model.invoke(messages, **plan.kwargs)
    except openai.APIStatusError as exc:
        if not _refused(plan.server, exc):
            raise
        reply = model.invoke(messages, stop=PROMPTED_STOP, **extra)  # its errors are the real ones
        note_server_outcome(plan.server, supported=False)
        return _with_note(reply, SERVER_REFUSED_NOTE)
    note_server_outcome(plan.server, supported=True)
    return reply


async def _aprompted(
    model: BaseChatModel,
    messages: list[BaseMessage],
    offered: Sequence[BaseTool],
    extra: dict[str, Any],
) -> Any:
    plan = _plan(model, offered, extra)
    if plan.server is None:
        return _with_note(await model.ainvoke(messages, **plan.kwargs), plan.note)
    try:
        reply = await model.ainvoke(messages, **plan.kwargs)
    except openai.APIStatusError as exc:
        if not _refused(plan.server, exc):
            raise
        reply = await model.ainvoke(messages, stop=PROMPTED_STOP, **extra)
        note_server_outcome(plan.server, supported=False)
        return _with_note(reply, SERVER_REFUSED_NOTE)
    note_server_outcome(plan.server, supported=True)
    return reply


def _with_note(reply: Any, note: str | None) -> Any:
    if note is not None and isinstance(reply, AIMessage):
        notes = list(reply.response_metadata.get("lingshu_notes", []))
        if note not in notes:
            reply.response_metadata = {**reply.response_metadata, "lingshu_notes": [*notes, note]}
    return reply


def _cause(exc: BaseException) -> str:
    inner = exc.__cause__ or exc.__context__
    return str(inner or exc)[:300] or type(exc).__name__


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        detail = body.get("message") or body.get("detail") or body.get("error")
        if isinstance(detail, dict):
            detail = detail.get("message") or detail
        if detail:
            return str(detail)[:300]
    return str(exc)[:300]


def _size(args: Any) -> int:
    """Characters of a tool call's arguments as JSON (unmeasurable: over any cap)."""
    try:
        return len(json.dumps(args, default=str))
    except (RecursionError, ValueError, TypeError):
        return 1 << 62
