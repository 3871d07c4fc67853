"""External MCP servers' tools, offered to the model beside the built-in ones.

The settings name each server (a command line started over stdio, or a streamable-HTTP
URL) and the tools of it that may be used (an allow-list). Each allowed tool becomes a
langchain-core ``BaseTool`` named ``<server>__<tool>`` with the MCP tool's input schema,
so it runs through the agent's act node like any other tool: same budgets, timeout,
output limit and audit. A result becomes evidence (a ``G#``) whose citation names the
server and tool and any DOI or URL found in the result; a result without one is marked
``"source": "unverified external tool"``. Everything the server sends (descriptions,
results, errors) is untrusted text.

A server that does not start, crashes or hangs never fails a turn: at start its tools
are not offered (a problem says why); during a call the model gets a tool error.
Built on the official ``mcp`` SDK's client (``mcp.client.Client``); one connection per
server lives on a background event loop, and a broken one is reopened on the next call.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

from langchain_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, create_model

from knowledge.untrusted import untrusted
from tools.evidence import CITATION_GROUP
from tools.runtime import ToolArtifact, ToolContext, ToolError

log = logging.getLogger(__name__)

UNVERIFIED = "unverified external tool"
SEPARATOR = "__"
NO_SERVERS = ("LINGSHU_MCP_SERVERS", "[]")
_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"'<>\]\)]+)")
_URL = re.compile(r"https?://[^\s\"'<>\]\)]+")
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")


class ServerSpec(Protocol):
    """What this module reads of one configured server (``agent.settings.McpServer``)."""

    name: str
    command: list[str] | None
    url: str | None
    headers: dict[str, str]
    tools: list[str]
    env: dict[str, str]
    cwd: str | None


class McpUnavailable(Exception):
    """A server that could not be reached, started or listed."""


class McpConnection:
    """One MCP server's client session, kept open on a background event loop."""

    def __init__(self, spec: ServerSpec, *, connect_timeout_s: float) -> None:
        self.spec = spec
        self.connect_timeout_s = connect_timeout_s
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"mcp-{spec.name}", daemon=True
        )
        self._thread.start()
        self._client: Any = None
        self._closing: asyncio.Event | None = None
        self._task: asyncio.Future[Any] | None = None
        self._lock = threading.Lock()
        self.listed: list[Any] = []

    # --- connection ------------------------------------------------------------------
    def _target(self) -> Any:
        from mcp.client.stdio import StdioServerParameters, get_default_environment

        if self.spec.url:
            if not self.spec.headers:
                return self.spec.url
            import httpx2  # the MCP SDK's HTTP client
            from mcp.client.streamable_http import streamable_http_client

            http = httpx2.AsyncClient(headers=self.spec.headers, timeout=self.connect_timeout_s)
            return streamable_http_client(self.spec.url, http_client=http)
        command = list(self.spec.command or [])
        return StdioServerParameters(
            command=command[0],
            args=command[1:],
            # the SDK's safe subset of our environment (no keys of ours) and the server's own;
            # a Lingshu started as a server opens no servers of its own (no loop of servers)
            env={**get_default_environment(), NO_SERVERS[0]: NO_SERVERS[1], **self.spec.env},
            cwd=self.spec.cwd,
        )

    async def _hold(self, ready: asyncio.Future[list[Any]]) -> None:
        """Open the client, list its tools, and keep it open until asked to close."""
        from mcp.client import Client

        self._closing = asyncio.Event()
        try:
            async with Client(self._target(), cache=None) as client:
                listed = (await client.list_tools()).tools
                self._client = client
                if not ready.done():
                    ready.set_result(list(listed))
                await self._closing.wait()
        except BaseException as exc:  # the server's failure is reported to the caller
            if not ready.done():
                ready.set_exception(McpUnavailable(_reason(exc)))
            else:
                log.warning("MCP server %s closed: %s", self.spec.name, _reason(exc))
        finally:
            self._client = None

    def open(self) -> list[Any]:
        """Connect (if not connected) and return the server's tool listing."""
        with self._lock:
            if self._client is not None:
                return self.listed
            self._stop_task()

            async def start() -> list[Any]:
                ready: asyncio.Future[list[Any]] = self._loop.create_future()
                self._task = asyncio.ensure_future(self._hold(ready))
                return await asyncio.wait_for(ready, self.connect_timeout_s)

            future = asyncio.run_coroutine_threadsafe(start(), self._loop)
            try:
                self.listed = future.result(self.connect_timeout_s + 5)
            except TimeoutError as exc:
                self._stop_task()
                raise McpUnavailable(
                    f"no answer within {self.connect_timeout_s:g} s while starting"
                ) from exc
            except McpUnavailable:
                self._stop_task()
                raise
            return self.listed

    def call(self, tool: str, arguments: dict[str, Any], timeout_s: float) -> Any:
        """``tools/call`` on this server; a dead connection is reopened first."""
        self.open()
        client = self._client
        if client is None:
            raise McpUnavailable("the connection closed")
        future = asyncio.run_coroutine_threadsafe(
            client.call_tool(tool, arguments, read_timeout_seconds=timeout_s), self._loop
        )
        try:
            return future.result(timeout_s + 1)
        except TimeoutError as exc:
            future.cancel()
            raise ToolError(f"no answer from the server within {timeout_s:g} s") from exc
        except Exception as exc:
            from mcp import MCPError
            from mcp.types import CONNECTION_CLOSED, REQUEST_TIMEOUT

            code = exc.code if isinstance(exc, MCPError) else None
            if code == REQUEST_TIMEOUT:
                raise ToolError(f"no answer from the server within {timeout_s:g} s") from exc
            if code is None or code == CONNECTION_CLOSED:  # gone: reopened on the next call
                with self._lock:
                    self._stop_task()
                raise ToolError(f"the server failed: {_reason(exc)}") from exc
            raise ToolError(_reason(exc)) from exc

    def _stop_task(self) -> None:
        task, closing = self._task, self._closing
        started = self._client is not None
        self._task = None
        self._client = None
        if task is None or task.done():
            return

        async def stop() -> None:
            if closing is not None:
                closing.set()
            if started:  # a clean close first (a stdio server's stdin closes, it exits)
                await asyncio.wait([task], timeout=3)
            if not task.done():
                task.cancel()
                await asyncio.wait([task], timeout=3)

        try:
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        except BaseException as exc:  # closing is best effort; the thread is a daemon
            log.debug("closing MCP server %s: %s", self.spec.name, exc)

    def close(self) -> None:
        """Close the session (a stdio server's process ends) and stop the loop."""
        if self._loop.is_closed():
            return
        with self._lock:
            self._stop_task()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


