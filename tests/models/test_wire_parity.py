"""A plain call sent by the SDK's ``post`` (agent/models/openai_wire.py) carries the same
request body, headers and reply as the stock ``ChatOpenAI`` it stands in for.

Every case runs twice against one loopback OpenAI-wire server: once through a stock
``ChatOpenAI`` with the same settings, once through ``LingshuChatOpenAI``; the recorded
request bodies must be equal, the replies' fields the turn reads too. A case the fast path
does not claim still goes out (through the stock model) with the same body.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_openai import ChatOpenAI

from agent.models.openai_backend import LingshuChatOpenAI
from agent.models.openai_wire import wire_body
from testing.openai_server import serving

SETTINGS: dict[str, Any] = {
    "model": "lingshu-7b",
    "api_key": "sk-test",
    "temperature": 0.2,
    "top_p": 0.9,
    "max_completion_tokens": 256,
    "max_retries": 0,
    "default_headers": {"X-Deployment": "ward-7"},
    "extra_body": {"repetition_penalty": 1.05},
}
TOOL = {
    "type": "function",
    "function": {
        "name": "search_guidelines",
        "description": "Search the guidelines.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
    },
}
IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
HISTORY: list[BaseMessage] = [
    SystemMessage("You are Lingshu. Cite [G1]."),
    HumanMessage([{"type": "text", "text": "What is on this film?"}, IMAGE]),
    AIMessage("", tool_calls=[{"name": "search_guidelines", "args": {"q": "x"}, "id": "c1"}]),
    ToolMessage("[G1] Chest pain: ECG within 10 minutes.", tool_call_id="c1", name="search"),
    AIMessage("Get an ECG [G1].", additional_kwargs={"lingshu": "kept out of the request"}),
    AIMessage("Both.", tool_calls=[{"name": "look", "args": {"region": "apex"}, "id": "c2"}]),
    ToolMessage("Error: no image.", tool_call_id="c2", status="error"),
    HumanMessage("And the troponin?", name="dr_lee"),
]
CASES: dict[str, tuple[list[BaseMessage], dict[str, Any]]] = {
    "plain question": ([HumanMessage("Chest pain since 8 am.")], {}),
    "prompted, with stop": (HISTORY, {"stop": ["</tool_call>"]}),
    "constrained (extra_body)": (
        HISTORY,
        {"stop": ["</tool_call>"], "extra_body": {"structured_outputs": {"json": {}}}},
    ),
    "native tools": (HISTORY, {"tools": [TOOL], "tool_choice": "auto"}),
    "request timeout": (HISTORY[:2], {"timeout": 7.5}),
    "tool result as blocks (not claimed)": (
        [*HISTORY[:3], ToolMessage([{"type": "text", "text": "r"}], tool_call_id="c1")],
        {},
    ),
}
REPLIES = [
    {"content": "An answer [G1]."},
    {"content": "", "tool_calls": [{"name": "search_guidelines", "arguments": {"query": "mi"}}]},
]


def _calls(model: Any, messages: list[BaseMessage], kwargs: dict[str, Any]) -> list[AIMessage]:
    sync = [model.invoke(messages, **kwargs) for _ in REPLIES]

    async def run() -> list[AIMessage]:
        replies = [await model.ainvoke(messages, **kwargs) for _ in REPLIES]
        if isinstance(model, LingshuChatOpenAI):
            await model.aclose_loop_client()
        return replies

    return sync + asyncio.run(run())


def _seen(reply: AIMessage) -> dict[str, Any]:
    meta = {k: reply.response_metadata.get(k) for k in ("model_name", "finish_reason", "id")}
    calls = [(c["name"], c["args"], bool(c["id"])) for c in reply.tool_calls]
    return {"text": reply.text, "calls": calls, "usage": reply.usage_metadata, **meta}


@pytest.mark.parametrize("case", list(CASES))
def test_the_request_and_the_reply_match_the_stock_client(case: str) -> None:
    messages, kwargs = CASES[case]
    seen: dict[str, Any] = {}
    for name, make in (("stock", ChatOpenAI), ("ours", LingshuChatOpenAI)):
        with serving(REPLIES * 2) as server:
            replies = _calls(make(base_url=server.base_url, **SETTINGS), messages, kwargs)
            headers = [
                {k: v for k, v in h.items() if k.lower() in ("x-deployment", "authorization")}
                for h in server.headers
            ]
            seen[name] = (server.requests, headers, [_seen(r) for r in replies])
    stock_bodies, ours_bodies = seen["stock"][0], seen["ours"][0]
    assert len(ours_bodies) == len(stock_bodies) == 4
    assert ours_bodies == stock_bodies
    assert seen["ours"][1] == seen["stock"][1]
    assert seen["ours"][2] == seen["stock"][2]
    assert seen["ours"][2][1]["calls"] == [("search_guidelines", {"query": "mi"}, True)]


def test_what_the_fast_path_leaves_to_the_stock_client() -> None:
    params = {"model_name": "m", "extra_body": None}
    assert wire_body(params, [HumanMessage("Hi")], None, {}) is not None
    blocks = ToolMessage([{"type": "text", "text": "r"}], tool_call_id="c1")
    legacy = AIMessage("", additional_kwargs={"function_call": {"name": "f", "arguments": "{}"}})
    for messages, kwargs in [
        ([blocks], {}),
        ([legacy], {}),
        ([HumanMessage([{"type": "image", "url": "https://x/y.png"}])], {}),
        ([HumanMessage("Hi")], {"parallel_tool_calls": False}),
    ]:
        assert wire_body(params, messages, None, kwargs) is None
