"""The OpenAI-compatible client (vLLM or any other server), with the tool-call setting.

A ``ChatOpenAI`` plus the one thing ``call_model`` needs to know about it: whether
to ask the server to constrain tool calls (vLLM ``structured_outputs``; see
:mod:`agent.models.constrained`). A server that refuses is detected from its answer.

Plain (not streamed) chat completions take a shorter road: the request body that
``ChatOpenAI`` builds goes to the server as it is, without the SDK re-checking every
field of every message against its typed schema on the way out and building typed
objects on the way back. On a busy service that checking was the largest single cost
of a turn (benchmarks/serve_load.py). Sync calls go through the ``openai`` client.
Async calls go straight over aiohttp (:class:`_AioLane`), with the SDK's retry policy,
timeouts and error types, which cost a third of the SDK's own async path in CPU;
a client configured with its own HTTP client, a proxy or a credential provider
keeps the SDK. Streaming, structured-output parsing and the Responses API keep the
stock path.
"""

from __future__ import annotations

import asyncio
import json
import random
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from time import time
from typing import Any, Literal
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import openai
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI
from pydantic import PrivateAttr

from agent.models.calling import ABANDONED
from agent.models.errors import ModelReplyInvalid

try:  # the HTTP types the openai client raises with: httpx2 from openai 3, httpx before
    import httpx2 as _http
except ImportError:  # pragma: no cover - depends on the installed openai
    import httpx as _http  # type: ignore[no-redef]

_REQUEST_OPTIONS = ("extra_headers", "extra_query", "extra_body", "timeout")
_RETRY_AFTER_MAX_S = 120.0  # the SDK's: a longer Retry-After is not waited for
_MIN_BODY_BYTES = 64 * 1024 * 1024
"""The aiohttp lane reads at most this much of a reply body (or 8 bytes a reply
character, if more): a server that ignores max_tokens cannot fill the memory. A body
within it is parsed and its text cut at ``max_reply_chars``; one past it is refused."""


class LingshuChatOpenAI(ChatOpenAI):
    """``ChatOpenAI`` for Lingshu served by vLLM (or another OpenAI-compatible server)."""

    constrained_tools: Literal["on", "off", "auto"] = "auto"
    """Send vLLM's ``structured_outputs`` for the offered tools (off: never)."""
    max_reply_chars: int | None = None
    """A streamed reply stops being read past this many characters (None: no cap)."""

    _loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClients] = PrivateAttr(
        default_factory=weakref.WeakKeyDictionary
    )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        payload = self._get_request_payload(messages, stop=stop, **kwargs)
        if self._needs_stock_path(payload):
            return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)
        body, options = _request(payload)
        try:
            response = self.root_client.post(
                "/chat/completions", body=body, options=options, cast_to=object
            )
        except ValueError as exc:  # the SDK parses a 200 body as JSON
            raise ModelReplyInvalid(f"the model server's reply is not JSON ({exc})") from exc
        return self._result(response)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        payload = self._get_request_payload(messages, stop=stop, **kwargs)
        if self._needs_stock_path(payload):
            return await super()._agenerate(messages, stop=stop, run_manager=run_manager, **kwargs)
        body, options = _request(payload)
        lane = await self._lane()
        if lane is not None and not options:
            return self._result(await lane.post(body))
        response = await (await self._loop_client()).post(
            "/chat/completions", body=body, options=options, cast_to=object
        )
        return self._result(response)

    async def _lane(self) -> _AioLane | None:
        """The running loop's aiohttp lane, or None where the SDK must carry the call."""
        clients = self._loop_clients()
        if not clients.lane_checked:
            clients.lane_checked = True
            if self._plain_client():
                clients.lane = _AioLane.for_client(self.root_async_client, self.max_reply_chars)
            if clients.lane is not None:
                await clients.close_with_loop(clients.lane.session.close)
        return clients.lane

    def _plain_client(self) -> bool:
        client = self.root_async_client
        return (
            self.http_async_client is None
            and not self.openai_proxy
            and getattr(client, "_provider_runtime", None) is None
            and getattr(client, "workload_identity", None) is None
            and bool(client.auth_headers)
        )

    async def _loop_client(self) -> Any:
        """The async client for the running event loop, over aiohttp where it is installed.

        aiohttp costs a busy service far less CPU per request than the default async
        transport, but its connections belong to one event loop: hence a client per loop.
        """
        clients = self._loop_clients()
        if clients.sdk is None:
            try:
                transport = openai.DefaultAioHttpClient()
            except RuntimeError:  # aiohttp is not installed: the default transport
                clients.sdk = self.root_async_client
            else:
                clients.sdk = self.root_async_client.copy(http_client=transport)
                await clients.close_with_loop(clients.sdk.close)
        return clients.sdk

    def _loop_clients(self) -> _LoopClients:
        return self._loops.setdefault(asyncio.get_running_loop(), _LoopClients())

    async def aclose_loop_client(self) -> None:
        """Close this event loop's clients (a service calls it as it shuts down)."""
        clients = self._loops.pop(asyncio.get_running_loop(), None)
        if clients is not None:
            await clients.aclose()

    def _needs_stock_path(self, payload: dict[str, Any]) -> bool:
        return bool(
            payload.get("stream")
            or "response_format" in payload
            or self._use_responses_api(payload)
            or self.include_response_headers
        )

    def _result(self, response: Any) -> ChatResult:
        return self._create_chat_result(completion(response), {})

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """The stock stream, read up to ``max_reply_chars``; a stream that carries no
        reply (no chunk, or neither text nor a tool call) is ``ModelReplyInvalid``."""
        cap = _StreamCap(self.max_reply_chars)
        abandoned = ABANDONED.get()
        try:
            for chunk in super()._stream(messages, stop=stop, run_manager=run_manager, **kwargs):
                if abandoned is not None and abandoned.is_set():
                    return  # the turn went on without this call: stop reading
                yield from cap.take(chunk)
                if cap.full:
                    return
        except ValueError as exc:  # a frame that is not JSON
            raise ModelReplyInvalid(f"the model server's stream is not JSON ({exc})") from exc
        cap.finish()

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        cap = _StreamCap(self.max_reply_chars)
        stream = super()._astream(messages, stop=stop, run_manager=run_manager, **kwargs)
        try:
            async for chunk in stream:
                for piece in cap.take(chunk):
                    yield piece
                if cap.full:
                    break
        except ValueError as exc:
            raise ModelReplyInvalid(f"the model server's stream is not JSON ({exc})") from exc
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()  # stops reading the server's stream
        if not cap.full:
            cap.finish()


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


