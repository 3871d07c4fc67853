"""The shipped vLLM chat template, rendered by the transformers tokenizer machinery."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from transformers import AutoTokenizer

import prompts
from testing.tiny import QWEN25_VL_CHAT_TEMPLATE

TEMPLATE = prompts.load("chat_template_tools_vision.jinja")

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "search_guidelines",
            "description": "Search the guideline store.",
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string"}},
                "required": ["query"],
            },
        },
    }
]
TOOLS_SECTION = (
    "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
    '{"type": "function", "function": {"name": "search_guidelines", "description": '
    '"Search the guideline store.", "parameters": {"type": "object", "properties": '
    '{"query": {"type": "string"}}, "required": ["query"]}}}\n</tools>\n\n'
    "For each function call, return a json object with function name and arguments within "
    "<tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
)
IMAGE = "<|vision_start|><|image_pad|><|vision_end|>"


@pytest.fixture(scope="module")
def tokenizer(tiny_qwen_path: Path) -> Any:
    return AutoTokenizer.from_pretrained(tiny_qwen_path)


def render(tokenizer: Any, messages: list[Any], **kwargs: Any) -> str:
    return tokenizer.apply_chat_template(messages, chat_template=TEMPLATE, tokenize=False, **kwargs)


VISION_CHAT = [
    {"role": "system", "content": "You are Lingshu."},
    {
        "role": "user",
        "content": [{"type": "image"}, {"type": "text", "text": "Chest X-ray: findings?"}],
    },
    {"role": "assistant", "content": "Right lower lobe opacity."},
    {"role": "user", "content": [{"type": "text", "text": "And this one?"}, {"type": "image"}]},
]


def test_without_tools_it_renders_images_in_user_turns(tokenizer: Any) -> None:
    assert render(tokenizer, VISION_CHAT, add_generation_prompt=True) == (
        "<|im_start|>system\nYou are Lingshu.<|im_end|>\n"
        f"<|im_start|>user\n{IMAGE}Chest X-ray: findings?<|im_end|>\n"
        "<|im_start|>assistant\nRight lower lobe opacity.<|im_end|>\n"
        f"<|im_start|>user\nAnd this one?{IMAGE}<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_without_tools_it_matches_the_stock_qwen25_vl_template(tokenizer: Any) -> None:
    for messages in (VISION_CHAT, VISION_CHAT[1:]):
        for prompt in (True, False):
            ours = render(tokenizer, messages, add_generation_prompt=prompt)
            stock = tokenizer.apply_chat_template(
                messages,
                chat_template=QWEN25_VL_CHAT_TEMPLATE,
                tokenize=False,
                add_generation_prompt=prompt,
            )
            assert ours == stock


def test_generation_prompt_only_when_asked(tokenizer: Any) -> None:
    messages = [{"role": "user", "content": "hi"}]
    base = (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nhi<|im_end|>\n"
    )
    assert render(tokenizer, messages, add_generation_prompt=False) == base
    assert (
        render(tokenizer, messages, add_generation_prompt=True) == base + "<|im_start|>assistant\n"
    )


def test_tools_go_into_the_given_system_prompt(tokenizer: Any) -> None:
    messages = [
        {"role": "system", "content": "You are Lingshu."},
        {"role": "user", "content": "hi"},
    ]
    assert render(tokenizer, messages, tools=TOOLS, add_generation_prompt=True) == (
        f"<|im_start|>system\nYou are Lingshu.{TOOLS_SECTION}<|im_end|>\n"
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    )


def test_tools_without_system_use_the_default_system_prompt(tokenizer: Any) -> None:
    rendered = render(tokenizer, [{"role": "user", "content": "hi"}], tools=TOOLS)
    assert rendered == (
        f"<|im_start|>system\nYou are a helpful assistant.{TOOLS_SECTION}<|im_end|>\n"
        "<|im_start|>user\nhi<|im_end|>\n"
    )


def test_tool_calls_and_consecutive_tool_responses(tokenizer: Any) -> None:
    messages = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Q"}]},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"type": "function", "function": {"name": "a", "arguments": {"x": 1}}},
                {"type": "function", "function": {"name": "b", "arguments": '{"y": "z"}'}},
            ],
        },
        {"role": "tool", "tool_call_id": "1", "content": "[G1] passage"},
        {"role": "tool", "tool_call_id": "2", "content": [{"type": "text", "text": "[E1] K 5.9"}]},
        {"role": "assistant", "content": "Hyperkalaemia [E1].", "tool_calls": []},
    ]
    assert render(tokenizer, messages, tools=TOOLS, add_generation_prompt=False) == (
        f"<|im_start|>system\nS{TOOLS_SECTION}<|im_end|>\n"
        f"<|im_start|>user\n{IMAGE}Q<|im_end|>\n"
        '<|im_start|>assistant\n<tool_call>\n{"name": "a", "arguments": {"x": 1}}\n</tool_call>\n'
        '<tool_call>\n{"name": "b", "arguments": {"y": "z"}}\n</tool_call><|im_end|>\n'
        "<|im_start|>user\n<tool_response>\n[G1] passage\n</tool_response>\n"
        "<tool_response>\n[E1] K 5.9\n</tool_response><|im_end|>\n"
        "<|im_start|>assistant\nHyperkalaemia [E1].<|im_end|>\n"
    )


def test_assistant_text_before_a_call_is_kept(tokenizer: Any) -> None:
    call = {"type": "function", "function": {"name": "a", "arguments": {}}}
    messages = [
        {"role": "user", "content": "Q"},
        {"role": "assistant", "content": "Let me check.", "tool_calls": [call]},
    ]
    assert render(tokenizer, messages).endswith(
        '<|im_start|>assistant\nLet me check.\n<tool_call>\n{"name": "a", "arguments": {}}\n'
        "</tool_call><|im_end|>\n"
    )


def test_the_kit_points_vllm_at_this_file() -> None:
    assert Path(prompts.path("chat_template_tools_vision.jinja")).read_text() == TEMPLATE
