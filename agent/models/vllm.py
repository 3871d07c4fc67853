"""The vLLM serving kit: the ``vllm serve`` command line for Lingshu.

Flags checked against the vLLM documentation for v0.11.0 (docs.vllm.ai/en/v0.11.0:
engine arguments, ``MultiModalConfig``; ``--limit-mm-per-prompt`` takes JSON there)
and still listed for vLLM 0.20: ``--tensor-parallel-size``, ``--max-model-len``,
``--limit-mm-per-prompt '{"image": N, "video": 0}'``, ``--mm-processor-kwargs``,
``--enable-prefix-caching``, ``--chat-template``, ``--enable-auto-tool-choice``,
``--tool-call-parser hermes``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import prompts
from agent.models.qwen_tokens import (
    SYSTEM_RESERVE_TOKENS,
    TRAINED_CONTEXT,
    full_image_tokens,
    images_per_prompt,
)

CHAT_TEMPLATE = "chat_template_tools_vision.jinja"


@dataclass(frozen=True)
class LingshuSize:
    hub_id: str
    attention_heads: int
    """Text attention heads: the tensor-parallel size must divide them (and the vision
    tower's 16 heads)."""


SIZES: dict[str, LingshuSize] = {
    "7b": LingshuSize("lingshu-medical-mllm/Lingshu-7B", attention_heads=28),
    "32b": LingshuSize("lingshu-medical-mllm/Lingshu-32B", attention_heads=40),
}
_VISION_HEADS = 16


def valid_gpu_counts(size: str) -> list[int]:
    """Tensor-parallel sizes vLLM accepts for this Lingshu size (up to 8 GPUs)."""
    heads = _lookup(size).attention_heads
    return [n for n in range(1, 9) if heads % n == 0 and _VISION_HEADS % n == 0]


def _lookup(size: str) -> LingshuSize:
    try:
        return SIZES[size.lower()]
    except KeyError:
        raise ValueError(
            f"unknown Lingshu size {size!r}; choose one of {', '.join(SIZES)}"
        ) from None


def vllm_command(
    size: str = "7b",
    gpus: int = 1,
    *,
    weights: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    max_model_len: int = TRAINED_CONTEXT,
    max_images: int | None = None,
    min_pixels: int = 256 * 28 * 28,
    max_pixels: int = 1280 * 28 * 28,
    gpu_memory_utilization: float = 0.9,
    max_new_tokens: int = 1536,
) -> list[str]:
    """The ``vllm serve`` argv for Lingshu ``size`` on ``gpus`` GPUs (tensor parallel).

    Args:
        size: ``7b`` or ``32b``.
        gpus: Tensor-parallel size; must divide the model's attention heads.
        weights: Local folder of the weights; the hub id is used when ``None``. The
            served model name is always the hub id, which is what the client asks for.
        host: Interface to bind (``0.0.0.0`` behind a load balancer).
        port: Port of the OpenAI-compatible endpoint.
        max_model_len: Context length; at most Lingshu's trained 8,192. The client's
            prompt budget (``prompt_budget_tokens``) is this context.
        max_images: Images accepted per prompt (videos are off). Default: as many as
            fit at ``max_pixels`` beside the system prompt and the reply, which is also
            the most the client sends; more than fit is refused.
        min_pixels: Smallest image area after resizing (the client's setting).
        max_pixels: Largest image area after resizing (the client's setting).
        gpu_memory_utilization: Share of each GPU's memory vLLM may take.
        max_new_tokens: The client's reply length (``max_new_tokens``), which shares
            the context with the prompt.

    Returns:
        The argument vector, ``["vllm", "serve", ...]``.
    """
    spec = _lookup(size)
    if gpus not in valid_gpu_counts(size):
        raise ValueError(
            f"Lingshu-{size.upper()} cannot be split over {gpus} GPU(s): the tensor-parallel "
            f"size must divide its attention heads; use one of {valid_gpu_counts(size)}"
        )
    if not 1024 <= max_model_len <= TRAINED_CONTEXT:
        raise ValueError(
            f"max_model_len must be within 1024..{TRAINED_CONTEXT} (Lingshu's trained length)"
        )
    if not 0 < min_pixels <= max_pixels:
        raise ValueError("need 0 < min_pixels <= max_pixels")
    fits = images_per_prompt(max_model_len, max_new_tokens, min_pixels, max_pixels)
    if max_images is None:
        max_images = fits
    elif max_images > fits:
        raise ValueError(
            f"{max_images} images at up to {full_image_tokens(max_pixels):,} tokens each "
            f"(max_pixels {max_pixels:,}) do not fit a {max_model_len:,}-token context beside "
            f"a {max_new_tokens:,}-token reply and {SYSTEM_RESERVE_TOKENS:,} tokens of system "
            f"prompt: at most {fits}; lower max_pixels to send more, smaller images"
        )
    return [
        "vllm",
        "serve",
        weights or spec.hub_id,
        "--served-model-name",
        spec.hub_id,
        "--host",
        host,
        "--port",
        str(port),
        "--dtype",
        "bfloat16",
        "--tensor-parallel-size",
        str(gpus),
        "--max-model-len",
        str(max_model_len),
        "--gpu-memory-utilization",
        str(gpu_memory_utilization),
        "--limit-mm-per-prompt",
        json.dumps({"image": max_images, "video": 0}),
        "--mm-processor-kwargs",
        json.dumps({"min_pixels": min_pixels, "max_pixels": max_pixels}),
        "--enable-prefix-caching",
        "--chat-template",
        prompts.path(CHAT_TEMPLATE),
        "--enable-auto-tool-choice",
        "--tool-call-parser",
        "hermes",
    ]
