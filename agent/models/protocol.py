"""The Hermes tool-call protocol that Qwen2.5-family models know.

``prompted`` mode: tool specs go into the system prompt inside ``<tools>`` ...
``</tools>``; the model answers with ``<tool_call>{"name": ..., "arguments": {...}}
</tool_call>`` blocks in its text, which :func:`parse_reply` extracts. It tolerates
the usual damage (code fences, several calls, trailing prose, one missing closing
brace or tag, a trailing comma, arguments given as a JSON string) and rejects the
rest with a message that names exactly what was wrong.

``native`` mode: the server returns ``tool_calls`` (vLLM with the hermes parser);
they go through the same validation. Either mode accepts whichever form a reply has.
"""

from __future__ import annotations

import json
import re
import uuid
import weakref
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolCall, ToolMessage
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ValidationError

T = TypeVar("T")

_BLOCK = re.compile(r"<tool_call>(.*?)(?:</tool_call>|(?=<tool_call>)|\Z)", re.DOTALL)
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)
_FENCED_JSON = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
MAX_JSON_DEPTH = 64
"""Deeper tool-call JSON is refused before parsing (it would exhaust the recursion limit)."""


@dataclass
class ParsedReply:
    """A model reply split into prose, valid tool calls and problems."""

    text: str
    calls: list[ToolCall] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def attempted_calls(self) -> bool:
        return bool(self.calls or self.problems)


def tool_specs(tools: Sequence[BaseTool]) -> list[dict[str, Any]]:
    """OpenAI-style function specs (injected arguments are not part of them).

    Optional arguments are written as their plain type (``anyOf [T, null]`` with a
    null default says nothing the ``required`` list does not), which keeps the
    prompt short. Each spec is worked out once per tool object and shared: callers
    read it and must not change it.
    """
    return [per_tool(t, "spec", partial(_spec, t)) for t in tools]


def _spec(tool: BaseTool) -> dict[str, Any]:
    spec: dict[str, Any] = _simplify(convert_to_openai_tool(tool))
    return spec


_per_tool: dict[tuple[int, Hashable], tuple[weakref.ref[BaseTool], Any]] = {}


def per_tool(tool: BaseTool, key: Hashable, make: Callable[[], T]) -> T:
    """``make()``, worked out once per tool object and ``key``: a tool does not change
    once built, and converting its schema every turn cost a busy service measurably."""
    slot = (id(tool), key)
    held = _per_tool.get(slot)
    if held is not None and held[0]() is tool:
        value: T = held[1]
        return value
    value = make()
    _per_tool[slot] = (weakref.ref(tool, lambda _ref: _per_tool.pop(slot, None)), value)
    return value


