"""The vLLM serving kit: the ``vllm serve`` command line for Lingshu.

Flags checked against the vLLM documentation for v0.11.0 (docs.vllm.ai/en/v0.11.0:
engine arguments, ``MultiModalConfig``; ``--limit-mm-per-prompt`` takes JSON there)
and still listed for vLLM 0.20: ``--tensor-parallel-size``, ``--max-model-len``,
``--limit-mm-per-prompt '{"image": N, "video": 0}'``, ``--mm-processor-kwargs``,
``--enable-prefix-caching``, ``--chat-template``, ``--enable-auto-tool-choice``,
``--tool-call-parser hermes``.

A planner beside Lingshu (split mode, :func:`planner_command`) is served with
``--enable-auto-tool-choice --tool-call-parser <parser>``; the parsers by family follow
vLLM's "Tool Calling" docs (v0.10-latest): ``hermes`` for Qwen2.5/Qwen3 and Hermes models,
``llama3_json`` for Llama 3.1-3.3, ``mistral`` for Mistral models.
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
    """The ``vllm serve`` argv (``["vllm", "serve", ...]``) for Lingshu ``size`` on ``gpus``
    GPUs (tensor parallel).

    Args:
        size: ``7b`` or ``32b``.
        gpus: Tensor-parallel size; must divide the model's attention heads.
        weights: Local folder of the weights (default: the hub id, which is always the
            served model name the client asks for).
        host: Interface to bind (``0.0.0.0`` behind a load balancer).
        port: Port of the OpenAI-compatible endpoint.
        max_model_len: Context length, at most the trained 8,192 (``prompt_budget_tokens``).
        max_images: Images per prompt (videos off). Default: as many as fit at
            ``max_pixels`` beside the system prompt and the reply (the client's own cap).
        min_pixels: Smallest / largest image area after resizing (the client's settings).
        max_pixels: Largest image area after resizing.
        gpu_memory_utilization: Share of each GPU's memory vLLM may take.
        max_new_tokens: The client's reply length, which shares the context with the prompt.
    """
    spec = _lookup(size)
    _check_split(size, gpus)
    max_images = _image_limit(max_model_len, max_new_tokens, min_pixels, max_pixels, max_images)
    return [
        "vllm",
        "serve",
        weights or spec.hub_id,
        "--served-model-name",
        spec.hub_id,
        *_endpoint_flags(host, port, gpu_memory_utilization),
        "--dtype",
        "bfloat16",
        "--tensor-parallel-size",
        str(gpus),
        "--max-model-len",
        str(max_model_len),
        *_lingshu_flags(max_images, min_pixels, max_pixels),
    ]


def _lingshu_flags(max_images: int, min_pixels: int, max_pixels: int) -> list[str]:
    """Images (no video), the client's pixel budget, prefix caching, the tool template."""
    return [
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


def _check_split(size: str, gpus: int) -> None:
    if gpus not in valid_gpu_counts(size):
        raise ValueError(
            f"Lingshu-{size.upper()} cannot be split over {gpus} GPU(s): the tensor-parallel "
            f"size must divide its attention heads; use one of {valid_gpu_counts(size)}"
        )


def _image_limit(
    max_model_len: int, max_new_tokens: int, min_pixels: int, max_pixels: int, asked: int | None
) -> int:
    """Images per prompt: ``asked``, or as many as fit; more than fit is refused."""
    if not 1024 <= max_model_len <= TRAINED_CONTEXT:
        raise ValueError(
            f"max_model_len must be within 1024..{TRAINED_CONTEXT} (Lingshu's trained length)"
        )
    if not 0 < min_pixels <= max_pixels:
        raise ValueError("need 0 < min_pixels <= max_pixels")
    fits = images_per_prompt(max_model_len, max_new_tokens, min_pixels, max_pixels)
    if asked is None:
        return fits
    if asked > fits:
        raise ValueError(
            f"{asked} images at up to {full_image_tokens(max_pixels):,} tokens each "
            f"(max_pixels {max_pixels:,}) do not fit a {max_model_len:,}-token context beside "
            f"a {max_new_tokens:,}-token reply and {SYSTEM_RESERVE_TOKENS:,} tokens of system "
            f"prompt: at most {fits}; lower max_pixels to send more, smaller images"
        )
    return asked


def _endpoint_flags(host: str, port: int, gpu_memory_utilization: float) -> list[str]:
    if not 0 < gpu_memory_utilization <= 1:
        raise ValueError("gpu_memory_utilization must be within 0..1 (a share of each GPU)")
    return [
        "--host",
        host,
        "--port",
        str(port),
        "--gpu-memory-utilization",
        f"{gpu_memory_utilization:g}",
    ]


# --- split mode: a planner served beside Lingshu ------------------------------------------

TOOL_CALL_PARSERS: dict[str, str] = {
    "qwen": "hermes",
    "hermes": "hermes",
    "llama-3": "llama3_json",
    "llama3": "llama3_json",
    "mistral": "mistral",
    "mixtral": "mistral",
}
"""vLLM ``--tool-call-parser`` by model family (vLLM docs, "Tool Calling": Qwen2.5 and
Qwen3 use ``hermes``, Llama 3.1/3.2/3.3 ``llama3_json``, Mistral models ``mistral``)."""


def guess_tool_parser(model: str) -> str:
    """The tool-call parser for a planner, guessed from its name; ValueError if unknown."""
    name = model.lower().replace("_", "-")
    for family, parser in TOOL_CALL_PARSERS.items():
        if family in name:
            return parser
    raise ValueError(
        f"cannot tell the tool-call parser of {model!r} from its name; give --planner-parser "
        "(hermes for Qwen2.5/Qwen3, llama3_json for Llama 3.x, mistral for Mistral; see vLLM's "
        "tool calling docs for others)"
    )


def planner_command(
    model: str,
    *,
    parser: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8001,
    max_model_len: int = 16384,
    gpu_memory_utilization: float = 0.9,
) -> list[str]:
    """The ``vllm serve`` argv for a planner model with native tool calling.

    Args:
        model: Hub id or local folder of the planner (also its served name).
        parser: ``--tool-call-parser``; guessed from the name when ``None``.
        host: Interface to bind.
        port: Port of its OpenAI-compatible endpoint (not Lingshu's).
        max_model_len: Its context (the planner sees tool results, not images).
        gpu_memory_utilization: Its share of the GPU (lower when beside Lingshu on one GPU).
    """
    if max_model_len < 1024:
        raise ValueError("the planner's max_model_len must be at least 1024")
    return [
        "vllm",
        "serve",
        model,
        "--served-model-name",
        model,
        *_endpoint_flags(host, port, gpu_memory_utilization),
        "--max-model-len",
        str(max_model_len),
        "--enable-prefix-caching",
        "--enable-auto-tool-choice",
        "--tool-call-parser",
        parser or guess_tool_parser(model),
    ]