_OPEN: list[McpConnection] = []


@atexit.register
def close_all() -> None:
    """Close every connection opened in this process (their stdio servers exit)."""
    while _OPEN:
        _OPEN.pop().close()


class McpTool(BaseTool):
    """One allowed tool of an external MCP server, as the agent's act node runs it."""

    connection: Any
    server: str
    remote: str
    timeout_s: float = 30.0
    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"
    model_config = ConfigDict(arbitrary_types_allowed=True)

    def get_input_schema(self, config: Any = None) -> type[BaseModel]:
        # The act node injects the session's ``ToolRuntime`` into tools whose schema has it.
        return create_model(f"{self.name}_input", runtime=(Any, None))

    def _run(self, *args: Any, runtime: Any = None, **kwargs: Any) -> Any:
        kwargs.pop("run_manager", None)
        ctx = getattr(runtime, "context", None)
        if not isinstance(ctx, ToolContext):
            raise ToolError("this tool runs inside a consultation only")
        try:
            result = self.connection.call(self.remote, kwargs, self.timeout_s)
        except McpUnavailable as exc:
            raise ToolError(f"MCP server {self.server!r} unavailable: {exc}") from exc
        text = result_text(result)
        if getattr(result, "is_error", False):
            raise ToolError(f"MCP server {self.server!r} tool {self.remote!r}: {text}")
        return cite_result(ctx, self.server, self.remote, kwargs, text)


def result_text(result: Any) -> str:
    """The text parts of a ``CallToolResult`` (structured content when there are none)."""
    parts = []
    for item in getattr(result, "content", None) or []:
        if getattr(item, "type", None) == "text":
            parts.append(str(item.text))
        else:
            parts.append(f"[{getattr(item, 'type', 'other')} content not shown]")
    structured = getattr(result, "structured_content", None)
    if not parts and structured is not None:
        parts.append(json.dumps(structured, ensure_ascii=False, default=str))
    return "\n".join(parts).strip() or "(empty result)"


