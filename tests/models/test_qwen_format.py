"""Conversion of the graph's langchain messages into the Qwen2.5-VL format, and stop cutting."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from agent.models.qwen_format import StopCutter, strip_specials, to_qwen_messages
from tests.models.conftest import png_data_url

BUDGET = {"min_pixels": 3136, "max_pixels": 12544}


def test_text_turns_keep_roles_and_text() -> None:
    messages = [
        SystemMessage("You are Lingshu."),
        HumanMessage("Chest pain for 2 hours."),
        AIMessage("Any ECG?"),
        HumanMessage(
            [{"type": "text", "text": "ST elevation "}, {"type": "text", "text": "in II"}]
        ),
    ]
    assert to_qwen_messages(messages, **BUDGET) == [
        {"role": "system", "content": "You are Lingshu."},
        {"role": "user", "content": "Chest pain for 2 hours."},
        {"role": "assistant", "content": "Any ECG?"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "ST elevation "},
                {"type": "text", "text": "in II"},
            ],
        },
    ]


def test_image_parts_become_qwen_images_with_the_pixel_budget() -> None:
    url = png_data_url()
    message = HumanMessage(
        [
            {"type": "text", "text": "What does [I1] show?"},
            {"type": "image_url", "image_url": {"url": url}},
            {"type": "image", "base64": url.split(",", 1)[1], "mime_type": "image/png"},
        ]
    )
    (converted,) = to_qwen_messages([message], **BUDGET)
    assert converted["role"] == "user"
    assert converted["content"] == [
        {"type": "text", "text": "What does [I1] show?"},
        {"type": "image", "image": url, **BUDGET},
        {"type": "image", "image": url, **BUDGET},
    ]


def test_tool_results_as_text_stay_user_text() -> None:
    result = (
        '<tool_response>\n{"name": "search_guidelines", "content": "[G1] CAP"}\n</tool_response>'
    )
    assert to_qwen_messages([HumanMessage(result)], **BUDGET) == [
        {"role": "user", "content": result}
    ]


def test_derived_image_is_a_user_image_message() -> None:
    crop = png_data_url(40, 40, (0, 200, 0))
    message = HumanMessage(
        [
            {"type": "text", "text": "[I2] crop of I1"},
            {"type": "image_url", "image_url": {"url": crop}},
        ]
    )
    (converted,) = to_qwen_messages([message], **BUDGET)
    assert converted == {
        "role": "user",
        "content": [
            {"type": "text", "text": "[I2] crop of I1"},
            {"type": "image", "image": crop, **BUDGET},
        ],
    }


def test_native_tool_calls_and_tool_messages_fall_back_to_hermes_text() -> None:
    call = {"name": "lookup_ehr", "args": {"resource": "Observation"}, "id": "c1"}
    messages = [
        AIMessage("Checking labs.", tool_calls=[call]),
        ToolMessage("K 5.9", tool_call_id="c1"),
    ]
    assert to_qwen_messages(messages, **BUDGET) == [
        {
            "role": "assistant",
            "content": 'Checking labs.\n<tool_call>\n{"name": "lookup_ehr", '
            '"arguments": {"resource": "Observation"}}\n</tool_call>',
        },
        {"role": "user", "content": "<tool_response>\nK 5.9\n</tool_response>"},
    ]


def test_unsupported_part_is_rejected_by_name() -> None:
    message = HumanMessage([{"type": "input_audio", "input_audio": {"data": "x"}}])
    with pytest.raises(ValueError, match="input_audio"):
        to_qwen_messages([message], **BUDGET)


def test_stop_cutter_cuts_at_first_stop_even_across_pieces() -> None:
    cutter = StopCutter(["<|im_end|>", "<tool_response>"])
    pieces = ["The answer", " is A.<tool_", "response>\n{fake}", " more"]
    emitted = "".join(cutter.feed(p) for p in pieces) + cutter.flush()
    assert emitted == "The answer is A."
    assert cutter.stopped


def test_stop_cutter_releases_a_held_back_prefix_that_was_no_stop() -> None:
    cutter = StopCutter(["<|im_end|>"])
    assert cutter.feed("a <|im") == "a "
    assert cutter.feed("age|> b") == "<|image|> b"
    assert cutter.flush() == ""
    assert not cutter.stopped


def test_strip_specials_keeps_plain_added_tokens() -> None:
    text = "<|vision_start|>x<tool_call>{}</tool_call>"
    assert strip_specials(text, ["<|vision_start|>"]) == "x<tool_call>{}</tool_call>"
