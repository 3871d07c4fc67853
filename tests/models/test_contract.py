"""What the model client relies on in langchain-openai, langchain-core and openai, checked.

``agent/models/openai_backend.py`` uses only public API: a stock ``ChatOpenAI`` built
with the settings and HTTP clients below and called by ``invoke``/``ainvoke``/``stream``/
``astream``; for plain calls, the SDK client's documented ``post`` with langchain-core's
``convert_to_openai_messages``, ``parse_tool_call`` and ``make_invalid_tool_call``
(``tests/models/test_wire_parity.py`` checks the body equals ``ChatOpenAI``'s); the
openai SDK's HTTP clients (``DefaultHttpxClient``, ``DefaultAioHttpClient``)
with an httpx response event hook; the SDK's exception types, which
``agent/models/calling.py`` maps to the model-error path. An upgrade that renames or
reshapes any of these fails here in CI, before a turn fails in service (where any such
failure still degrades to the evidence brief). pyproject.toml bounds both packages to
the versions this was checked against.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import openai
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_openai import ChatOpenAI

from agent.models.openai_backend import LingshuChatOpenAI
from testing.openai_server import serving

CHAT_OPENAI_ARGUMENTS = {
    "model": "m",
    "base_url": "http://127.0.0.1:9/v1",
    "api_key": "sk-test",
    "temperature": 0.0,
    "top_p": 1.0,
    "max_completion_tokens": 64,
    "timeout": 5.0,
    "max_retries": 0,
    "default_headers": {"X-Deployment": "ward-7"},
    "extra_body": {"repetition_penalty": 1.05},
    "stream_usage": True,
}
SDK_ERRORS = [
    (openai.APIError, openai.OpenAIError),
    (openai.APIStatusError, openai.APIError),
    (openai.APIConnectionError, openai.APIError),
    (openai.APITimeoutError, openai.APIConnectionError),
    (openai.APIResponseValidationError, openai.APIError),
    (openai.BadRequestError, openai.APIStatusError),
    (openai.RateLimitError, openai.APIStatusError),
    (openai.InternalServerError, openai.APIStatusError),
]


def test_chat_openai_takes_the_arguments_the_backend_passes() -> None:
    http = openai.DefaultHttpxClient()
    model = ChatOpenAI(**CHAT_OPENAI_ARGUMENTS, http_client=http, http_async_client=None)
    assert model.model_name == "m"
    assert model.openai_api_base == "http://127.0.0.1:9/v1"
    assert model.max_retries == 0 and model.request_timeout == 5.0
    assert model.extra_body == {"repetition_penalty": 1.05}
    assert model.http_client is http
    assert model.stream_usage is True


@pytest.mark.parametrize("method", ["invoke", "ainvoke", "stream", "astream"])
def test_the_public_call_methods_take_config_and_stop(method: str) -> None:
    params = inspect.signature(getattr(ChatOpenAI, method)).parameters
    assert list(params)[1:3] == ["input", "config"], f"ChatOpenAI.{method} changed: {params}"
    assert "stop" in params, f"ChatOpenAI.{method} no longer takes stop"


@pytest.mark.parametrize(
    "client", ["DefaultHttpxClient", "DefaultAsyncHttpxClient", "DefaultAioHttpClient"]
)
def test_the_sdk_http_clients_take_event_hooks(client: str) -> None:
    make = getattr(openai, client, None)
    assert make is not None, f"openai.{client} is gone"
    hooks = {"response": [lambda _: None]}
    http = make(event_hooks=hooks)
    assert http.event_hooks["response"] == hooks["response"]
    close = http.aclose if hasattr(http, "aclose") else None
    if close is not None:
        asyncio.run(close())
    else:
        http.close()


@pytest.mark.parametrize(("error", "base"), SDK_ERRORS)
def test_the_sdk_error_types_keep_their_family(error: type, base: type) -> None:
    assert issubclass(error, base), f"openai.{error.__name__} is no longer a {base.__name__}"


def test_a_status_error_carries_the_fields_the_error_path_reads() -> None:
    with (
        serving([{"status": 400, "error": "messages: field required"}]) as server,
        pytest.raises(openai.BadRequestError) as info,
    ):
        client = openai.OpenAI(base_url=server.base_url, api_key="sk", max_retries=0)
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == 400
    assert "messages: field required" in str(info.value.body)


@pytest.mark.parametrize("client", ["OpenAI", "AsyncOpenAI"])
def test_the_sdk_post_takes_what_the_plain_call_path_sends(client: str) -> None:
    """Plain calls go by ``client.post("/chat/completions", cast_to=object, body=...,
    options={"timeout": ...})`` (the SDK's documented way to reach any endpoint)."""
    params = inspect.signature(getattr(openai, client).post).parameters
    assert {"cast_to", "body", "options"} <= set(params), f"openai.{client}.post changed: {params}"


def test_the_sdk_post_gives_the_reply_as_parsed_json() -> None:
    body = {"model": "m", "stream": False, "messages": [{"role": "user", "content": "x"}]}
    with serving([{"content": "Plain."}]) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="sk", max_retries=0)
        reply = client.post("/chat/completions", cast_to=object, body=body, options={"timeout": 5})
    assert server.requests == [body]
    assert isinstance(reply, dict) and reply["choices"][0]["message"]["content"] == "Plain."


