"""The OpenAI-compatible client (vLLM or any other server), with the tool-call setting.

A ``ChatOpenAI`` plus the one thing ``call_model`` needs to know about it: whether
to ask the server to constrain tool calls (vLLM ``structured_outputs``; see
:mod:`agent.models.constrained`). A server that refuses is detected from its answer.

Plain (not streamed) chat completions take a shorter road: the request body that
``ChatOpenAI`` builds goes to the server as it is, through the same ``openai``
client (so the same retries, timeouts and error types), without the SDK re-checking
every field of every message against its typed schema on the way out and building
typed objects on the way back. On a busy service that checking was the largest
single cost of a turn (benchmarks/serve_load.py); streaming, structured-output
parsing and the Responses API keep the stock path.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, Literal

import openai
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult
from langchain_openai import ChatOpenAI
from pydantic import PrivateAttr

_REQUEST_OPTIONS = ("extra_headers", "extra_query", "extra_body", "timeout")


class LingshuChatOpenAI(ChatOpenAI):
    """``ChatOpenAI`` for Lingshu served by vLLM (or another OpenAI-compatible server)."""

    constrained_tools: Literal["on", "off", "auto"] = "auto"
    """Send vLLM's ``structured_outputs`` for the offered tools (off: never)."""

    _clients_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = PrivateAttr(
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
        response = self.root_client.post(
            "/chat/completions", body=body, options=options, cast_to=object
        )
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
        response = await self._loop_client().post(
            "/chat/completions", body=body, options=options, cast_to=object
        )
        return self._result(response)

    def _loop_client(self) -> Any:
        """The async client for the running event loop, over aiohttp where it is installed.

        aiohttp costs a busy service far less CPU per request than the default async
        transport, but its connections belong to one event loop: hence a client per loop.
        """
        loop = asyncio.get_running_loop()
        client = self._clients_by_loop.get(loop)
        if client is None:
            try:
                transport = openai.DefaultAioHttpClient()
            except RuntimeError:  # aiohttp is not installed: the default transport
                client = self.root_async_client
            else:
                client = self.root_async_client.copy(http_client=transport)
            self._clients_by_loop[loop] = client
        return client

    async def aclose_loop_client(self) -> None:
        """Close this event loop's client (a service calls it as it shuts down)."""
        client = self._clients_by_loop.pop(asyncio.get_running_loop(), None)
        if client is not None and client is not self.root_async_client:
            await client.close()

    def _needs_stock_path(self, payload: dict[str, Any]) -> bool:
        return bool(
            payload.get("stream")
            or "response_format" in payload
            or self._use_responses_api(payload)
            or self.include_response_headers
        )

    def _result(self, response: Any) -> ChatResult:
        if not isinstance(response, dict):
            raise ValueError(f"the model server answered {type(response).__name__}, not JSON")
        return self._create_chat_result(response, {})


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
