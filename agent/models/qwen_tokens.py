"""How many tokens an image and a prompt take in Lingshu (Qwen2.5-VL), and what fits.

Qwen2.5-VL's image processor resizes an image so that both sides are multiples of 28
and its area lies within ``[min_pixels, max_pixels]`` (``smart_resize``), cuts it into
14x14 patches and merges them 2x2: one token per 28x28 block, between a
``<|vision_start|>`` and a ``<|vision_end|>``. ``smart_resize`` here is the processor's
(transformers' ``Qwen2VLImageProcessor``, which vLLM runs), re-stated so that counting
tokens needs neither torch nor the processor; tests/models/test_prompt_budget.py checks
it against transformers' and ``qwen_vl_utils``' (which differ only for sides under 28
pixels, where the graph never sends an image).

The serving limits follow from one budget: a request's prompt plus its reply
(``max_new_tokens``) must fit the context (``prompt_budget_tokens``, at most the 8,192
Lingshu was trained with), so the history is fitted into the context less the reply,
and ``vllm serve --limit-mm-per-prompt`` is the number of images that can fit at all.
"""

from __future__ import annotations

import math

MERGED_PATCH = 28
"""Pixels per side of the block one image token covers (14-pixel patches, merged 2x2)."""
VISION_WRAP_TOKENS = 2
"""``<|vision_start|>`` and ``<|vision_end|>`` around each image's tokens."""
MAX_ASPECT_RATIO = 200
"""The processor refuses images longer than 200 times their width (or the reverse)."""
TRAINED_CONTEXT = 8192
"""Lingshu was trained with 8,192-token sequences: serve no longer than that."""
SYSTEM_RESERVE_TOKENS = 3072
"""Room kept for the system prompt and the question when working out how many images a
prompt can hold: the prompted-mode system prompt with every tool and a synopsis is
about 3,000 tokens (12,288 characters at 4 per token)."""


def smart_resize(
    height: int,
    width: int,
    factor: int = MERGED_PATCH,
    min_pixels: int = 56 * 56,
    max_pixels: int = 14 * 14 * 4 * 1280,
) -> tuple[int, int]:
    """Qwen2.5-VL's resize rule: (height, width), multiples of ``factor``, area within
    ``[min_pixels, max_pixels]``, aspect ratio kept. ValueError beyond 200:1."""
    if max(height, width) / min(height, width) > MAX_ASPECT_RATIO:
        raise ValueError(
            f"absolute aspect ratio must be smaller than {MAX_ASPECT_RATIO}, "
            f"got {max(height, width) / min(height, width)}"
        )
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def image_tokens_at(width: int, height: int, min_pixels: int, max_pixels: int) -> int:
    """Tokens of an image sent at ``width`` x ``height``, as the processor counts them."""
    try:
        h, w = smart_resize(height, width, MERGED_PATCH, min_pixels, max_pixels)
    except ValueError:  # beyond 200:1: the graph pads such images first; count the budget
        return full_image_tokens(max_pixels)
    return (h // MERGED_PATCH) * (w // MERGED_PATCH) + VISION_WRAP_TOKENS


def full_image_tokens(max_pixels: int) -> int:
    """The most tokens one image can take under ``max_pixels``."""
    return max_pixels // (MERGED_PATCH * MERGED_PATCH) + VISION_WRAP_TOKENS


def smallest_image_tokens(min_pixels: int, max_pixels: int) -> int:
    """The fewest tokens one image can take (a square at ``min_pixels``)."""
    side = math.isqrt(max(min_pixels, 1))
    return image_tokens_at(side, side, min_pixels, max_pixels)


def context_tokens(prompt_budget_tokens: int) -> int:
    """The context a request may use: the budget, at most the trained 8,192."""
    return min(prompt_budget_tokens, TRAINED_CONTEXT)


def history_budget(prompt_budget_tokens: int, max_new_tokens: int) -> int:
    """Tokens the prompt may take so that the reply still fits the context."""
    return max(context_tokens(prompt_budget_tokens) - max_new_tokens, 0)


def images_per_prompt(
    prompt_budget_tokens: int, max_new_tokens: int, min_pixels: int, max_pixels: int
) -> int:
    """The most images one prompt can carry, each at the full ``max_pixels``, beside the
    system prompt and the reply within the context: ``--limit-mm-per-prompt``, and the
    client's own cap (older images beyond it go as one-line references)."""
    room = history_budget(prompt_budget_tokens, max_new_tokens) - SYSTEM_RESERVE_TOKENS
    return max(1, room // full_image_tokens(max_pixels))
