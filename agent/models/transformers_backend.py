"""In-process Lingshu with transformers: a langchain-core chat model.

Inputs are built exactly as the Lingshu model card does: the processor's chat
template, ``qwen_vl_utils.process_vision_info`` for the images, then the
processor. The graph speaks the prompted Hermes tool protocol, so this model only
ever sees system, user and assistant turns (tool results arrive as user text in
``<tool_response>`` tags, derived images as user image parts).

Weights load lazily on the first call and are cached per process, keyed by
(model, device, dtype): constructing the chat model costs nothing.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from agent.models.errors import ModelUnavailable, ModelWeightsMissing
from agent.settings import DEFAULT_MODEL, Settings

log = logging.getLogger(__name__)

STOP_STRINGS: tuple[str, ...] = ("<|im_end|>", "<|endoftext|>", "<tool_response>")
"""Where a reply ends; ``<tool_response>``: the model must never invent a tool result."""


# --- loading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedModel:
    """A loaded model and its processor, shared by every chat model of the process."""

    model: Any
    processor: Any
    device: str
    dtype: Any
    attn_implementation: str


_CACHE: dict[tuple[str, str, str], LoadedModel] = {}
_CACHE_LOCK = threading.Lock()


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``; explicit devices are checked."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelUnavailable(f"device {device!r} requested but torch sees no CUDA GPU")
    if device != "cpu" and not device.startswith("cuda"):
        raise ModelUnavailable(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N")
    return device


def load_options(device: str) -> tuple[Any, str]:
    """(dtype, attention implementation) for a resolved device."""
    import torch

    if device.startswith("cuda"):
        if importlib.util.find_spec("flash_attn") is not None:
            return torch.bfloat16, "flash_attention_2"
        return torch.bfloat16, "sdpa"
    return torch.float32, "sdpa"


def _is_local_path(model_id: str) -> bool:
    """A hub id is ``org/name``; anything else (absolute, relative, deeper) is a path."""
    if Path(model_id).expanduser().exists():
        return True
    return model_id.startswith(("/", ".", "~")) or model_id.count("/") != 1 or "\\" in model_id


def weights_missing(model_id: str, reason: str) -> ModelWeightsMissing:
    """The error that names the missing weights and how to get them."""
    hub_id = DEFAULT_MODEL if _is_local_path(model_id) else model_id
    folder = f"/path/to/{hub_id.rsplit('/', 1)[-1]}"
    return ModelWeightsMissing(
        f"Lingshu weights {model_id!r} are not on this machine and the Hugging Face Hub "
        f"cannot be reached ({reason}). On a machine with network access run\n"
        f"  hf download {hub_id} --local-dir {folder}\n"
        f"(older huggingface_hub: huggingface-cli download {hub_id} --local-dir {folder}),\n"
        f"copy the folder here, then set LINGSHU_MODEL={folder} (or pass --model {folder})."
    )


def load_model(model_id: str, device: str = "auto") -> LoadedModel:
    """Load (once per process) the model and processor; raise ``ModelWeightsMissing`` if absent."""
    resolved = resolve_device(device)
    dtype, attn = load_options(resolved)
    key = (model_id, resolved, str(dtype))
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = _load_uncached(model_id, resolved, dtype, attn)
        return _CACHE[key]


def _load_uncached(model_id: str, device: str, dtype: Any, attn: str) -> LoadedModel:
    from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration

    source = str(Path(model_id).expanduser()) if _is_local_path(model_id) else model_id
    if _is_local_path(model_id) and not Path(source).is_dir():
        raise weights_missing(model_id, f"no folder {source}")
    log.info("loading %s on %s (%s, %s)", source, device, dtype, attn)
    try:
        processor = AutoProcessor.from_pretrained(source)
        model = Qwen2_5_VLForConditionalGeneration.from_pretrained(
            source, dtype=dtype, attn_implementation=attn
        )
    except OSError as exc:  # transformers reports missing files and an unreachable hub as OSError
        raise weights_missing(model_id, str(exc).splitlines()[0]) from exc
    model.to(device).eval()
    return LoadedModel(model, processor, device, dtype, attn)


# --- messages ----------------------------------------------------------------------------


def _image_source(part: dict[str, Any]) -> str | None:
    """The URL / data URI of an image content part, in any of langchain's spellings."""
    if part.get("type") == "image_url":
        image_url = part["image_url"]
        return str(image_url["url"] if isinstance(image_url, dict) else image_url)
    if part.get("type") == "image":
        if part.get("base64"):
            return f"data:{part.get('mime_type', 'image/png')};base64,{part['base64']}"
        if part.get("url") or part.get("image"):
            return str(part.get("url") or part.get("image"))
    return None