def _simplify(node: Any) -> Any:
    if isinstance(node, list):
        return [_simplify(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _simplify(v) for k, v in node.items()}
    variants = out.get("anyOf")
    if isinstance(variants, list) and len(variants) == 2 and {"type": "null"} in variants:
        (kept,) = [v for v in variants if v != {"type": "null"}]
        del out["anyOf"]
        out = {**kept, **out}
    if "default" in out and out["default"] is None:
        del out["default"]
    return out


def render_tools_block(tools: Sequence[BaseTool]) -> str:
    """The ``<tools>`` section of a prompted system prompt: one JSON spec per line."""
    lines = [json.dumps(spec, ensure_ascii=False) for spec in tool_specs(tools)]
    return "<tools>\n" + "\n".join(lines) + "\n</tools>"


def parse_reply(
    message: AIMessage, tools: Mapping[str, BaseTool], *, max_calls: int = 8
) -> ParsedReply:
    """Extract and validate the tool calls of a reply, native or written in the text.

    Never raises for anything in the reply: what cannot be used is described in
    ``problems`` (for the repair message), and every call returned names a tool of
    ``tools`` with arguments that its schema accepts."""
    text = message.text if isinstance(message.content, list) else str(message.content or "")
    reply = ParsedReply(text=_strip_blocks(text))
    raw: list[tuple[str, Any, str | None]] = [
        (c["name"], c.get("args", {}), c.get("id")) for c in message.tool_calls
    ]
    for bad in message.invalid_tool_calls:
        reply.problems.append(
            f"tool call {bad.get('name') or '(no name)'}: arguments are not valid JSON "
            f"({bad.get('error') or 'could not parse'})"
        )
    if not raw:
        for position, block in enumerate(_find_blocks(text), start=1):
            try:
                obj = _loads_tolerant(block)
            except ValueError as exc:
                reply.problems.append(f"<tool_call> block {position}: {exc}")
                continue
            if not isinstance(obj, dict) or "name" not in obj:
                reply.problems.append(
                    f'<tool_call> block {position}: expected {{"name": ..., "arguments": {{...}}}}'
                )
                continue
            raw.append((str(obj["name"]), obj.get("arguments", obj.get("parameters", {})), None))
    if len(raw) > max_calls:
        reply.problems.append(f"{len(raw)} tool calls in one reply; at most {max_calls} run")
        raw = raw[:max_calls]
    for name, args, call_id in raw:
        try:
            call, problem = _validate_call(name, args, tools, call_id)
        except (RecursionError, ValueError, TypeError) as exc:  # arguments nested too deep
            call, problem = None, f"{name}: arguments could not be checked ({type(exc).__name__})"
        if problem:
            reply.problems.append(problem)
        elif call is not None:
            reply.calls.append(call)
    return reply


def _find_blocks(text: str) -> list[str]:
    blocks = [m.group(1) for m in _BLOCK.finditer(text) if m.group(1).strip()]
    if blocks:
        return blocks
    # A fenced JSON object that is plainly a call, with no tags around it.
    return [
        m.group(1)
        for m in _FENCED_JSON.finditer(text)
        if re.search(r'"name"\s*:', m.group(1)) and re.search(r'"arguments"\s*:', m.group(1))
    ]


def _strip_blocks(text: str) -> str:
    text = _BLOCK.sub("", text)
    return text.replace("</tool_call>", "").strip()


def _loads_tolerant(block: str) -> Any:
    """json.loads with one kind of recoverable damage repaired."""
    fenced = _FENCE.match(block)
    body = (fenced.group(1) if fenced else block).strip()
    start = body.find("{")
    if start < 0:
        raise ValueError("no JSON object found")
    body = body[start:]
    # Fewer openers than the limit cannot nest past it: the character walk is skipped.
    if body.count("{") + body.count("[") > MAX_JSON_DEPTH:
        depth = max_depth(body)
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"JSON nested {depth} levels deep; at most {MAX_JSON_DEPTH}")
    for attempt in _repairs(body):  # each repair is made only when the one before failed
        if attempt is None:
            continue
        try:
            return json.loads(attempt)
        except json.JSONDecodeError:
            continue
    try:
        json.loads(body)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON ({exc.msg} at character {exc.pos})") from None
    raise ValueError("invalid JSON")  # pragma: no cover - json.loads(body) succeeded above


def _repairs(body: str) -> Iterator[str | None]:
    """``body`` as it is, then each repair of it in turn (None: that repair does not apply)."""
    yield body
    yield _cut_after_object(body)
    yield _TRAILING_COMMA.sub(r"\1", body)
    yield _close(body)


def max_depth(body: str) -> int:
    """How deeply the braces and brackets of ``body`` nest (outside JSON strings)."""
    depth = most = 0
    for _, ch in _brackets(body)[0]:
        depth = depth + 1 if ch in "{[" else max(depth - 1, 0)
        most = max(most, depth)
    return most


def _brackets(body: str) -> tuple[list[tuple[int, str]], bool]:
    """The braces and brackets of ``body`` outside JSON strings, with their positions, and
    whether a string is still open at the end."""
    found: list[tuple[int, str]] = []
    in_string, escaped = False, False
    for i, ch in enumerate(body):
        if in_string:
            escaped = ch == "\\" and not escaped
            if ch == '"' and not escaped:
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[]}":
            found.append((i, ch))
    return found, in_string


def _cut_after_object(body: str) -> str | None:
    """The first balanced JSON object of ``body`` (drops trailing prose)."""
    depth = 0
    for i, ch in _brackets(body)[0]:
        if ch in "{[":
            depth += 1
            continue
        depth -= 1
        if depth == 0:
            return body[: i + 1]
    return None


def _close(body: str) -> str | None:
    """Add the closing braces/brackets an object cut short is missing (at most two)."""
    found, in_string = _brackets(body)
    stack: list[str] = []
    for _, ch in found:
        if ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif stack:
            stack.pop()
    if in_string or not stack or len(stack) > 2:
        return None
    return body.rstrip().rstrip(",") + "".join(reversed(stack))


