"""One place turns Settings into model arguments; a second endpoint is one more call."""

from __future__ import annotations

import openai
from langchain_core.messages import HumanMessage

from agent.models.factory import Endpoint, client_kwargs, endpoint, load_chat_model
from agent.settings import Settings
from testing.openai_server import serving


def test_a_second_endpoint_is_one_call_and_reaches_its_own_server() -> None:
    with (
        serving([{"content": "From Lingshu."}]) as lingshu,
        serving([{"content": "From the planner."}]) as planner,
    ):
        settings = Settings(
            base_url=lingshu.base_url, api_key="sk-main", request_timeout_s=7.0, connect_retries=0
        )
        second = Endpoint(base_url=planner.base_url, model="planner-8b", api_key="sk-plan")
        main_reply = load_chat_model(settings).invoke([HumanMessage("Chest pain?")])
        plan_reply = load_chat_model(settings, second).invoke([HumanMessage("Plan?")])
    assert (main_reply.text, plan_reply.text) == ("From Lingshu.", "From the planner.")
    assert lingshu.requests[0]["model"] == settings.model
    assert planner.requests[0]["model"] == "planner-8b"
    assert {k.lower(): v for k, v in planner.headers[0].items()}["authorization"] == (
        "Bearer sk-plan"
    )
    # The settings' sampling and limits go to both endpoints alike.
    for sent in (lingshu.requests[0], planner.requests[0]):
        assert sent["max_completion_tokens"] == settings.max_new_tokens
        assert sent["repetition_penalty"] == settings.repetition_penalty


def test_sdk_clients_get_the_same_arguments() -> None:
    settings = Settings(base_url="http://127.0.0.1:9/v1", api_key="sk", connect_retries=3)
    client = openai.OpenAI(**client_kwargs(settings))
    assert str(client.base_url) == "http://127.0.0.1:9/v1/"
    assert client.max_retries == 3 and client.timeout == settings.request_timeout_s
    assert endpoint(settings).tool_calling == settings.tool_calling
