"""The one wrapper around tool calls: runtime injection, concurrency, timeouts, audit.

Every call ends with exactly one :class:`CallOutcome`: its ``ToolMessage`` (the
result, or an error the model can act on), its audit entry and, for an external
tool that failed, the warning the answer carries. A tool that raises, returns junk
or hangs past its timeout never takes the turn down with it. Whatever a tool
returns passes the same checks here (one place): the output limit, the protocol
backstop (``protocol_safe``), and its artifact's evidence and image ids kept only
when the session's ledger holds them.

Tools get their dependencies as LangGraph's ``ToolRuntime`` (``tools.runtime``), the
same object ``langgraph.prebuilt.ToolNode`` would inject; the calls run on our own
thread pool rather than through ``ToolNode`` because ``ToolNode`` has no per-call
timeout and waits for every call of a round (BENCHMARKS.md, "Tool calls").
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.messages.tool import ToolCall
from langchain_core.tools import BaseTool

from knowledge.untrusted import protocol_safe, untrusted
from tools.runtime import ToolContext, ToolError, injected_call, tool_runtime, wants_runtime

log = logging.getLogger(__name__)

EXTERNAL = "mcp_server"
"""Tool metadata naming the external (MCP) server a tool belongs to; its failures warn."""
_PROMPTED_CALL = re.compile(r'<tool_call>\s*\{\s*"name"\s*:\s*"([\w.-]{1,64})"')


@dataclass
class CallOutcome:
    """One call's result as the model sees it, its audit entry, and any warning."""

    message: ToolMessage
    audit: dict[str, Any]
    note: str | None = None
    """A warning for the answer (an external tool that failed), or None."""


def offered_tools(tools: Sequence[BaseTool], available: set[str]) -> list[BaseTool]:
    """The tools whose required context parts (``metadata['requires']``) are all present."""
    offered = []
    for tool in tools:
        needs = set((tool.metadata or {}).get("requires", ()))
        if needs <= available:
            offered.append(tool)
    return offered


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters, saying so at the cut."""
    if len(text) <= limit:
        return text
    note = f"\n[... output cut at {limit} characters of {len(text)}]"
    return text[: max(0, limit - len(note))] + note


def tool_pool() -> ThreadPoolExecutor:
    """Threads for tool calls, kept for the life of a graph (a hung tool holds one)."""
    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="lingshu-tool")


def run_calls(
    calls: Sequence[ToolCall],
    tools: Mapping[str, BaseTool],
    ctx: ToolContext,
    *,
    timeout_s: float,
    turn: int,
    pool: ThreadPoolExecutor,
    state: Mapping[str, Any] | None = None,
) -> list[CallOutcome]:
    """Run independent calls concurrently; outcomes come back in call order.

    ``ctx`` reaches each tool as ``runtime.context``; ``state`` (the graph state,
    optional) as ``runtime.state``. The round as a whole gets ``timeout_s``.
    """
    if not calls:
        return []
    started = time.perf_counter()
    offered = list(tools.values())
    futures: list[Future[tuple[ToolMessage, float]]] = [
        pool.submit(_timed, tools.get(c["name"]), c, ctx, state, offered) for c in calls
    ]
    when = datetime.now(UTC).isoformat(timespec="milliseconds")
    outcomes = []
    for call, future in zip(calls, futures, strict=True):
        remaining = max(0.0, timeout_s - (time.perf_counter() - started))
        try:
            message, ms = future.result(timeout=remaining)
        except FutureTimeout:
            message = _error(call, f"{call['name']} did not finish within {timeout_s:g} s")
            ms = (time.perf_counter() - started) * 1000
        audit = {"time": when, "turn": turn, "ms": round(ms, 3)}
        outcomes.append(_finish(call, message, tools.get(call["name"]), ctx, audit))
    return outcomes


def _timed(
    tool: BaseTool | None,
    call: ToolCall,
    ctx: ToolContext,
    state: Mapping[str, Any] | None,
    offered: list[BaseTool],
) -> tuple[ToolMessage, float]:
    """The call's message and how long the tool itself ran (ms), measured in its thread."""
    t0 = time.perf_counter()
    if tool is None:
        message = _error(call, f"{call['name']}: no such tool in this session")
    else:
        runtime = None
        if wants_runtime(tool):
            runtime = tool_runtime(ctx, call_id=call["id"], state=state, tools=offered)
        message = _invoke(tool, injected_call(call, runtime), call)
    return message, (time.perf_counter() - t0) * 1000


