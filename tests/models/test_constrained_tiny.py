"""Constrained decoding on the in-process backend, run for real on the tiny random Qwen2.5-VL.

Random weights know nothing of tool calls: with the grammar they still write calls that
parse and validate, without it they do not. (The benchmark draws 50 samples; a few here.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from agent.models.calling import call_model
from agent.models.constrained import ToolConstraint
from agent.models.protocol import parse_reply, render_tools_block
from agent.models.transformers_backend import TransformersChatModel
from tests.models.tools_for_constraints import CONSTRAINT_TOOLS

ChatFactory = Callable[..., TransformersChatModel]
TOOLS = {t.name: t for t in CONSTRAINT_TOOLS}
MESSAGES = [
    SystemMessage("You are Lingshu.\n" + render_tools_block(CONSTRAINT_TOOLS)),
    HumanMessage("Zoom into the opacity of [I1]."),
]
# Short strings keep the samples short on a CPU (the benchmark uses the default bound).
REQUIRED = ToolConstraint.from_tools(CONSTRAINT_TOOLS, require_call=True, max_string_chars=16)
SEEDS = range(4)


def sample(chat: TransformersChatModel, seed: int, **kwargs: Any) -> AIMessage:
    torch.manual_seed(seed)
    reply = chat.invoke(MESSAGES, stop=["<tool_response>"], **kwargs)
    assert isinstance(reply, AIMessage)
    return reply


def valid_calls(reply: AIMessage) -> bool:
    parsed = parse_reply(reply, TOOLS)
    return bool(parsed.calls) and not parsed.problems


@pytest.fixture
def sampler(tiny_chat: ChatFactory) -> Callable[..., TransformersChatModel]:
    def make(mode: str, max_new_tokens: int = 160) -> TransformersChatModel:
        return tiny_chat(
            temperature=1.0, top_p=1.0, max_new_tokens=max_new_tokens, constrained_tools=mode
        )

    return make


def test_random_weights_write_valid_calls_only_under_the_constraint(sampler: Any) -> None:
    constrained = [sample(sampler("on"), seed, tool_constraint=REQUIRED) for seed in SEEDS]
    assert all(valid_calls(r) for r in constrained), [r.content for r in constrained]
    assert all(r.response_metadata["finish_reason"] == "stop" for r in constrained)
    for reply in constrained:  # the arguments are real values of the schema, e.g. the box
        for tool_call in parse_reply(reply, TOOLS).calls:
            box = tool_call["args"].get("box")
            assert box is None or (len(box) == 4 and all(0 <= x <= 1 for x in box))
    unconstrained = [sample(sampler("on"), seed) for seed in SEEDS]
    assert not any(valid_calls(r) for r in unconstrained)


def test_off_setting_ignores_the_constraint(sampler: Any) -> None:
    off = sample(sampler("off", 48), 7, tool_constraint=REQUIRED)
    plain = sample(sampler("on", 48), 7)
    assert off.content == plain.content
    assert not valid_calls(off)


def test_streaming_path_is_constrained_too(sampler: Any) -> None:
    torch.manual_seed(3)
    chunks = list(
        sampler("on").stream(MESSAGES, stop=["<tool_response>"], tool_constraint=REQUIRED)
    )
    text = "".join(str(c.content) for c in chunks)
    assert valid_calls(AIMessage(content=text)), text
    assert chunks[-1].response_metadata["finish_reason"] == "stop"


def test_call_model_hands_the_offered_tools_to_the_in_process_model(sampler: Any) -> None:
    """In the agent the constraint is not ``required``: prose stays possible, calls stay valid."""
    for seed in range(2):
        torch.manual_seed(seed)
        reply = call_model(sampler("on", 64), MESSAGES, [], offered=CONSTRAINT_TOOLS)
        assert not parse_reply(reply, TOOLS).problems
