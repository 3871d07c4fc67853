"""Running tool calls: context injection, concurrency, timeouts, output limits, audit.

Every call ends with exactly one ``ToolMessage``: its result, or an error the model
can act on. A tool that raises, returns junk or hangs past its timeout never takes
the turn down with it.
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
from tools.runtime import ToolContext, ToolError

log = logging.getLogger(__name__)

CONTEXT_ARG = "ctx"
_PROMPTED_CALL = re.compile(r'<tool_call>\s*\{\s*"name"\s*:\s*"([\w.-]{1,64})"')


@dataclass
class CallOutcome:
    message: ToolMessage
    audit: dict[str, Any]


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
) -> list[CallOutcome]:
    """Run independent calls concurrently; results come back in call order."""
    if not calls:
        return []
    started = time.perf_counter()
    futures: list[Future[tuple[ToolMessage, float]]] = [
        pool.submit(_timed, tools[c["name"]], c, ctx) for c in calls
    ]
    outcomes = []
    when = datetime.now(UTC).isoformat(timespec="milliseconds")
    for call, future in zip(calls, futures, strict=True):
        remaining = max(0.0, timeout_s - (time.perf_counter() - started))
        try:
            message, ms = future.result(timeout=remaining)
        except FutureTimeout:
            message = _error(call, f"{call['name']} did not finish within {timeout_s:g} s")
            ms = (time.perf_counter() - started) * 1000
        status = "error" if message.status == "error" else "ok"
        # The backstop for every tool: no special token or protocol tag reaches the model.
        message.content = protocol_safe(truncate(message.text, ctx.max_output_chars))
        audit = {
            "time": when,
            "turn": turn,
            "tool": call["name"],
            "args": call["args"],
            "status": status,
            "ms": round(ms, 3),
            "patient_id": ctx.patient_id,
            "resources": _resources_read(message),
        }
        if status == "error":
            audit["error"] = message.text
        outcomes.append(CallOutcome(message, audit))
    return outcomes


def _timed(tool: BaseTool, call: ToolCall, ctx: ToolContext) -> tuple[ToolMessage, float]:
    """The call's message and how long the tool itself ran (ms), measured in its thread."""
    t0 = time.perf_counter()
    message = _invoke(tool, call, ctx)
    return message, (time.perf_counter() - t0) * 1000


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


def _invoke(tool: BaseTool, call: ToolCall, ctx: ToolContext) -> ToolMessage:
    payload = ToolCall(
        name=call["name"],
        args={**call["args"], **({CONTEXT_ARG: ctx} if _wants_context(tool) else {})},
        id=call["id"],
        type="tool_call",
    )
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


def _resources_read(message: ToolMessage) -> list[str]:
    """The records a tool read (``Observation/abc``), from its artifact, for the audit trail."""
    data = (message.artifact or {}).get("data") if isinstance(message.artifact, dict) else None
    found = data.get("resources") if isinstance(data, dict) else None
    return [str(r) for r in found] if isinstance(found, list) else []


def _wants_context(tool: BaseTool) -> bool:
    schema = tool.get_input_schema()
    return CONTEXT_ARG in getattr(schema, "model_fields", {})


def _error(call: ToolCall, text: str) -> ToolMessage:
    # An error can quote the record, a file name or a server's reply: it is data.
    return ToolMessage(
        content=f"Error: {untrusted(text, limit=2000)}",
        tool_call_id=call["id"],
        name=call["name"],
        status="error",
    )