@dataclass
class _StreamCap:
    """Counts a stream's text against the cap, cuts the chunk that crosses it."""

    cap: int | None
    chunks: int = 0
    chars: int = 0
    calls: bool = False
    full: bool = False

    def take(self, chunk: ChatGenerationChunk) -> Iterator[ChatGenerationChunk]:
        self.chunks += 1
        message = chunk.message
        if isinstance(message, AIMessageChunk) and message.tool_call_chunks:
            self.calls = True
        text = message.content if isinstance(message.content, str) else ""
        if self.cap is None or self.chars + len(text) <= self.cap:
            self.chars += len(text)
            yield chunk
            return
        keep = self.cap - self.chars
        self.chars, self.full = self.cap, True
        if keep > 0:
            yield ChatGenerationChunk(message=AIMessageChunk(content=text[:keep]))
        marker = AIMessageChunk(content="", response_metadata={"lingshu_cut": self.cap})
        yield ChatGenerationChunk(message=marker)

    def finish(self) -> None:
        if not self.chunks:
            raise ModelReplyInvalid("the model server's stream carried no reply")
        if not self.chars and not self.calls:
            raise ModelReplyInvalid("the model sent an empty reply (no text and no tool call)")


def _request(payload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON body and the client options of a request ``ChatOpenAI`` built as a payload."""
    body = {k: v for k, v in payload.items() if k not in _REQUEST_OPTIONS}
    body.update(payload.get("extra_body") or {})
    options: dict[str, Any] = {}
    if payload.get("extra_headers"):
        options["headers"] = payload["extra_headers"]
    if payload.get("extra_query"):
        options["params"] = payload["extra_query"]
    if payload.get("timeout") is not None:
        options["timeout"] = payload["timeout"]
    return body, options


@dataclass
class _LoopClients:
    """What model calls use on one event loop; connections belong to the loop they open on."""

    lane: _AioLane | None = None
    lane_checked: bool = False
    sdk: Any = None  # the openai client over this loop's transport, when the lane cannot serve
    closers: list[AsyncGenerator[None, None]] = field(default_factory=list)

    async def close_with_loop(self, close: Callable[[], Awaitable[Any]]) -> None:
        """Have ``close`` awaited when the loop shuts down, or by ``aclose``: whichever
        comes first. (``asyncio.run`` and uvicorn close a loop's suspended async
        generators as they stop; this one waits for that.)"""
        closing = _closing(close)
        await anext(closing)
        self.closers.append(closing)

    async def aclose(self) -> None:
        for closing in self.closers:
            await closing.aclose()
        self.closers.clear()


@dataclass
class _AioLane:
    """Chat completions over one event loop's aiohttp session, as the ``openai`` client
    would send them: its headers, timeouts, retries (connection errors, timeouts, 408,
    409, 429 and 5xx, with its back-off and ``Retry-After``) and its exception types."""

    client: Any  # the AsyncOpenAI it stands in for: headers, limits and error types
    session: Any  # aiohttp.ClientSession
    url: str
    headers: dict[str, str]
    timeout: Any  # aiohttp.ClientTimeout
    proxy: str | None = None
    max_body_bytes: int = _MIN_BODY_BYTES

    @classmethod
    def for_client(cls, client: Any, max_reply_chars: int | None = None) -> _AioLane | None:
        try:
            import aiohttp
        except ImportError:  # the extra is missing: the SDK carries the calls
            return None
        headers = {
            k: v
            for k, v in {**client.default_headers, **client.auth_headers}.items()
            if isinstance(v, str)
        }
        limit = client.timeout
        if isinstance(limit, _http.Timeout):
            timeout = aiohttp.ClientTimeout(sock_connect=limit.connect, sock_read=limit.read)
        else:  # a number of seconds (or None) for every phase, as httpx reads it
            timeout = aiohttp.ClientTimeout(sock_connect=limit, sock_read=limit)
        # The SDK's pool holds up to 1,000 connections; aiohttp's default would be 100.
        # The proxy is read from the environment once, as httpx does: aiohttp's
        # ``trust_env`` would read it (and ~/.netrc) again on every request.
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1000))
        url = str(client.base_url).rstrip("/") + "/chat/completions"
        most = max(_MIN_BODY_BYTES, 8 * (max_reply_chars or 0))
        return cls(client, session, url, headers, timeout, _env_proxy(url), most)

    async def post(self, body: dict[str, Any]) -> Any:
        import aiohttp

        data = json.dumps(body).encode()
        retries = self.client.max_retries
        for taken in range(retries + 1):
            last = taken == retries
            try:
                async with self.session.post(
                    self.url,
                    data=data,
                    headers=self.headers,
                    timeout=self.timeout,
                    proxy=self.proxy,
                ) as res:
                    content = await _read_bounded(res, self.max_body_bytes)
                    status, headers = res.status, res.headers
            except (aiohttp.ClientError, OSError) as exc:  # aiohttp's timeouts: TimeoutError
                if last:
                    timed_out = isinstance(exc, TimeoutError)
                    failed = openai.APITimeoutError if timed_out else openai.APIConnectionError
                    raise failed(request=self._request()) from exc
                await asyncio.sleep(_backoff(taken, None))
                continue
            if 200 <= status < 300:
                try:
                    return json.loads(content)
                except ValueError:
                    return content.decode(errors="replace")
            if not last and _should_retry(status, headers):
                await asyncio.sleep(_backoff(taken, headers))
                continue
            response = _http.Response(
                status, headers=list(headers.items()), content=content, request=self._request()
            )
            raise self._status_error(response)
        raise AssertionError("unreachable: the last try returns or raises")

    def _request(self) -> _http.Request:
        return _http.Request("POST", self.url)

    def _status_error(self, response: _http.Response) -> openai.APIStatusError:
        make = getattr(self.client, "_make_status_error_from_response", None)
        if make is not None:  # the SDK's own mapping: BadRequestError, RateLimitError, ...
            error: openai.APIStatusError = make(response)
            return error
        return openai.APIStatusError(
            f"Error code: {response.status_code}", response=response, body=response.text
        )


async def _read_bounded(res: Any, most: int) -> bytes:
    """The response body, or ``ModelReplyInvalid`` once it passes ``most`` bytes."""
    parts, size = [], 0
    async for part in res.content.iter_chunked(1 << 16):
        size += len(part)
        if size > most:
            raise ModelReplyInvalid(f"the model server's reply is over {most:,} bytes")
        parts.append(part)
    return b"".join(parts)


async def _closing(close: Callable[[], Awaitable[Any]]) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await close()


def _env_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url`` (HTTP(S)_PROXY, NO_PROXY), if any."""
    parts = urlsplit(url)
    proxy = getproxies().get(parts.scheme)
    if not proxy or proxy_bypass(parts.hostname or ""):
        return None
    return proxy


def _should_retry(status: int, headers: Any) -> bool:
    """The SDK's rule: the server's ``x-should-retry`` first, then the status."""
    after = _retry_after(headers)
    if after is not None and after > _RETRY_AFTER_MAX_S:
        return False
    said = headers.get("x-should-retry")
    if said in ("true", "false"):
        return said == "true"
    return status in (408, 409, 429) or status >= 500


def _backoff(taken: int, headers: Any) -> float:
    """Seconds before the next try: the server's Retry-After, else 0.5 s doubling to 8 s,
    less up to a quarter at random."""
    after = _retry_after(headers) if headers is not None else None
    if after is not None and 0 < after <= _RETRY_AFTER_MAX_S:
        return after
    return min(0.5 * 2.0**taken, 8.0) * (1 - 0.25 * random.random())


def _retry_after(headers: Any) -> float | None:
    if headers is None:
        return None
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value).timestamp() - time()
    except (TypeError, ValueError):
        return None
