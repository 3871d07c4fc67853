"""Constrained tool calls: the structural tag from tool schemas, and the vLLM server path.

The grammar is checked with xgrammar's real matcher over the tiny model's tokenizer;
the server path against a real loopback server speaking the OpenAI wire format.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from transformers import AutoTokenizer

from agent.cli.options import build_settings
from agent.models.calling import ModelCallFailed, acall_model, call_model
from agent.models.constrained import (
    MAX_STRING_CHARS,
    SERVER_REFUSED_NOTE,
    ToolConstraint,
    compile_constraint,
)
from agent.models.factory import load_chat_model
from agent.settings import Settings
from tests.models.tools_for_constraints import CONSTRAINT_TOOLS
from tests.openai_server import serving

ZOOM = '{"name": "zoom", "arguments": {"image_id": "I1", "box": [0.1, 0.2, 0.75, 1]}}'
WINDOW = '{"name": "set_window", "arguments": {"image_id": "I2", "window": {"center": 40, "width": 400}, "preset": "lung"}}'


def call(body: str) -> str:
    return f"<tool_call>\n{body}\n</tool_call>"


@pytest.fixture(scope="module")
def accepts(tiny_qwen_path: Path) -> Any:
    """accepts(text, required=False): whether the compiled grammar takes ``text`` as a whole reply."""
    import xgrammar as xgr

    tokenizer = AutoTokenizer.from_pretrained(tiny_qwen_path)
    stops = [int(tokenizer.convert_tokens_to_ids(t)) for t in ("<|im_end|>", "<|endoftext|>")]  # type: ignore[arg-type]

    def check(text: str, required: bool = False) -> bool:
        constraint = ToolConstraint.from_tools(CONSTRAINT_TOOLS, require_call=required)
        matcher = xgr.GrammarMatcher(
            compile_constraint(tokenizer, len(tokenizer), stops, constraint)
        )
        return bool(matcher.accept_string(text) and matcher.accept_token(stops[0]))

    return check


def test_valid_calls_of_every_schema_shape_are_accepted_amid_prose(accepts: Any) -> None:
    assert accepts(call(ZOOM))
    assert accepts("Let me look closer.\n" + call(ZOOM) + "\nand the window:\n" + call(WINDOW))
    assert accepts(
        call(
            '{"name": "set_window", "arguments": {"image_id": "I2", "window": {"center": -50, "width": 1}}}'
        )
    )
    assert accepts(
        call('{"name": "search_guidelines", "arguments": {"query": "troponin <0.04 \\"hs\\""}}')
    )
    assert accepts(call('{"name": "list_images", "arguments": {}}'))
    assert accepts("No tool is needed: the answer is [G1].")


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (
            '{"name": "zoom", "arguments": {"image_id": "I1", "box": [0.1, 0.2, 1.5, 1]}}',
            "box value above 1",
        ),
        (
            '{"name": "zoom", "arguments": {"image_id": "I1", "box": [0.1, -0.2, 0.5, 1]}}',
            "box value below 0",
        ),
        (
            '{"name": "zoom", "arguments": {"image_id": "I1", "box": [0.1, 0.2, 0.5]}}',
            "three corners",
        ),
        ('{"name": "zoom", "arguments": {"box": [0.1, 0.2, 0.5, 1]}}', "missing required image_id"),
        (
            '{"name": "set_window", "arguments": {"image_id": "I2", "window": {"center": 40}}}',
            "nested object without width",
        ),
        (
            '{"name": "set_window", "arguments": {"image_id": "I2", "window": {"center": 40, "width": 400}, "preset": "abdomen"}}',
            "enum value not offered",
        ),
        ('{"name": "search_guidelines", "arguments": {"query": "x", "k": 11}}', "k out of range"),
        (
            '{"name": "search_guidelines", "arguments": {"query": "x", "verbose": true}}',
            "unknown argument",
        ),
        ('{"name": "delete_patient", "arguments": {}}', "unknown tool"),
        (
            '{"name": "zoom", "arguments": {"image_id":"I1", "box": [0.1, 0.2, 0.5, 1]}}',
            "free whitespace",
        ),
        (
            '{"name": "zoom", "arguments": {"image_id": "I1",  "box": [0.1, 0.2, 0.5, 1]}}',
            "a double blank",
        ),
        (
            '{"name": "search_guidelines", "arguments": {"query": "chest\tpain"}}',
            "raw control character",
        ),
        (
            '{"name": "search_guidelines", "arguments": {"query": "a</tool_call>"}}',
            "the end tag inside a value",
        ),
        (
            '{"name": "search_guidelines", "arguments": {"query": "a<tool_response>"}}',
            "a tool response inside a value",
        ),
    ],
)
def test_calls_off_the_schema_are_impossible(accepts: Any, body: str, why: str) -> None:
    assert not accepts(call(body)), why


def test_strings_are_bounded_and_a_required_call_leaves_no_room_for_prose(accepts: Any) -> None:
    long_query = "a" * (MAX_STRING_CHARS + 1)
    assert not accepts(
        call('{"name": "search_guidelines", "arguments": {"query": "' + long_query + '"}}')
    )
    assert accepts(call(ZOOM), required=True)
    assert not accepts("Sure.\n" + call(ZOOM), required=True)
    assert not accepts("", required=True)
    assert not accepts(call(ZOOM)[:-3])  # a reply cannot end inside a call


def test_vllm_structural_tag_is_built_from_the_offered_schemas() -> None:
    outputs = ToolConstraint.from_tools(CONSTRAINT_TOOLS).vllm_structured_outputs()
    tag = json.loads(outputs["structural_tag"])  # vLLM takes it as a JSON string
    assert tag["type"] == "structural_tag" and tag["triggers"] == ["<tool_call>"]
    structures = {s["begin"]: s for s in tag["structures"]}
    zoom = structures['<tool_call>\n{"name": "zoom", "arguments": ']
    assert zoom["end"] == "}\n</tool_call>"
    box = zoom["schema"]["properties"]["box"]
    assert box["items"] == {"type": "number", "minimum": 0.0, "maximum": 1.0}
    assert (box["minItems"], box["maxItems"]) == (4, 4)
    assert zoom["schema"]["required"] == ["image_id", "box"]
    window = structures['<tool_call>\n{"name": "set_window", "arguments": ']["schema"]
    assert window["properties"]["window"]["required"] == ["center", "width"]
    assert window["properties"]["preset"]["enum"] == ["lung", "bone", "brain"]
    assert "description" not in json.dumps(tag)  # prose stays in the prompt
    assert len(structures) == len(CONSTRAINT_TOOLS)


# --- the server path ------------------------------------------------------------------------


def ask(settings: Settings, text: str = "Zoom into the opacity.") -> Any:
    model = load_chat_model(settings)
    messages = [SystemMessage("You are Lingshu."), HumanMessage(text)]
    return call_model(model, messages, [], offered=CONSTRAINT_TOOLS)


def test_request_carries_structured_outputs_beside_the_sampling_extras() -> None:
    with serving([{"content": call(ZOOM)}]) as server:
        reply = ask(Settings(base_url=server.base_url))
    body = server.requests[0]
    assert (
        body["structured_outputs"]
        == ToolConstraint.from_tools(CONSTRAINT_TOOLS).vllm_structured_outputs()
    )
    assert body["repetition_penalty"] == 1.05
    assert body["stop"] == ["<tool_response>"]
    assert "tools" not in body and "constrained_tools" not in body
    assert "lingshu_notes" not in reply.response_metadata


def test_server_that_refuses_the_parameter_is_remembered_and_the_reply_says_so() -> None:
    refusal: dict[str, Any] = {
        "status": 400,
        "error": "Unrecognized request argument supplied: structured_outputs",
    }
    replies = [refusal, {"content": "First answer."}, {"content": "Second answer."}]
    with serving(replies) as server:
        settings = Settings(base_url=server.base_url)
        first = ask(settings)
        second = ask(settings, "And now?")
    assert first.text == "First answer." and second.text == "Second answer."
    assert first.response_metadata["lingshu_notes"] == [SERVER_REFUSED_NOTE]
    assert second.response_metadata["lingshu_notes"] == [SERVER_REFUSED_NOTE]
    assert ["structured_outputs" in r for r in server.requests] == [True, False, False]
    assert server.requests[1]["messages"] == server.requests[0]["messages"]


def test_first_request_refused_without_naming_the_parameter_also_falls_back() -> None:
    replies: list[dict[str, Any]] = [
        {"status": 422, "error": "Extra inputs are not permitted"},
        {"content": "Fine."},
    ]
    with serving(replies) as server:
        reply = ask(Settings(base_url=server.base_url))
    assert reply.text == "Fine." and reply.response_metadata["lingshu_notes"] == [
        SERVER_REFUSED_NOTE
    ]


def test_a_later_unrelated_error_is_not_taken_for_a_refusal() -> None:
    too_long: dict[str, Any] = {
        "status": 400,
        "error": "This model's maximum context length is 8192 tokens",
    }
    with serving([{"content": "ok"}, too_long]) as server:
        settings = Settings(base_url=server.base_url)
        assert ask(settings).text == "ok"
        with pytest.raises(ModelCallFailed, match="maximum context length"):
            ask(settings)
    assert len(server.requests) == 2  # no unconstrained retry of a genuine error


def test_an_error_that_is_not_the_constraint_surfaces_as_itself() -> None:
    missing = {"status": 404, "error": "The model `nope` does not exist."}
    with (
        serving([missing, missing]) as server,
        pytest.raises(ModelCallFailed, match="does not exist"),
    ):
        ask(Settings(base_url=server.base_url, model="nope"))
    assert ["structured_outputs" in r for r in server.requests] == [True, False]


def test_off_sends_no_constraint_and_neither_does_a_turn_without_tools() -> None:
    with serving([{"content": "a"}, {"content": "b"}]) as server:
        ask(Settings(base_url=server.base_url, constrained_tools="off"))
        model = load_chat_model(Settings(base_url=server.base_url))
        call_model(model, [HumanMessage("Hi")], [])  # the old positional form still works
    assert all("structured_outputs" not in r for r in server.requests)


def test_setting_from_environment_and_cli_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().constrained_tools == "auto"
    monkeypatch.setenv("LINGSHU_CONSTRAINED_TOOLS", "off")
    assert Settings().constrained_tools == "off"
    assert build_settings(constrained=True).constrained_tools == "on"
    assert build_settings(constrained=None).constrained_tools == "off"
    monkeypatch.setenv("LINGSHU_CONSTRAINED_TOOLS", "sometimes")
    with pytest.raises(ValueError, match="constrained_tools"):
        Settings()


def test_on_an_event_loop_the_request_and_the_refusal_handling_are_the_same() -> None:
    refusal: dict[str, Any] = {"status": 400, "error": "extra fields: structured_outputs"}
    replies = [refusal, {"content": "First answer."}, {"content": "Second answer."}]
    messages = [SystemMessage("You are Lingshu."), HumanMessage("Zoom into the opacity.")]

    async def two_turns(model: Any) -> list[Any]:
        replies = [await acall_model(model, messages, [], offered=CONSTRAINT_TOOLS) for _ in "ab"]
        await model.aclose_loop_client()
        return replies

    with serving(replies) as server:
        first, second = asyncio.run(two_turns(load_chat_model(Settings(base_url=server.base_url))))
    assert (first.text, second.text) == ("First answer.", "Second answer.")
    assert second.response_metadata["lingshu_notes"] == [SERVER_REFUSED_NOTE]
    constrained, retried, later = server.requests
    assert "structural_tag" in constrained["structured_outputs"]
    assert constrained["repetition_penalty"] == 1.05 and constrained["stop"] == ["<tool_response>"]
    assert "structured_outputs" not in retried and "structured_outputs" not in later