def test_the_core_converters_the_plain_call_path_uses_keep_their_shape() -> None:
    from langchain_core.messages import convert_to_openai_messages
    from langchain_core.output_parsers.openai_tools import make_invalid_tool_call, parse_tool_call

    call = AIMessage("", tool_calls=[{"name": "f", "args": {"a": 1}, "id": "c1"}])
    assert convert_to_openai_messages([HumanMessage("Hi"), call]) == [
        {"role": "user", "content": "Hi"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"type": "function", "id": "c1", "function": {"name": "f", "arguments": '{"a": 1}'}}
            ],
        },
    ]
    raw = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}
    assert parse_tool_call(raw, return_id=True) == {
        "name": "f",
        "args": {"a": 1},
        "id": "c1",
        "type": "tool_call",
    }
    assert make_invalid_tool_call(raw, "bad")["error"] == "bad"


def _hook_saw(seen: list[dict[str, Any]]) -> Any:
    def hook(response: Any) -> None:
        request = response.request
        seen.append(
            {
                "method": request.method,
                "path": request.url.path,
                "body": bytes(request.content),
                "status": response.status_code,
                "length": response.headers.get("content-length"),
            }
        )

    return hook


def test_the_response_hook_sees_the_request_the_reply_check_reads() -> None:
    seen: list[dict[str, Any]] = []
    with serving([{"content": "Plain."}, {"content": "Streamed."}]) as server:
        http = openai.DefaultHttpxClient(event_hooks={"response": [_hook_saw(seen)]})
        model = ChatOpenAI(model="m", base_url=server.base_url, api_key="sk", http_client=http)
        plain = model.invoke([HumanMessage("Hello")])
        streamed = "".join(str(c.content) for c in model.stream([HumanMessage("Hello")]))
    assert (plain.text, streamed) == ("Plain.", "Streamed.")
    assert [(s["method"], s["path"], s["status"]) for s in seen] == [
        ("POST", "/v1/chat/completions", 200)
    ] * 2
    assert b'"stream":true' not in seen[0]["body"]  # the SDK's compact JSON
    assert b'"stream":true' in seen[1]["body"]
    assert seen[0]["length"] is not None and seen[0]["length"].isdigit()


def test_the_reply_fields_the_turn_reads_come_back() -> None:
    call = {"name": "search_guidelines", "arguments": {"query": "chest pain"}}
    with serving([{"content": "", "tool_calls": [call]}, {"content": "Hi."}]) as server:
        model = LingshuChatOpenAI(base_url=server.base_url, api_key="sk", model="m")
        tool = {"type": "function", "function": {"name": "search_guidelines", "parameters": {}}}
        called = model.bind_tools([tool]).invoke([HumanMessage("Chest pain")])
        plain = model.invoke([HumanMessage("Hello")])
    assert isinstance(called, AIMessage)
    assert [(c["name"], c["args"]) for c in called.tool_calls] == [
        ("search_guidelines", {"query": "chest pain"})
    ]
    assert server.requests[0]["tools"] == [tool]
    assert plain.text == "Hi."
    assert plain.usage_metadata and plain.usage_metadata["total_tokens"] > 0
    assert plain.response_metadata.get("finish_reason") == "stop"
