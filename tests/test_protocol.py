"""The Hermes tool-call parser: what it tolerates and what it rejects, and why."""

from __future__ import annotations

from typing import Annotated

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import InjectedToolArg, tool
from pydantic import BaseModel, Field

from agent.models.protocol import parse_reply, render_tools_block, to_prompted
from tools.runtime import ToolContext


class Box(BaseModel):
    x0: float = Field(ge=0, le=1)
    x1: float = Field(ge=0, le=1)


@tool(parse_docstring=True)
def search(query: str, ctx: Annotated[ToolContext, InjectedToolArg], k: int = 5) -> str:
    """Search the guidelines.

    Args:
        query: What to look for.
        k: How many passages.
    """
    return query


@tool(parse_docstring=True)
def crop(image_id: str, box: Box) -> str:
    """Crop an image.

    Args:
        image_id: The image, e.g. I1.
        box: The region.
    """
    return image_id


TOOLS = {"search": search, "crop": crop}


def parse(text: str):  # type: ignore[no-untyped-def]
    return parse_reply(AIMessage(content=text), TOOLS)


@pytest.mark.parametrize(
    "text",
    [
        '<tool_call>\n{"name": "search", "arguments": {"query": "troponin"}}\n</tool_call>',
        '<tool_call>```json\n{"name": "search", "arguments": {"query": "troponin"}}\n```</tool_call>',
        '```json\n{"name": "search", "arguments": {"query": "troponin"}}\n```',
        '<tool_call>{"name": "search", "arguments": {"query": "troponin"}}',  # no closing tag
        '<tool_call>{"name": "search", "arguments": {"query": "troponin"}</tool_call>',  # brace
        '<tool_call>{"name": "search", "arguments": {"query": "troponin",}}</tool_call>',  # comma
        '<tool_call>{"name": "search", "arguments": "{\\"query\\": \\"troponin\\"}"}</tool_call>',
        '<tool_call>{"name": "search", "arguments": {"query": "troponin"}} then I will answer.</tool_call>',
    ],
)
def test_recoverable_damage_is_tolerated(text: str) -> None:
    reply = parse("Let me search.\n" + text)
    assert reply.problems == []
    assert [(c["name"], c["args"]) for c in reply.calls] == [("search", {"query": "troponin"})]
    assert reply.text.startswith("Let me search.")


def test_several_calls_and_trailing_prose() -> None:
    text = (
        '<tool_call>{"name": "search", "arguments": {"query": "a"}}</tool_call>\n'
        '<tool_call>{"name": "crop", "arguments": {"image_id": "I1", "box": {"x0": 0, "x1": 0.5}}}</tool_call>\n'
        "I will wait for the results."
    )
    reply = parse(text)
    assert [c["name"] for c in reply.calls] == ["search", "crop"]
    assert len({c["id"] for c in reply.calls}) == 2
    assert reply.text == "I will wait for the results."


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '<tool_call>{"name": "order_mri", "arguments": {}}</tool_call>',
            "unknown tool 'order_mri'; the tools you can call are: crop, search",
        ),
        (
            '<tool_call>{"name": "search", "arguments": {}}</tool_call>',
            "search: missing required argument 'query'",
        ),
        (
            '<tool_call>{"name": "search", "arguments": {"query": "x", "k": "many"}}</tool_call>',
            "search: argument 'k'",
        ),
        (
            '<tool_call>{"name": "search", "arguments": {"query": "x", "patient": "p2"}}</tool_call>',
            "unknown argument(s) patient",
        ),
        (
            '<tool_call>{"name": "search", "arguments": {"query": "x", "ctx": {}}}</tool_call>',
            "unknown argument(s) ctx",
        ),
        (
            '<tool_call>{"name": "crop", "arguments": {"image_id": "I1", "box": {"x0": 2, "x1": 1}}}</tool_call>',
            "crop: argument 'box.x0'",
        ),
        ("<tool_call>search(query='x')</tool_call>", "block 1: no JSON object found"),
        ('<tool_call>{"name": "search" "arguments": {}}</tool_call>', "block 1: invalid JSON"),
        ('<tool_call>{"arguments": {"query": "x"}}</tool_call>', 'expected {"name": ...'),
        (
            '<tool_call>{"name": "search", "arguments": [1, 2]}</tool_call>',
            "'arguments' must be a JSON object",
        ),
    ],
)
def test_rejections_name_exactly_what_was_wrong(text: str, message: str) -> None:
    reply = parse(text)
    assert reply.calls == []
    assert len(reply.problems) == 1
    assert message in reply.problems[0]


