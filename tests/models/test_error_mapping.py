"""Every exception a model client can raise ends in one ModelCallFailed kind.

``agent/models/calling.py`` must turn any of them (the SDK's errors, httpx and aiohttp
errors that escape the SDK, and the client's own AttributeError/TypeError after an
upgrade) into the model-error path, so the turn gives the evidence brief.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import httpx
import httpx2
import openai
import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.outputs import ChatResult

from agent.models.calling import acall_model, call_model, failure
from agent.models.errors import ModelCallFailed, ModelReplyInvalid

REQUEST = httpx2.Request("POST", "http://127.0.0.1:9/v1/chat/completions")


def _status(code: int) -> openai.APIStatusError:
    response = httpx2.Response(code, json={"error": {"message": "CUDA OOM"}}, request=REQUEST)
    error = openai.InternalServerError if code >= 500 else openai.BadRequestError
    return error("Error", response=response, body={"message": "CUDA OOM"})


def _wrapped(outer: BaseException, inner: BaseException) -> BaseException:
    outer.__cause__ = inner
    return outer


CASES: list[tuple[str, BaseException, str]] = [
    ("renamed member", AttributeError("no attribute '_create_chat_result'"), "model_client_error"),
    ("changed signature", TypeError("unexpected keyword 'http_client'"), "model_client_error"),
    ("key error", KeyError("choices"), "model_client_error"),
    ("plain api error", openai.APIError("boom", REQUEST, body=None), "model_unreachable"),
    ("status 400", _status(400), "model_http_error"),
    ("status 500", _status(500), "model_http_error"),
    ("timeout", openai.APITimeoutError(request=REQUEST), "model_timeout"),
    (
        "refused under a timeout",
        _wrapped(openai.APITimeoutError(request=REQUEST), ConnectionRefusedError(111, "refused")),
        "model_unreachable",
    ),
    ("connection", openai.APIConnectionError(request=REQUEST), "model_unreachable"),
    (
        "body cut",
        _wrapped(
            openai.APIConnectionError(request=REQUEST),
            httpx2.ReadError("Response payload is not completed"),
        ),
        "model_bad_reply",
    ),
    (
        "bad validation",
        openai.APIResponseValidationError(httpx2.Response(200, request=REQUEST), None),
        "model_bad_reply",
    ),
    ("json", json.JSONDecodeError("Expecting value", "x", 0), "model_bad_reply"),
    ("httpx", httpx.ConnectError("refused"), "model_unreachable"),
    ("httpx2", httpx2.RemoteProtocolError("peer closed"), "model_unreachable"),
    (
        "aiohttp unmapped",
        aiohttp.ClientPayloadError("Response payload is not completed"),
        "model_bad_reply",
    ),
    ("aiohttp", aiohttp.ClientConnectionError("reset"), "model_unreachable"),
    ("asyncio timeout", TimeoutError(), "model_timeout"),
    ("recursion", RecursionError(), "model_bad_reply"),
    (
        "wrapped reply check",
        _wrapped(RuntimeError("x"), ModelReplyInvalid("no choices")),
        "model_bad_reply",
    ),
]


@pytest.mark.parametrize(("name", "exc", "kind"), CASES, ids=[c[0] for c in CASES])
def test_every_client_exception_maps_to_a_model_error(
    name: str, exc: BaseException, kind: str
) -> None:
    mapped = failure(exc)
    assert isinstance(mapped, ModelCallFailed)
    assert mapped.kind == kind, (name, str(mapped))
    assert str(mapped).startswith(f"{kind}: ")


class _Broken(BaseChatModel):
    """A chat model whose client library fails inside, as an upgraded dependency would."""

    error: Any

    @property
    def _llm_type(self) -> str:
        return "broken"

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        AttributeError("'AsyncOpenAI' object has no attribute 'post'"),
        TypeError("create() got an unexpected keyword argument 'stream_usage'"),
        openai.APIConnectionError(request=REQUEST),
        httpx2.ReadTimeout("timed out"),
    ],
    ids=["attribute", "type", "sdk", "httpx2"],
)
def test_a_call_raises_only_model_call_failed(error: Exception) -> None:
    model = _Broken(error=error)
    with pytest.raises(ModelCallFailed):
        call_model(model, [HumanMessage("Chest pain?")])
    with pytest.raises(ModelCallFailed):
        call_model(model, [HumanMessage("Chest pain?")], deadline=1e12)
    with pytest.raises(ModelCallFailed):
        asyncio.run(acall_model(model, [HumanMessage("Chest pain?")], deadline=1e12))