def _invoke(tool: BaseTool, payload: ToolCall, call: ToolCall) -> ToolMessage:
    try:
        result = tool.invoke(payload)
    except ToolError as exc:
        return _error(call, f"{call['name']}: {exc}")
    except Exception as exc:  # the turn must survive any tool bug; the error is shown and logged
        log.exception("tool %s failed", call["name"])
        return _error(call, f"{call['name']} failed with an internal error ({type(exc).__name__})")
    if not isinstance(result, ToolMessage):
        return ToolMessage(content=str(result), tool_call_id=call["id"], name=call["name"])
    return result


def _finish(
    call: ToolCall,
    message: ToolMessage,
    tool: BaseTool | None,
    ctx: ToolContext,
    audit: dict[str, Any],
) -> CallOutcome:
    """The checks every result passes, its audit entry and its warning: the one place."""
    status = "error" if message.status == "error" else "ok"
    # The backstop for every tool: no special token or protocol tag reaches the model.
    text = protocol_safe(truncate(message.text, ctx.max_output_chars))
    kept = ToolMessage(
        content=text,
        tool_call_id=call["id"],
        name=call["name"],
        status="error" if status == "error" else "success",
        artifact=_checked_artifact(message.artifact, ctx),
    )
    entry = {
        "time": audit["time"],
        "turn": audit["turn"],
        "tool": call["name"],
        "args": call["args"],
        "status": status,
        "ms": audit["ms"],
        "patient_id": ctx.patient_id,
        "resources": _resources_read(kept),
    }
    note = None
    if status == "error":
        entry["error"] = text
        if tool is not None and (tool.metadata or {}).get(EXTERNAL):
            note = f"external tool {text.removeprefix('Error: ')}"
    return CallOutcome(kept, entry, note)


def _checked_artifact(artifact: Any, ctx: ToolContext) -> Any:
    """The artifact, its ``evidence``/``images`` ids kept only where the ledger holds them.

    A tool (a custom or buggy one) cannot make the answer cite, or the model be shown,
    an id that no tool registered in this session.
    """
    if not isinstance(artifact, dict):
        return artifact
    checked = dict(artifact)
    for key in ("evidence", "images"):
        ids = artifact.get(key)
        if ids is None:
            continue
        listed = ids if isinstance(ids, list | tuple) else []
        checked[key] = [str(i) for i in listed if ctx.ledger.get(str(i)) is not None]
    images = checked.get("images")
    if images:
        checked["images"] = [i for i in images if _kind(ctx, i) == "image"]
    return checked


def _kind(ctx: ToolContext, eid: str) -> str | None:
    record = ctx.ledger.get(eid)
    return None if record is None else record["kind"]


def _resources_read(message: ToolMessage) -> list[str]:
    """The records a tool read (``Observation/abc``), from its artifact, for the audit trail."""
    data = (message.artifact or {}).get("data") if isinstance(message.artifact, dict) else None
    found = data.get("resources") if isinstance(data, dict) else None
    return [str(r) for r in found] if isinstance(found, list) else []


def _error(call: ToolCall, text: str) -> ToolMessage:
    # An error can quote the record, a file name or a server's reply: it is data.
    return ToolMessage(
        content=f"Error: {untrusted(text, limit=2000)}",
        tool_call_id=call["id"],
        name=call["name"],
        status="error",
    )


def model_audit(turn: int, ms: float, reply: Any, patient_id: str | None) -> dict[str, Any]:
    """The audit entry of one model call: its duration, tokens, tool calls or error."""
    entry: dict[str, Any] = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "turn": turn,
        "tool": "model",
        "args": {},
        "ms": round(ms, 3),
        "patient_id": patient_id,
        "resources": [],
    }
    if isinstance(reply, Exception):
        return entry | {"status": "error", "error": untrusted(str(reply), limit=500)}
    usage = getattr(reply, "usage_metadata", None) or {}
    calls = [c["name"] for c in getattr(reply, "tool_calls", None) or []]
    calls = calls or _PROMPTED_CALL.findall(str(getattr(reply, "text", "")))
    entry["args"] = {k: usage[k] for k in ("input_tokens", "output_tokens") if k in usage}
    if calls:
        entry["args"]["calls"] = calls
    return entry | {"status": "ok"}
