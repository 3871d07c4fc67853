"""The shipped ``testing`` package: the every-tool fake model, the one loopback server."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import httpx
import jsonschema
import openai
import pytest
from langchain_core.tools import tool
from langgraph.prebuilt import ToolRuntime

from agent.models.protocol import tool_specs
from agent.session import Lingshu
from agent.settings import Settings
from testing import EveryToolChatModel, FaultyModelServer, serving
from testing.schema_args import example_arguments
from tools import ALL_TOOLS
from tools.runtime import ToolContext

RAN: list[tuple[str, dict[str, Any]]] = []


@tool(parse_docstring=True)
def order_test(
    name: str,
    priority: Literal["routine", "urgent"],
    repeats: int,
    runtime: ToolRuntime[ToolContext, Any],
    fasting: bool = False,
) -> str:
    """Order a laboratory test.

    Args:
        name: The test's name.
        priority: How soon.
        repeats: How many samples.
        fasting: Whether the patient must fast.
    """
    RAN.append(("order_test", {"name": name, "priority": priority, "repeats": repeats}))
    return f"ordered {name} ({priority}) x{repeats}"


@tool(parse_docstring=True)
def note_findings(findings: list[str], runtime: ToolRuntime[ToolContext, Any]) -> str:
    """Record findings.

    Args:
        findings: One line per finding.
    """
    RAN.append(("note_findings", {"findings": findings}))
    return f"{len(findings)} finding(s) noted"


@pytest.mark.parametrize("form", ["prompted", "native"])
def test_every_tool_model_calls_each_offered_tool_once_then_answers(
    tmp_path: Path, form: Literal["prompted", "native"]
) -> None:
    RAN.clear()
    model = EveryToolChatModel(per_reply=1)
    settings = Settings(data_dir=tmp_path / "data", tool_calling=form)
    agent = Lingshu(settings, model=model, tools=[order_test, note_findings])
    result = agent.ask("Order what is needed.")
    assert sorted(model.called) == ["note_findings", "order_test"]
    assert sorted(name for name, _ in RAN) == ["note_findings", "order_test"]  # both really ran
    assert result.answer["text"].startswith("Every offered tool was called once.")
    replies = [m for prompt in model.prompts[1:] for m in prompt if m.type == "ai"]
    if form == "prompted":
        assert all("<tool_call>" in m.text and not m.tool_calls for m in replies)
        assert len(model.bound_tools) == 0
    else:
        assert all(m.tool_calls for m in replies)
        assert {s["function"]["name"] for s in model.bound_tools[-1]} >= {"order_test"}


@pytest.mark.parametrize("spec", tool_specs(ALL_TOOLS), ids=lambda s: s["function"]["name"])
def test_made_up_arguments_are_valid_for_every_project_tool(spec: dict[str, Any]) -> None:
    schema = spec["function"]["parameters"]
    arguments = example_arguments(schema)
    jsonschema.validate(arguments, schema)
    (tool_object,) = [t for t in ALL_TOOLS if t.name == spec["function"]["name"]]
    fields = set(tool_object.tool_call_schema.model_json_schema()["properties"])
    assert set(arguments) <= fields


def test_example_arguments_refuse_what_they_cannot_vouch_for() -> None:
    with pytest.raises(ValueError, match="pattern"):
        example_arguments(
            {"type": "object", "properties": {"x": {"type": "string", "pattern": "^Q{9}$"}}}
        )


def test_the_server_replays_records_and_streams() -> None:
    script = [
        {"content": "Plain reply."},
        {"tool_calls": [{"name": "get_labs", "arguments": {"name_or_loinc": "troponin"}}]},
        {"content": "Streamed reply, in pieces."},
        {"status": 503, "error": "overloaded"},
    ]
    with serving(script) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        ask = {"model": server.model, "messages": [{"role": "user", "content": "hi"}]}
        assert client.chat.completions.create(**ask).choices[0].message.content == "Plain reply."
        call = client.chat.completions.create(**ask).choices[0].message.tool_calls[0]
        assert call.function.name == "get_labs" and "troponin" in call.function.arguments
        pieces = [
            c.choices[0].delta.content or ""
            for c in client.chat.completions.create(**ask, stream=True)
        ]
        assert len(pieces) > 2 and "".join(pieces) == "Streamed reply, in pieces."
        with pytest.raises(openai.InternalServerError, match="overloaded"):
            client.chat.completions.create(**ask)
        with pytest.raises(openai.InternalServerError, match="script exhausted"):
            client.chat.completions.create(**ask)
    assert len(server.requests) == 5 and server.requests[2]["stream"] is True
    assert {k.lower(): v for k, v in server.headers[0].items()}["authorization"] == "Bearer k"


def test_the_fault_modes_misbehave_then_recover() -> None:
    with FaultyModelServer(["non_json", "cut_body", "ok"], answer="Fine again.") as server:
        url = server.base_url + "/chat/completions"
        body = {"model": "lingshu", "messages": []}
        assert httpx.post(url, json=body).text.startswith("<html>")
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(url, json=body)
        for _ in range(2):  # the last fault repeats
            reply = httpx.post(url, json=body).json()
            assert reply["choices"][0]["message"]["content"] == "Fine again."
    assert server.served == ["non_json", "cut_body", "ok", "ok"]
    with pytest.raises(ValueError, match="unknown faults"):
        FaultyModelServer(["explode"])


def test_schema_arguments_are_within_bounds() -> None:
    schema = {
        "type": "object",
        "properties": {
            "k": {"type": "integer", "minimum": 3, "maximum": 8},
            "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "minItems": 2},
            "when": {"type": "string", "format": "date"},
            "ref": {"$ref": "#/$defs/Box"},
            "maybe": {"anyOf": [{"type": "null"}, {"type": "number", "exclusiveMinimum": 0}]},
        },
        "$defs": {"Box": {"type": "object", "properties": {"side": {"type": "number"}}}},
    }
    arguments = example_arguments(schema)
    jsonschema.validate(arguments, schema)
    assert arguments["k"] == 3 and arguments["tags"] == ["a", "a"] and arguments["maybe"] > 0
