"""The Qwen2.5-VL message format of the Lingshu model card, and stop-string cutting.

Used by the in-process transformers backend; no torch or transformers needed here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

STOP_STRINGS: tuple[str, ...] = ("<|im_end|>", "<|endoftext|>", "<tool_response>")
"""Where a reply ends; ``<tool_response>``: the model must never invent a tool result."""


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
            budget = {"min_pixels": min_pixels, "max_pixels": max_pixels}
            parts.append({"type": "image", "image": source, **budget})
        else:
            raise ValueError(f"unsupported content part for Lingshu: {part.get('type')!r}")
    return parts


def _assistant_text(message: AIMessage) -> str:
    text = _text_of(message.content)
    calls = [
        "<tool_call>\n"
        + json.dumps({"name": c["name"], "arguments": c["args"]}, ensure_ascii=False)
        + "\n</tool_call>"
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
        hold = max(
            (k for s in self.stops for k in range(1, len(s)) if buffer.endswith(s[:k])), default=0
        )
        self._pending = buffer[len(buffer) - hold :] if hold else ""
        return buffer[: len(buffer) - hold]

    def flush(self) -> str:
        rest, self._pending = self._pending, ""
        return "" if self.stopped else rest


def special_tokens(tokenizer: Any) -> list[str]:
    decoder = getattr(tokenizer, "added_tokens_decoder", {})
    return sorted((t.content for t in decoder.values() if t.special), key=len, reverse=True)


def strip_specials(text: str, specials: Sequence[str]) -> str:
    for token in specials:
        text = text.replace(token, "")
    return text
