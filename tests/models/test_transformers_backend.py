"""The in-process transformers backend, run for real on the tiny Qwen2.5-VL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import try_to_load_from_cache
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage

from agent.models.errors import ModelUnavailable, ModelWeightsMissing
from agent.models.transformers_backend import (
    STOP_STRINGS,
    TransformersChatModel,
    _TextStop,
    load_model,
)
from agent.settings import Settings
from testing.tiny import TINY_MAX_PIXELS
from tests.models.conftest import png_data_url

ChatFactory = Callable[..., TransformersChatModel]


def image_turn(*urls: str, text: str = "What does [I1] show?") -> list[Any]:
    parts: list[Any] = [{"type": "text", "text": text}]
    parts += [{"type": "image_url", "image_url": {"url": u}} for u in urls]
    return [SystemMessage("You are Lingshu, a medical assistant."), HumanMessage(parts)]


def image_token_count(chat: TransformersChatModel, inputs: Any) -> int:
    image_pad = chat.loaded().processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    return int((inputs["input_ids"][0] == image_pad).sum())


def test_invoke_with_an_image_generates_through_the_real_model(tiny_chat: ChatFactory) -> None:
    chat = tiny_chat()
    reply = chat.invoke(image_turn(png_data_url()))
    assert isinstance(reply, AIMessage)
    assert isinstance(reply.content, str)
    assert not any(stop in reply.content for stop in STOP_STRINGS)
    usage = reply.usage_metadata
    assert usage is not None
    assert 1 <= usage["output_tokens"] <= 16
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert reply.response_metadata["finish_reason"] in {"stop", "length"}


def test_image_is_preprocessed_into_image_tokens_within_the_pixel_budget(
    tiny_chat: ChatFactory,
) -> None:
    chat = tiny_chat()
    inputs = chat.prepare_inputs(image_turn(png_data_url(120, 90)))
    grid = inputs["image_grid_thw"]
    assert grid.shape == (1, 3)
    tokens = image_token_count(chat, inputs)
    assert tokens == int(grid.prod()) // 4  # 2x2 patches merge into one token
    assert tokens <= TINY_MAX_PIXELS // (28 * 28)
    assert inputs["pixel_values"].shape[0] == int(grid.prod())
    bigger = tiny_chat(min_pixels=64 * 28 * 28, max_pixels=64 * 28 * 28)
    assert (
        image_token_count(bigger, bigger.prepare_inputs(image_turn(png_data_url(120, 90)))) > tokens
    )


def test_tool_result_text_and_a_derived_image_reach_the_prompt(tiny_chat: ChatFactory) -> None:
    chat = tiny_chat()
    messages = [
        *image_turn(png_data_url()),
        AIMessage(
            '<tool_call>\n{"name": "crop_image", "arguments": {"image": "I1"}}\n</tool_call>'
        ),
        HumanMessage("<tool_response>\n[I2] crop of [I1], box 0.1 0.1 0.5 0.5\n</tool_response>"),
        HumanMessage(
            [
                {"type": "text", "text": "[I2]"},
                {"type": "image_url", "image_url": {"url": png_data_url(60, 60, (0, 90, 0))}},
            ]
        ),
    ]
    inputs = chat.prepare_inputs(messages)
    prompt = chat.loaded().processor.tokenizer.decode(inputs["input_ids"][0])
    assert "<|im_start|>user\n<tool_response>\n[I2] crop of [I1]" in prompt
    assert prompt.count("<|vision_start|>") == 2
    assert inputs["image_grid_thw"].shape[0] == 2
    assert prompt.endswith("<|im_start|>assistant\n")


def test_generation_settings_reach_generate(
    tiny_chat: ChatFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = tiny_chat(temperature=0.7, top_p=0.8, repetition_penalty=1.3, max_new_tokens=17)
    model = chat.loaded().model
    real_generate = model.generate
    seen: list[dict[str, Any]] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs)
        return real_generate(*args, **kwargs)

    monkeypatch.setattr(model, "generate", spy)
    reply = chat.invoke(image_turn(png_data_url()))
    (kwargs,) = seen
    assert kwargs["do_sample"] is True
    assert (kwargs["temperature"], kwargs["top_p"]) == (0.7, 0.8)
    assert kwargs["repetition_penalty"] == 1.3
    assert kwargs["max_new_tokens"] == 17
    tokenizer = chat.loaded().processor.tokenizer
    assert kwargs["eos_token_id"] == tokenizer.convert_tokens_to_ids(
        ["<|im_end|>", "<|endoftext|>"]
    )
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["output_tokens"] <= 17

    seen.clear()
    tiny_chat(temperature=0.0, max_new_tokens=16).invoke("hello")
    (greedy,) = seen
    assert greedy["do_sample"] is False
    assert greedy["max_new_tokens"] == 16


def test_greedy_is_deterministic_and_streaming_matches_invoke(tiny_chat: ChatFactory) -> None:
    chat = tiny_chat(max_new_tokens=20)
    messages = image_turn(png_data_url())
    reply = chat.invoke(messages)
    assert chat.invoke(messages).content == reply.content
    chunks = list(chat.stream(messages))
    assert len(chunks) >= 2
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert "".join(str(c.content) for c in chunks) == reply.content
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    assert total.usage_metadata == reply.usage_metadata


def test_stop_strings_from_invoke_end_generation_early(tiny_chat: ChatFactory) -> None:
    chat = tiny_chat(max_new_tokens=20)
    messages = image_turn(png_data_url())
    full = str(chat.invoke(messages).content)
    assert full, "the tiny model produced no text to stop on"
    stop = full[-1]
    cut = chat.invoke(messages, stop=[stop])
    assert cut.content == full[: full.index(stop)]
    assert cut.response_metadata["finish_reason"] == "stop"
    assert cut.usage_metadata is not None
    assert cut.usage_metadata["output_tokens"] < 20
    streamed = "".join(str(c.content) for c in chat.stream(messages, stop=[stop]))
    assert streamed == cut.content


def test_a_made_up_tool_response_stops_generation(tiny_chat: ChatFactory) -> None:
    import torch

    tokenizer = tiny_chat().loaded().processor.tokenizer
    prompt = tokenizer("<|im_start|>assistant\n", return_tensors="pt").input_ids
    invented = tokenizer(
        ' <tool_call>{"name": "x"}</tool_call>\n<tool_response>', return_tensors="pt"
    )
    criterion = _TextStop(tokenizer, prompt.shape[1], STOP_STRINGS)
    assert not bool(criterion(prompt, None)[0])
    assert bool(criterion(torch.cat([prompt, invented.input_ids], dim=1), None)[0])


def test_loading_is_lazy_and_cached_per_process(
    tiny_chat: ChatFactory, tiny_qwen_path: Path
) -> None:
    TransformersChatModel.from_settings(Settings(backend="transformers", model="/no/such/weights"))
    first, second = tiny_chat(), tiny_chat(temperature=0.5)
    assert first.loaded() is second.loaded()
    assert first.loaded() is load_model(str(tiny_qwen_path), "cpu")
    assert first.loaded().attn_implementation == "sdpa"
    assert str(first.loaded().dtype) == "torch.float32"


def test_missing_local_weights_name_the_path_and_the_download(tmp_path: Path) -> None:
    missing = tmp_path / "Lingshu-7B"
    chat = TransformersChatModel.from_settings(
        Settings(backend="transformers", model=str(missing), device="cpu")
    )
    with pytest.raises(ModelWeightsMissing) as info:
        chat.invoke("hello")
    message = str(info.value)
    assert str(missing) in message
    assert "download lingshu-medical-mllm/Lingshu-7B --local-dir" in message
    assert "LINGSHU_MODEL=" in message
    assert isinstance(info.value, ModelUnavailable)


def test_uncached_hub_id_with_the_hub_unreachable_is_a_clear_error() -> None:
    hub_id = "lingshu-medical-mllm/Lingshu-32B"
    if isinstance(try_to_load_from_cache(hub_id, "config.json"), str):
        pytest.skip(f"{hub_id} is cached on this machine")
    chat = TransformersChatModel.from_settings(
        Settings(backend="transformers", model=hub_id, device="cpu")
    )
    with pytest.raises(ModelWeightsMissing, match="download lingshu-medical-mllm/Lingshu-32B"):
        chat.invoke([HumanMessage("hello")])


def test_cuda_requested_without_a_gpu_is_model_unavailable() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    chat = TransformersChatModel.from_settings(
        Settings(backend="transformers", model="/no/such/weights", device="cuda")
    )
    with pytest.raises(ModelUnavailable, match="no CUDA"):
        chat.invoke("hello")


def test_abandoned_stream_releases_the_model(tiny_chat: ChatFactory) -> None:
    chat = tiny_chat(max_new_tokens=64)
    messages = image_turn(png_data_url())
    for _chunk in chat.stream(messages):
        break
    assert chat.loaded().lock.acquire(timeout=30)
    chat.loaded().lock.release()
    assert chat.invoke(messages).usage_metadata is not None


def test_async_streaming_for_the_server(tiny_chat: ChatFactory) -> None:
    import asyncio

    chat = tiny_chat()
    messages = image_turn(png_data_url())

    async def collect() -> list[AIMessageChunk]:
        return [chunk async for chunk in chat.astream(messages)]

    chunks = asyncio.run(collect())
    assert "".join(str(c.content) for c in chunks) == chat.invoke(messages).content
