"""The non-public members of langchain-openai and openai the backend relies on, checked.

``agent/models/openai_backend.py`` sends plain chat completions on a shorter road than
``ChatOpenAI``'s (see its docstring), which reaches past the public API of two
dependencies. Each member it touches is listed here with the signature it is called
with and, where it can be run offline, what it must return. An upgrade that renames or
reshapes one fails this test in CI, before a turn can fail in service (there, any such
failure degrades to the evidence brief: tests/adversarial/test_model_faults.py).
pyproject.toml bounds both packages to the versions this was checked against.
"""

from __future__ import annotations

import inspect
from typing import Any

import openai
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.outputs import ChatResult
from langchain_openai.chat_models.base import BaseChatOpenAI

from agent.models import openai_backend
from agent.models.openai_backend import LingshuChatOpenAI

# (owner, member, parameters the backend passes or overrides with)
LANGCHAIN_OPENAI = [
    ("_get_request_payload", ["input_", "stop"]),
    ("_use_responses_api", ["payload"]),
    ("_create_chat_result", ["response", "generation_info"]),
    ("_generate", ["messages", "stop", "run_manager"]),
    ("_agenerate", ["messages", "stop", "run_manager"]),
    ("_stream", ["messages", "stop", "run_manager"]),
    ("_astream", ["messages", "stop", "run_manager"]),
]
CHAT_OPENAI_FIELDS = [
    "root_client",
    "root_async_client",
    "http_async_client",
    "openai_proxy",
    "include_response_headers",
    "openai_api_base",
    "request_timeout",
    "extra_body",
    "max_retries",
]
OPENAI_CLIENT = [
    ("post", ["path", "cast_to", "body", "options"]),
    ("copy", ["http_client"]),
    ("close", []),
    ("_make_status_error_from_response", ["response"]),
]
OPENAI_CLIENT_ATTRIBUTES = ["auth_headers", "default_headers", "timeout", "base_url", "max_retries"]


def _model() -> LingshuChatOpenAI:
    return LingshuChatOpenAI(base_url="http://127.0.0.1:9/v1", api_key="sk-test", model="m")


def _params(func: Any) -> set[str]:
    return set(inspect.signature(func).parameters)


@pytest.mark.parametrize(("member", "params"), LANGCHAIN_OPENAI)
def test_langchain_openai_members_keep_their_signatures(member: str, params: list[str]) -> None:
    func = getattr(BaseChatOpenAI, member, None)
    assert callable(func), f"langchain-openai: BaseChatOpenAI.{member} is gone"
    missing = set(params) - _params(func)
    assert not missing, f"BaseChatOpenAI.{member} lost parameters {sorted(missing)}"


def test_chat_openai_fields_the_backend_reads() -> None:
    model = _model()
    for name in CHAT_OPENAI_FIELDS:
        assert hasattr(model, name), f"ChatOpenAI has no field {name!r}"


@pytest.mark.parametrize("client_cls", [openai.OpenAI, openai.AsyncOpenAI])
@pytest.mark.parametrize(("member", "params"), OPENAI_CLIENT)
def test_openai_client_members_keep_their_signatures(
    client_cls: type, member: str, params: list[str]
) -> None:
    client = client_cls(api_key="sk-test", base_url="http://127.0.0.1:9/v1")
    func = getattr(client, member, None)
    assert callable(func), f"openai: {client_cls.__name__}.{member} is gone"
    missing = set(params) - _params(func)
    assert not missing, f"{client_cls.__name__}.{member} lost parameters {sorted(missing)}"
    for name in OPENAI_CLIENT_ATTRIBUTES:
        assert hasattr(client, name), f"{client_cls.__name__} has no attribute {name!r}"
    # Read with a default; the backend only asks whether one is set.
    assert getattr(client, "_provider_runtime", None) is None
    assert getattr(client, "workload_identity", None) is None


def test_the_request_payload_is_a_chat_completions_body() -> None:
    model = _model()
    payload = model._get_request_payload([HumanMessage("Hello")], stop=["<tool_response>"])
    assert payload["model"] == "m"
    assert payload["messages"] == [{"role": "user", "content": "Hello"}]
    assert payload["stop"] == ["<tool_response>"]
    assert model._use_responses_api(payload) is False
    assert not model._needs_stock_path(payload)


def test_a_completion_dict_becomes_a_chat_result() -> None:
    completion = {
        "id": "c",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hi."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }
    result = _model()._create_chat_result(completion, {})
    assert isinstance(result, ChatResult)
    message = result.generations[0].message
    assert isinstance(message, AIMessage) and message.text == "Hi."
    assert message.usage_metadata and message.usage_metadata["total_tokens"] == 5


def test_the_sdk_maps_a_status_to_its_error_type() -> None:
    http = openai_backend._http  # httpx2 under openai 3, httpx before
    client = openai.AsyncOpenAI(api_key="sk-test", base_url="http://127.0.0.1:9/v1")
    request = http.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    for status, kind in [(400, openai.BadRequestError), (500, openai.InternalServerError)]:
        response = http.Response(status, json={"error": {"message": "m"}}, request=request)
        assert isinstance(client._make_status_error_from_response(response), kind)
    # The errors the aiohttp lane raises are built the way the SDK builds them.
    assert isinstance(openai.APITimeoutError(request=request), openai.APIConnectionError)
    assert openai.APIConnectionError(request=request).request is request
    assert isinstance(client.timeout, http.Timeout | float | int)
    assert callable(openai.DefaultAioHttpClient)
