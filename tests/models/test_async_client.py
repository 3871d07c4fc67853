"""Async chat completions over the SDK's aiohttp client: same wire, retries and errors as sync."""

from __future__ import annotations

import asyncio
import gc
import socket
from typing import Any

import openai
import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from agent.models.calling import ModelCallFailed, acall_model
from agent.models.factory import load_chat_model
from agent.models.openai_backend import LingshuChatOpenAI
from agent.settings import Settings
from tests.openai_server import serving

MESSAGES = [SystemMessage("You are Lingshu."), HumanMessage("Chest pain since this morning.")]


def _model(base_url: str, **kwargs: Any) -> LingshuChatOpenAI:
    kwargs = {"api_key": "sk-test", "model": "lingshu", "max_retries": 0} | kwargs
    return LingshuChatOpenAI(base_url=base_url, **kwargs)


async def _ask(model: Any, times: int = 1) -> list[Any]:
    try:
        return [await model.ainvoke(MESSAGES) for _ in range(times)]
    finally:
        await model.aclose_loop_client()


def _refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_async_call_sends_what_the_sdk_sends() -> None:
    with serving([{"content": "Sync answer."}, {"content": "Async answer."}]) as server:
        model = _model(server.base_url, default_headers={"X-Deployment": "ward-7"})
        sync_reply = model.invoke(MESSAGES)
        (async_reply,) = asyncio.run(_ask(model))
    assert (sync_reply.text, async_reply.text) == ("Sync answer.", "Async answer.")
    assert server.requests[0] == server.requests[1]  # the same JSON body, field for field
    sent = {k.lower(): v for k, v in server.headers[1].items()}
    assert sent["authorization"] == "Bearer sk-test"
    assert sent["x-deployment"] == "ward-7"
    assert sent["user-agent"].startswith("AsyncOpenAI/Python")
    assert async_reply.usage_metadata and async_reply.usage_metadata["total_tokens"] == 120


def test_server_errors_are_retried_with_backoff_then_answered() -> None:
    busy = {"status": 503, "error": "model is loading"}
    with serving([busy, {"status": 429, "error": "slow down"}, {"content": "Ready."}]) as server:
        (reply,) = asyncio.run(_ask(_model(server.base_url, max_retries=2)))
    assert reply.text == "Ready."
    assert len(server.requests) == 3


def test_a_bad_request_is_not_retried_and_raises_the_sdks_error() -> None:
    with (
        serving([{"status": 400, "error": "messages: field required"}]) as server,
        pytest.raises(openai.BadRequestError, match="messages: field required") as info,
    ):
        asyncio.run(_ask(_model(server.base_url, max_retries=2)))
    assert info.value.status_code == 400
    assert len(server.requests) == 1


def test_failures_reach_the_graph_as_clear_model_errors() -> None:
    async def failed(model: Any) -> str:
        try:
            await acall_model(model, MESSAGES)
        except ModelCallFailed as exc:
            return str(exc)
        finally:
            await model.aclose_loop_client()
        raise AssertionError("the call did not fail")

    down = Settings(base_url=f"http://127.0.0.1:{_refused_port()}/v1", connect_retries=0)
    assert "cannot connect to the model server" in asyncio.run(failed(load_chat_model(down)))

    with serving([{"status": 500, "error": "CUDA out of memory"}]) as server:
        said = asyncio.run(failed(_model(server.base_url)))
    assert "refused the request (HTTP 500: CUDA out of memory)" in said

    with serving([{"content": "Too late.", "delay_s": 2.0}]) as server:
        said = asyncio.run(failed(_model(server.base_url, timeout=0.5)))
    assert "did not answer in time" in said


def test_the_proxy_named_by_the_environment_carries_the_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with serving([{"content": "Through the proxy."}]) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url.removesuffix("/v1"))
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        # A host that does not resolve: only a proxy can have answered.
        (reply,) = asyncio.run(_ask(_model("http://lingshu-model.invalid:8000/v1")))
    assert reply.text == "Through the proxy."
    assert proxy.targets == ["http://lingshu-model.invalid:8000/v1/chat/completions"]


def test_a_loop_that_ends_leaves_no_connection_open(caplog: pytest.LogCaptureFixture) -> None:
    # A library user's asyncio.run(...) per question, never calling aclose_loop_client.
    with serving([{"content": "One."}, {"content": "Two."}]) as server:
        model = _model(server.base_url)
        replies = [asyncio.run(model.ainvoke(MESSAGES)) for _ in range(2)]
        del model
        gc.collect()
    assert [r.text for r in replies] == ["One.", "Two."]
    assert "Unclosed" not in caplog.text


def test_a_reply_body_past_the_limit_is_refused_before_it_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agent.models import openai_backend
    from agent.models.errors import ModelReplyInvalid
    from tests.models.faulty_server import faulty

    monkeypatch.setattr(openai_backend, "MAX_BODY_BYTES", 1_000_000)
    with faulty(["huge", "huge"]) as server:  # a 20 MB reply, its length announced
        model = _model(server.base_url)
        with pytest.raises(ModelReplyInvalid, match="over 1,000,000 bytes"):
            model.invoke(MESSAGES)
        with pytest.raises(ModelReplyInvalid, match="over 1,000,000 bytes"):
            asyncio.run(_ask(model))