def cite_result(
    ctx: ToolContext, server: str, tool: str, arguments: Mapping[str, Any], text: str
) -> tuple[str, ToolArtifact]:
    """The result as evidence: a ``G#`` naming the server, tool and any DOI or URL in it."""
    doi = next(iter(_DOI.findall(text)), "")
    url = next(iter(_URL.findall(text)), "")
    doi = doi.rstrip(".,;:")
    url = url.rstrip(".,;:")
    # Evidence ids in a result are the server's own (another session's): never ours to cite.
    shown = CITATION_GROUP.sub(
        r"(the server's own ref \1)", untrusted(text, limit=ctx.max_output_chars)
    )
    where = f"MCP server {server!r}, tool {tool!r}"
    citation: dict[str, Any] = {
        "title": f"Result of external tool {tool} (MCP server {server})",
        "publisher": where if (doi or url) else f"{UNVERIFIED}: {where}",
        "server": server,
        "tool": tool,
        "arguments": dict(arguments),
        "source": f"{where}" if (doi or url) else UNVERIFIED,
    }
    if doi:
        citation["doi"] = doi
    if url or doi:
        citation["url"] = url or f"https://doi.org/{doi}"
    key = f"mcp/{server}/{tool}/{json.dumps(dict(arguments), sort_keys=True, default=str)}"
    eid = ctx.ledger.cite(
        "guideline",
        key,
        label=f"{tool} (MCP server {server})",
        excerpt=shown[:1500],
        citation=citation,
    )
    note = "" if (doi or url) else f" (no citable source given: marked '{UNVERIFIED}')"
    content = (
        f"[{eid}] result of {tool} from MCP server {server}{note}; cite it as [{eid}].\n{shown}"
    )
    return content, ToolArtifact(evidence=[eid], data={"server": server, "tool": tool})


def tool_name(server: str, tool: str) -> str:
    """``<server>__<tool>``, in the characters every tool-calling protocol accepts."""
    return _NAME_CHARS.sub("_", f"{server}{SEPARATOR}{tool}")[:64]


def _escaped_schema(value: Any) -> Any:
    """The input schema with every name and text (descriptions, titles, property names, enum
    values, defaults, examples) through the escaping function; a ``pattern`` is kept."""
    if isinstance(value, dict):
        return {
            untrusted(k, limit=200): v
            if k == "pattern" and isinstance(v, str)
            else _escaped_schema(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_escaped_schema(v) for v in value]
    if isinstance(value, str):
        return untrusted(value, limit=500)
    return value


def open_external(
    servers: Sequence[ServerSpec], *, timeout_s: float, connect_timeout_s: float
) -> tuple[list[BaseTool], list[str]]:
    """The allowed tools of every configured server, and a problem line per failure."""
    tools: list[BaseTool] = []
    problems: list[str] = []
    for spec in servers:
        connection = McpConnection(spec, connect_timeout_s=connect_timeout_s)
        try:
            listed = {t.name: t for t in connection.open()}
        except McpUnavailable as exc:
            connection.close()
            problems.append(f"MCP server {spec.name!r}: {untrusted(str(exc), limit=300)}")
            continue
        _OPEN.append(connection)
        missing = [name for name in spec.tools if name not in listed]
        if missing:
            problems.append(
                f"MCP server {spec.name!r} has no tool(s) {', '.join(map(repr, missing))}"
            )
        for name in spec.tools:
            if name not in listed:
                continue
            remote = listed[name]
            schema = _escaped_schema(dict(remote.input_schema or {"type": "object"}))
            schema.setdefault("type", "object")
            schema.setdefault("properties", {})
            schema["title"] = tool_name(spec.name, name)
            description = untrusted(remote.description or remote.title or name, limit=1000)
            tools.append(
                McpTool(
                    name=tool_name(spec.name, name),
                    description=f"{description} (external tool from MCP server {spec.name})",
                    args_schema=schema,
                    connection=connection,
                    server=spec.name,
                    remote=name,
                    timeout_s=timeout_s,
                    metadata={"mcp_server": spec.name},
                )
            )
    return tools, problems


def _reason(exc: BaseException) -> str:
    """A one-line reason, looking inside exception groups (anyio task groups raise them)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc).strip() or type(exc).__name__
    return untrusted(f"{type(exc).__name__}: {text}", limit=300)