def _validate_call(
    name: str, args: Any, tools: Mapping[str, BaseTool], call_id: str | None = None
) -> tuple[ToolCall | None, str | None]:
    tool = tools.get(name)
    if tool is None:
        offered = ", ".join(sorted(tools)) or "none"
        return None, f"unknown tool {name!r}; the tools you can call are: {offered}"
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError:
            return None, f"{name}: 'arguments' must be a JSON object, got a string that is not JSON"
    if args is None:
        args = {}
    if not isinstance(args, dict):
        return None, f"{name}: 'arguments' must be a JSON object, got {type(args).__name__}"
    schema = tool.tool_call_schema
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        try:
            schema.model_validate(args)
        except ValidationError as exc:
            return None, f"{name}: " + "; ".join(_describe(err) for err in exc.errors())
        allowed = set(schema.model_fields)
        unknown = sorted(set(args) - allowed)
        if unknown:
            expected = ", ".join(sorted(allowed)) or "no arguments"
            return None, f"{name}: unknown argument(s) {', '.join(unknown)}; expected: {expected}"
    call_id = call_id or f"call_{uuid.uuid4().hex[:12]}"
    return ToolCall(name=name, args=args, id=call_id, type="tool_call"), None


def _describe(error: Mapping[str, Any]) -> str:
    where = ".".join(str(p) for p in error.get("loc", ())) or "arguments"
    if error.get("type") == "missing":
        return f"missing required argument {where!r}"
    return f"argument {where!r}: {error.get('msg', 'invalid')} (got {error.get('input')!r})"


def render_calls(calls: Sequence[ToolCall]) -> str:
    """Calls written back in the Hermes text form (for history in prompted mode)."""
    return "\n".join(
        "<tool_call>\n"
        + json.dumps({"name": c["name"], "arguments": c["args"]}, ensure_ascii=False)
        + "\n</tool_call>"
        for c in calls
    )


def to_prompted(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """Rewrite a history for a server that knows no tool roles.

    Assistant tool calls become ``<tool_call>`` text, consecutive tool results one
    user message of ``<tool_response>`` blocks, as Qwen2.5's own template does.
    """
    out: list[BaseMessage] = []
    pending: list[ToolMessage] = []

    def flush() -> None:
        if pending:
            out.append(_responses(pending))
            pending.clear()

    for msg in messages:
        if isinstance(msg, ToolMessage):
            pending.append(msg)
            continue
        flush()
        out.append(_rewritten(msg) if isinstance(msg, AIMessage) else msg)
    flush()
    return out


class IdentityMemo:
    """A pure function of a message, remembered by the message's identity.

    A turn's later rounds send the same history messages again, and a message is never
    changed in place (one that changes is a new message), so each is rewritten once. An
    entry holds its message, so the message's id is not reused while the entry lives;
    past ``kept`` entries the memo starts over (a tool result is at most
    ``max_tool_output_chars``, so this holds a few MiB at most). Use it for assistant
    and tool messages only: user messages may carry images.
    """

    def __init__(self, make: Callable[[Any], Any], kept: int = 1024) -> None:
        self.make, self.kept = make, kept
        self.held: dict[int, tuple[Any, Any]] = {}

    def __call__(self, msg: Any) -> Any:
        held = self.held.get(id(msg))
        if held is not None and held[0] is msg:
            return held[1]
        form = self.make(msg)
        if len(self.held) >= self.kept:
            self.held.clear()
        self.held[id(msg)] = (msg, form)
        return form


def _prompted_form(msg: AIMessage | ToolMessage) -> Any:
    """An assistant message as text with its calls, a tool result as its block."""
    if isinstance(msg, ToolMessage):
        return f"<tool_response>\n{msg.text}\n</tool_response>"
    content = str(msg.text)
    if msg.tool_calls and "<tool_call>" not in content:
        content = (content + "\n" + render_calls(msg.tool_calls)).strip()
    return AIMessage(content=content)


_rewritten = IdentityMemo(_prompted_form)


class _ResponsesMemo:
    """The user message of ``<tool_response>`` blocks for a run of tool results, made once
    per run (by the identity of its messages, as ``IdentityMemo``) and bounded alike."""

    def __init__(self, kept: int = 1024) -> None:
        self.kept = kept
        self.held: dict[tuple[int, ...], tuple[tuple[ToolMessage, ...], HumanMessage]] = {}

    def __call__(self, run: Sequence[ToolMessage]) -> HumanMessage:
        key = tuple(map(id, run))
        held = self.held.get(key)
        if held is not None and all(a is b for a, b in zip(held[0], run, strict=True)):
            return held[1]
        made = HumanMessage(content="\n".join(_rewritten(m) for m in run))
        if len(self.held) >= self.kept:
            self.held.clear()
        self.held[key] = (tuple(run), made)
        return made


_responses = _ResponsesMemo()