def test_native_tool_calls_are_validated_too() -> None:
    msg = AIMessage(
        content="",
        tool_calls=[
            {"name": "search", "args": {"query": "sepsis"}, "id": "a", "type": "tool_call"},
            {"name": "delete_record", "args": {}, "id": "b", "type": "tool_call"},
        ],
    )
    reply = parse_reply(msg, TOOLS)
    assert [c["name"] for c in reply.calls] == ["search"]
    assert "unknown tool 'delete_record'" in reply.problems[0]


def test_plain_answer_has_no_calls() -> None:
    reply = parse("The most likely diagnosis is pneumonia [G1].")
    assert not reply.attempted_calls and reply.text.endswith("[G1].")


def test_tools_block_hides_injected_arguments() -> None:
    block = render_tools_block([search, crop])
    assert block.startswith("<tools>\n") and block.endswith("\n</tools>")
    assert '"query"' in block and '"ctx"' not in block
    assert "How many passages." in block  # the docstring is what the model reads


def test_to_prompted_rewrites_tool_roles_as_qwen_does() -> None:
    history = [
        HumanMessage(content="Q"),
        AIMessage(
            content="",
            tool_calls=[
                {"name": "search", "args": {"query": "x"}, "id": "c1", "type": "tool_call"}
            ],
        ),
        ToolMessage(content="result one", tool_call_id="c1"),
        ToolMessage(content="result two", tool_call_id="c2"),
        AIMessage(content="Answer."),
    ]
    out = to_prompted(history)
    assert [type(m).__name__ for m in out] == [
        "HumanMessage",
        "AIMessage",
        "HumanMessage",
        "AIMessage",
    ]
    assert (
        '<tool_call>\n{"name": "search", "arguments": {"query": "x"}}\n</tool_call>' in out[1].text
    )
    assert out[2].text == (
        "<tool_response>\nresult one\n</tool_response>\n<tool_response>\nresult two\n</tool_response>"
    )


def test_to_prompted_rounds_reuse_tool_responses_but_never_stale_ones() -> None:
    """A turn's later rounds send the same history again: each run of tool results is one
    user message, the same one every round, and a run that changed (a result replaced,
    one more result) is written anew from the messages it now holds."""
    call_block = '<tool_call>{"name": "search"}</tool_call>'
    ask = AIMessage(content=call_block)
    first, second = (ToolMessage(content=f"result {i}", tool_call_id=f"c{i}") for i in (1, 2))
    history = [HumanMessage(content="Q"), ask, first, second]
    round_one, round_two = to_prompted(history), to_prompted([*history, AIMessage("Done.")])
    assert round_one[2] is round_two[2]  # made once, sent byte-identical
    assert round_one[1].text == call_block
    replaced = ToolMessage(content="result 1, corrected", tool_call_id="c1")
    assert "result 1, corrected" in to_prompted([*history[:2], replaced, second])[2].text
    third = ToolMessage(content="result 3", tool_call_id="c3")
    grown = to_prompted([*history, third])[2].text
    assert grown.count("<tool_response>") == 3 and grown.endswith("result 3\n</tool_response>")
    assert to_prompted(history)[2].text.count("<tool_response>") == 2
