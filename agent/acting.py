"""Running tool calls: context injection, concurrency, timeouts, output limits, audit.

Every call ends with exactly one ``ToolMessage``: its result, or an error the model
can act on. A tool that raises, returns junk or hangs past its timeout never takes
the turn down with it.
"""

from __future__ import annotations

import logging
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

from tools.runtime import ToolContext, ToolError

log = logging.getLogger(__name__)

CONTEXT_ARG = "ctx"


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
    futures: list[Future[ToolMessage]] = [
        pool.submit(_invoke, tools[c["name"]], c, ctx) for c in calls
    ]
    outcomes = []
    when = datetime.now(UTC).isoformat(timespec="seconds")
    for call, future in zip(calls, futures, strict=True):
        remaining = max(0.0, timeout_s - (time.perf_counter() - started))
        t0 = time.perf_counter()
        try:
            message = future.result(timeout=remaining)
        except FutureTimeout:
            message = _error(call, f"{call['name']} did not finish within {timeout_s:g} s")
        status = "error" if message.status == "error" else "ok"
        message.content = truncate(message.text, ctx.max_output_chars)
        audit = {
            "time": when,
            "turn": turn,
            "tool": call["name"],
            "args": call["args"],
            "status": status,
            "ms": round((time.perf_counter() - t0) * 1000, 1),
            "patient_id": ctx.patient_id,
            "resources": _resources_read(message),
        }
        if status == "error":
            audit["error"] = message.text
        outcomes.append(CallOutcome(message, audit))
    return outcomes


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
    return ToolMessage(
        content=f"Error: {text}", tool_call_id=call["id"], name=call["name"], status="error"
    )
