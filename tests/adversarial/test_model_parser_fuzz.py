"""Fuzzing the tool-call parser (agent/models/protocol.py) with hypothesis.

Whatever a model writes (Hermes blocks, fences, damaged JSON, deep nesting, names of
tools it was never offered, native ``tool_calls`` with any arguments), ``parse_reply``
never raises, every call it returns names an offered tool with arguments that tool's
schema accepts, and anything it cannot use is described in ``problems``.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage

from agent.models.protocol import MAX_JSON_DEPTH, parse_reply
from tests.test_protocol import TOOLS

NAMES = ["search", "crop", "delete_patient", "", "search ", "Search", "__import__"]
FRAGMENTS = [
    "<tool_call>",
    "</tool_call>",
    "```json",
    "```",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    '"',
    "\\",
    '"name"',
    '"arguments"',
    '"parameters"',
    '"query"',
    '"k"',
    '"box"',
    '"x0"',
    "0.5",
    "-1",
    "1e999",
    "null",
    "true",
    "<|im_start|>",
    "<tool_response>",
    "\ud800",
    "\n",
    " ",
]

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
arguments = st.one_of(
    json_value,
    st.fixed_dictionaries({"query": st.text(max_size=30)}, optional={"k": json_value}),
    st.fixed_dictionaries(
        {
            "image_id": st.text(max_size=5),
            "box": st.fixed_dictionaries({"x0": json_value, "x1": json_value}),
        }
    ),
)


@st.composite
def hermes_call(draw: st.DrawFn) -> str:
    call: dict[str, Any] = {"name": draw(st.sampled_from(NAMES) | st.text(max_size=12))}
    if draw(st.booleans()):
        call[draw(st.sampled_from(["arguments", "parameters"]))] = draw(arguments)
    body = json.dumps(call, allow_nan=True)
    cut = draw(st.integers(min_value=0, max_value=len(body)))
    body = body if draw(st.booleans()) else body[:cut]  # damaged: cut short
    if draw(st.booleans()):
        body = f"```json\n{body}\n```"
    close = draw(st.sampled_from(["</tool_call>", "", " then I answer.</tool_call>"]))
    return f"<tool_call>{body}{close}"


reply_text = st.lists(
    st.one_of(hermes_call(), st.sampled_from(FRAGMENTS), st.text(max_size=30)), max_size=12
).map("".join)


def _check(message: AIMessage) -> None:
    reply = parse_reply(message, TOOLS)
    assert isinstance(reply.text, str)
    assert all(isinstance(p, str) and p for p in reply.problems)
    assert len(reply.calls) <= 8
    for call in reply.calls:
        assert call["name"] in TOOLS, call
        schema = TOOLS[call["name"]].tool_call_schema
        schema.model_validate(call["args"])  # type: ignore[union-attr]
        assert call["id"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reply_text)
def test_any_text_parses_to_offered_calls_or_named_problems(text: str) -> None:
    _check(AIMessage(content=text))


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {"name": st.sampled_from(NAMES) | st.text(max_size=10), "args": arguments}
        ),
        max_size=10,
    )
)
def test_any_native_tool_calls_parse_to_offered_calls_or_named_problems(
    calls: list[dict[str, Any]],
) -> None:
    native = [
        {"name": c["name"], "args": c["args"], "id": f"c{i}", "type": "tool_call"}
        for i, c in enumerate(calls)
    ]
    try:
        message = AIMessage(content="", tool_calls=native)
    except ValueError:  # langchain-core refuses args that are not a dict: not a reply
        return
    _check(message)


@given(st.integers(min_value=MAX_JSON_DEPTH + 1, max_value=50_000), st.sampled_from("{["))
@settings(max_examples=4, deadline=None)
def test_deeply_nested_json_is_a_named_problem_not_a_recursion_error(depth: int, kind: str) -> None:
    close = "}" if kind == "{" else "]"
    inner = ('{"a":' * depth + "1" + "}" * depth) if kind == "{" else ("[" * depth + "]" * depth)
    text = f'<tool_call>{{"name": "search", "arguments": {inner}}}</tool_call>'
    reply = parse_reply(AIMessage(content=text), TOOLS)
    assert reply.calls == []
    assert any(f"at most {MAX_JSON_DEPTH}" in p for p in reply.problems), reply.problems
    assert close in text