def _text_of(content: str | list[Any]) -> str:
    if isinstance(content, str):
        return content
    return "".join(
        p if isinstance(p, str) else str(p.get("text", ""))
        for p in content
        if isinstance(p, str) or p.get("type") == "text"
    )


def _user_parts(content: str | list[Any], min_pixels: int, max_pixels: int) -> str | list[Any]:
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, str):
            parts.append({"type": "text", "text": part})
        elif part.get("type") == "text":
            parts.append({"type": "text", "text": part["text"]})
        elif (source := _image_source(part)) is not None:
            parts.append(
                {"type": "image", "image": source, "min_pixels": min_pixels, "max_pixels": max_pixels}
            )
        else:
            raise ValueError(f"unsupported content part for Lingshu: {part.get('type')!r}")
    return parts


def _assistant_text(message: AIMessage) -> str:
    import json

    text = _text_of(message.content)
    calls = [
        f'<tool_call>\n{json.dumps({"name": c["name"], "arguments": c["args"]}, ensure_ascii=False)}'
        "\n</tool_call>"
        for c in message.tool_calls
    ]
    return "\n".join([text, *calls]) if calls and text else (text or "\n".join(calls))


def to_qwen_messages(
    messages: Sequence[BaseMessage], *, min_pixels: int, max_pixels: int
) -> list[dict[str, Any]]:
    """langchain messages -> the Qwen2.5-VL message format of the model card.

    Image parts become ``{"type": "image", "image": <url or data URI>, "min_pixels", "max_pixels"}``
    (qwen_vl_utils reads base64 data URIs). A stray ``ToolMessage`` is rendered the way
    Qwen renders tool results: a user turn with ``<tool_response>`` tags.
    """
    converted: list[dict[str, Any]] = []
    for message in messages:
        if isinstance(message, SystemMessage):
            converted.append({"role": "system", "content": _text_of(message.content)})
        elif isinstance(message, HumanMessage):
            content = _user_parts(message.content, min_pixels, max_pixels)
            converted.append({"role": "user", "content": content})
        elif isinstance(message, AIMessage):
            converted.append({"role": "assistant", "content": _assistant_text(message)})
        elif isinstance(message, ToolMessage):
            text = f"<tool_response>\n{_text_of(message.content)}\n</tool_response>"
            converted.append({"role": "user", "content": text})
        else:
            raise ValueError(f"unsupported message type for Lingshu: {message.type!r}")
    return converted


# --- stop strings --------------------------------------------------------------------------


class StopCutter:
    """Cuts streamed text at the first stop string, holding back a possible partial one."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = [s for s in stops if s]
        self.stopped = False
        self._pending = ""

    def feed(self, text: str) -> str:
        """Return the text that is certainly before any stop string."""
        if self.stopped:
            return ""
        buffer = self._pending + text
        hits = [i for i in (buffer.find(s) for s in self.stops) if i >= 0]
        if hits:
            self.stopped, self._pending = True, ""
            return buffer[: min(hits)]
        hold = max((k for s in self.stops for k in range(1, len(s)) if buffer.endswith(s[:k])), default=0)
        self._pending = buffer[len(buffer) - hold :] if hold else ""
        return buffer[: len(buffer) - hold]

    def flush(self) -> str:
        rest, self._pending = self._pending, ""
        return "" if self.stopped else rest


def _special_tokens(tokenizer: Any) -> list[str]:
    decoder = getattr(tokenizer, "added_tokens_decoder", {})
    return sorted((t.content for t in decoder.values() if t.special), key=len, reverse=True)


def _strip_specials(text: str, specials: Sequence[str]) -> str:
    for token in specials:
        text = text.replace(token, "")
    return text
