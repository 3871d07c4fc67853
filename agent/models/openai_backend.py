"""The OpenAI-compatible client (vLLM or any other server), on public API only.

``LingshuChatOpenAI`` is a langchain-core chat model written the documented way (it
implements ``_generate``, ``_agenerate``, ``_stream`` and ``_astream``) that sends every
request through a stock ``ChatOpenAI``, by its public methods (``invoke``, ``ainvoke``,
``stream``, ``astream``). Retries, back-off, timeouts, proxies and error types are the
openai SDK's own (``max_retries``, ``timeout``). What it adds:

- the reply check: a response event hook of the HTTP client (``event_hooks``, public in
  httpx) refuses a plain reply that is not a chat completion with a reply in it (not
  JSON, no choices, no message, empty), naming what is wrong (``ModelReplyInvalid``);
- the reply cap on a stream (``max_reply_chars``): the stream stops being read there,
  and a synchronous stream also stops once the turn stopped waiting for it;
- async calls over the SDK's public aiohttp client (``openai.DefaultAioHttpClient``, the
  ``openai[aiohttp]`` extra), one per event loop, since aiohttp connections belong to
  the loop they open on, closed when that loop ends (or by ``aclose_loop_client``).

A plain (not streamed) call that ``agent/models/openai_wire.py`` can build exactly is
sent by the SDK's documented ``client.post("/chat/completions", ...)`` instead, with the
body ``ChatOpenAI`` would send: the stock path's request transform and response model
cost about 1 ms of CPU a call (BENCHMARKS.md, "Model client: plain calls by the SDK's
post"). Same HTTP client, hooks, retries, timeouts and errors either way.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import openai
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_openai import ChatOpenAI
from pydantic import ConfigDict, Field, PrivateAttr, SecretStr

from agent.models.calling import ABANDONED
from agent.models.errors import ModelReplyInvalid
from agent.models.openai_wire import completion, reply_message, wire_body

MAX_BODY_BYTES = 64 * 1024 * 1024
"""A plain reply that announces a longer body than this (or 8 bytes a reply character,
if more) is refused before it is read: a server that ignores max_tokens cannot fill the
memory. A body within it is parsed, and its text cut at ``max_reply_chars``."""

_QUIET: RunnableConfig = {"callbacks": []}
"""The inner ``ChatOpenAI`` runs without the caller's callbacks: this model reports the
call (and streams its tokens) once, itself."""


class LingshuChatOpenAI(BaseChatModel):
    """A chat model for Lingshu served by vLLM (or another OpenAI-compatible server)."""

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    model_name: str = Field(default="lingshu", alias="model")
    openai_api_base: str = Field(alias="base_url")
    openai_api_key: SecretStr = Field(default=SecretStr("EMPTY"), alias="api_key")
    temperature: float | None = None
    top_p: float | None = None
    max_completion_tokens: int | None = None
    request_timeout: float | None = Field(default=None, alias="timeout")
    """Seconds one request may wait for the server (the SDK's ``timeout``)."""
    max_retries: int = 2
    """The SDK's retries (connection errors, timeouts, 408, 409, 429, 5xx)."""
    default_headers: dict[str, str] | None = None
    extra_body: dict[str, Any] | None = None
    """Sent in every request body (vLLM's sampling extras, e.g. repetition_penalty)."""
    constrained_tools: Literal["on", "off", "auto"] = "auto"
    """Send vLLM's ``structured_outputs`` for the offered tools (off: never)."""
    max_reply_chars: int | None = None
    """A streamed reply stops being read past this many characters (None: no cap)."""

    _sync_model: ChatOpenAI | None = PrivateAttr(default=None)
    _sync_client: openai.OpenAI | None = PrivateAttr(default=None)
    _loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopModel] = PrivateAttr(
        default_factory=weakref.WeakKeyDictionary
    )

    @property
    def _llm_type(self) -> str:
        return "lingshu-openai"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "base_url": self.openai_api_base}

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | Any],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Offer ``tools`` to the server (OpenAI tool format), as ``ChatOpenAI`` does."""
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def chat_openai(self, **http: Any) -> ChatOpenAI:
        """A stock ``ChatOpenAI`` with these settings, over ``http`` (its public client options)."""
        return ChatOpenAI(
            model=self.model_name,
            base_url=self.openai_api_base,
            api_key=self.openai_api_key,
            temperature=self.temperature,
            top_p=self.top_p,
            max_completion_tokens=self.max_completion_tokens,
            timeout=self.request_timeout,
            max_retries=self.max_retries,
            default_headers=self.default_headers,
            extra_body=self.extra_body,
            http_client=http.get("http_client"),
            http_async_client=http.get("http_async_client"),
        )

    def openai_client(self, *, http_client: Any = None) -> openai.OpenAI:
        """The openai SDK client with these settings, over ``http_client``."""
        return openai.OpenAI(**self._client_args(), http_client=http_client)

    def async_openai_client(self, *, http_client: Any = None) -> openai.AsyncOpenAI:
        """The async openai SDK client with these settings, over ``http_client``."""
        return openai.AsyncOpenAI(**self._client_args(), http_client=http_client)

    def _client_args(self) -> dict[str, Any]:
        return {
            "base_url": self.openai_api_base,
            "api_key": self.openai_api_key.get_secret_value(),
            "timeout": self.request_timeout,
            "max_retries": self.max_retries,
            "default_headers": self.default_headers,
        }

    def _wire(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, openai.RequestOptions]:
        """The body of a plain call sent by the SDK's ``post`` (None: by ``ChatOpenAI``),
        and its request options (the call's ``timeout``)."""
        params = {
            "model_name": self.model_name,
            "max_completion_tokens": self.max_completion_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "extra_body": self.extra_body,
        }
        body = wire_body(params, messages, stop, kwargs)
        options: openai.RequestOptions = {}
        if "timeout" in kwargs:
            options["timeout"] = kwargs["timeout"]
        return body, options

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self._sync_model is None or self._sync_client is None:
            http = _sync_http(_body_limit(self.max_reply_chars))
            self._sync_model = self.chat_openai(http_client=http)
            self._sync_client = self.openai_client(http_client=http)
        body, options = self._wire(messages, stop, kwargs)
        if body is None:
            reply = self._sync_model.invoke(messages, _QUIET, stop=stop, **kwargs)
        else:
            sent = self._sync_client.post(
                "/chat/completions", cast_to=object, body=body, options=options
            )
            reply = reply_message(completion(sent))
        return ChatResult(generations=[ChatGeneration(message=reply)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        held = await self._loop_held()
        body, options = self._wire(messages, stop, kwargs)
        if body is None:
            reply = await held.model.ainvoke(messages, _QUIET, stop=stop, **kwargs)
        else:
            sent = await held.client.post(
                "/chat/completions", cast_to=object, body=body, options=options
            )
            reply = reply_message(completion(sent))
        return ChatResult(generations=[ChatGeneration(message=reply)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """The stream, read up to ``max_reply_chars``; a stream that carries no reply
        (no chunk, or neither text nor a tool call) is ``ModelReplyInvalid``."""
        if self._sync_model is None:
            self._sync_model = self.chat_openai(http_client=_sync_http(self._limit()))
        cap = _StreamCap(self.max_reply_chars)
        abandoned = ABANDONED.get()
        try:
            for piece in self._sync_model.stream(messages, _QUIET, stop=stop, **kwargs):
                if abandoned is not None and abandoned.is_set():
                    return  # the turn went on without this call: stop reading
                yield from cap.take(piece)
                if cap.full:
                    return
        except ValueError as exc:  # a frame that is not JSON, or no frame at all
            raise cap.failed(exc) from exc
        cap.finish()

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        cap = _StreamCap(self.max_reply_chars)
        stream = (await self._loop_held()).model.astream(messages, _QUIET, stop=stop, **kwargs)
        try:
            async for piece in stream:
                for chunk in cap.take(piece):
                    yield chunk
                if cap.full:
                    break
        except ValueError as exc:
            raise cap.failed(exc) from exc
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()  # stops reading the server's stream
        if not cap.full:
            cap.finish()

    def _limit(self) -> int:
        return _body_limit(self.max_reply_chars)

    async def _loop_held(self) -> _LoopModel:
        """The ``ChatOpenAI`` and SDK client of the running event loop, both over one
        HTTP client (aiohttp where installed)."""
        loop = asyncio.get_running_loop()
        held = self._loops.get(loop)
        if held is None:
            http = _async_http(self._limit())
            model = self.chat_openai(http_async_client=http)
            client = self.async_openai_client(http_client=http)
            held = self._loops[loop] = _LoopModel(model, client)
            await held.close_with_loop(http.aclose)
        return held

    async def aclose_loop_client(self) -> None:
        """Close this event loop's connections (a service calls it as it shuts down)."""
        held = self._loops.pop(asyncio.get_running_loop(), None)
        if held is not None:
            await held.aclose()


@dataclass
class _StreamCap:
    """Counts a stream's text against the cap, cuts the chunk that crosses it."""

    cap: int | None
    chunks: int = 0
    chars: int = 0
    calls: bool = False
    full: bool = False

    def take(self, message: BaseMessage) -> Iterator[ChatGenerationChunk]:
        self.chunks += 1
        if not isinstance(message, AIMessageChunk):
            raise ModelReplyInvalid(f"the model's stream sent {type(message).__name__}")
        if message.tool_call_chunks:
            self.calls = True
        text = message.content if isinstance(message.content, str) else ""
        if self.cap is None or self.chars + len(text) <= self.cap:
            self.chars += len(text)
            yield ChatGenerationChunk(message=message)
            return
        keep = self.cap - self.chars
        self.chars, self.full = self.cap, True
        if keep > 0:
            yield ChatGenerationChunk(message=AIMessageChunk(content=text[:keep]))
        marker = AIMessageChunk(content="", response_metadata={"lingshu_cut": self.cap})
        yield ChatGenerationChunk(message=marker)

    def failed(self, exc: ValueError) -> ModelReplyInvalid:
        """What a ``ValueError`` while reading the stream means: a frame that is not JSON,
        or (no chunk read, the stream ended) no reply at all."""
        if not self.chunks and not isinstance(exc, json.JSONDecodeError):
            return ModelReplyInvalid("the model server's stream carried no reply")
        return ModelReplyInvalid(f"the model server's stream is not JSON ({exc})")

    def finish(self) -> None:
        if not self.chunks:
            raise ModelReplyInvalid("the model server's stream carried no reply")
        if not self.chars and not self.calls:
            raise ModelReplyInvalid("the model sent an empty reply (no text and no tool call)")


def _body_limit(max_reply_chars: int | None) -> int:
    return max(MAX_BODY_BYTES, 8 * (max_reply_chars or 0))


def _sync_http(limit: int) -> Any:
    return openai.DefaultHttpxClient(event_hooks={"response": [_ReplyCheck(limit)]})


def _async_http(limit: int) -> Any:
    """The SDK's aiohttp client, or its default async client where aiohttp is missing."""
    hooks = {"response": [_ReplyCheck(limit).acheck]}
    try:
        return openai.DefaultAioHttpClient(event_hooks=hooks)
    except RuntimeError:  # the openai[aiohttp] extra is not installed
        return openai.DefaultAsyncHttpxClient(event_hooks=hooks)


@dataclass(frozen=True)
class _ReplyCheck:
    """A response hook: a plain chat-completion reply is read and checked before the SDK
    parses it. Streams, other paths and error statuses pass (the SDK handles those)."""

    limit: int

    def __call__(self, response: Any) -> None:
        if self._applies(response):
            response.read()
            self._check(response.content)

    async def acheck(self, response: Any) -> None:
        if self._applies(response):
            await response.aread()
            self._check(response.content)

    def _applies(self, response: Any) -> bool:
        request = response.request
        if not (200 <= response.status_code < 300 and request.method == "POST"):
            return False
        if not request.url.path.endswith("/chat/completions") or _streamed(request.content):
            return False
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.limit:
            raise ModelReplyInvalid(f"the model server's reply is over {self.limit:,} bytes")
        return True

    @staticmethod
    def _check(content: bytes) -> None:
        try:
            parsed = json.loads(content)
        except ValueError:
            parsed = content.decode(errors="replace")
        except RecursionError as exc:
            raise ModelReplyInvalid("the model server's reply is nested too deeply") from exc
        completion(parsed)


def _streamed(body: bytes) -> bool:
    """Whether a request body (the SDK's compact JSON) asks for a stream."""
    return b'"stream":true' in body or b'"stream": true' in body


@dataclass
class _LoopModel:
    """One event loop's ``ChatOpenAI``, and what closes its connections with the loop."""

    model: ChatOpenAI
    client: openai.AsyncOpenAI
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


async def _closing(close: Callable[[], Awaitable[Any]]) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await close()
