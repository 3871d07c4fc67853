"""The one escaping function for text that did not come from the system prompt or the clinician.

Records, guideline passages, file names, DICOM fields, tool errors and any other data
pass through :func:`untrusted` before they reach a prompt. It makes three promises:

- no tag opener survives, so data cannot close the tag it is wrapped in
  (``</patient_record>``) or open a call (``<tool_call>``);
- no chat-template special token survives (``<|im_start|>``, ``<|vision_start|>`` ...):
  the tokenizer matches those as exact strings, and every one begins with ``<``;
- no control character, NUL or lone surrogate survives (they break JSON, SSE and SQLite),
  nor an invisible format character (zero-width joiners, soft hyphen, BOM, bidi overrides);
- the checks see through Unicode compatibility forms: a full-width ``＜｜im_start｜＞`` or
  ``<ｔool_call>`` is escaped as its NFKC form would be, and a ``<`` ending a field is
  escaped, so two fields joined cannot spell a token.

Plain comparisons such as ``<5 mmol/L`` or ``a < b`` stay readable. The function is
idempotent: escaping escaped text changes nothing.

:func:`protocol_safe` is the backstop for text that is partly the program's own markup
(a tool result holding ``<guideline id="G1">`` tags): it escapes only what can never be
legitimate there, the chat-template special tokens and the protocol's own tags.
"""

from __future__ import annotations

import re
import unicodedata

# A "<" (or a form NFKC folds to "<") and the first visible character after it: a tag, a
# closing tag, a declaration or a special token starts when that character, NFKC-folded
# (full-width "ｔ", "｜", "／", mathematical letters ...), is one of /A-Za-z_!?| or when
# the "<" ends the text (the next field could supply "|im_start|>").
_LT = re.compile(r"[<\uff1c\ufe64](?=\s*(.?))", re.DOTALL)
_TAG_START = re.compile(r"[/A-Za-z_!?|]")
# Qwen2.5(-VL)'s added tokens: every one is matched by the tokenizer as an exact string.
QWEN_SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
    "<tool_call>",
    "</tool_call>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
    "<|repo_name|>",
    "<|file_sep|>",
)
PROTOCOL_TAGS = ("tool_call", "tool_response", "tools", "patient_record")
"""Tags of the prompts themselves: the tool protocol and the system prompt's record tag."""
_PROTOCOL_AFTER = re.compile(
    r"\s*(?:\||$|/?\s*(?:" + "|".join(PROTOCOL_TAGS) + r")\b)", re.IGNORECASE
)
_LT_AHEAD = re.compile(r"[<\uff1c\ufe64](?=(.{0,40}))", re.DOTALL)
# C0/C1 controls except tab, newline and carriage return; lone surrogates; invisible
# format characters (zero-width space/joiners, word joiner, soft hyphen, BOM, bidi
# overrides) that could hide a special token from a filter, "<\u200b|im_start|>".
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u00ad\u061c\u180e"
    r"\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]"
)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _tag_opener(match: re.Match[str]) -> str:
    after = match.group(1)
    if not after or _TAG_START.match(_fold(after)):
        return "&lt;"
    return match.group(0)


def _protocol_opener(match: re.Match[str]) -> str:
    return "&lt;" if _PROTOCOL_AFTER.match(_fold(match.group(1))) else match.group(0)


def untrusted(text: object, limit: int | None = None) -> str:
    """``text`` made safe to place inside a prompt's data tags, cut to ``limit`` chars."""
    value = "" if text is None else str(text)
    value = _CONTROL.sub("", value)
    value = _LT.sub(_tag_opener, value)
    if limit is not None and len(value) > limit:
        cut = value[: max(0, limit - 2)].rsplit(" ", 1)[0]
        value = cut + " …"
    return value


def protocol_safe(text: object) -> str:
    """``text`` with special tokens and protocol tags escaped, other markup kept.

    For a tool result whose own tags (``<guideline id="G1" ...>``) must stay while no
    data inside it can open a special token, close a data tag or start a tool call.
    Every tool result passes through this (agent/acting.py) after the tool has
    escaped its data with :func:`untrusted`.
    """
    value = "" if text is None else str(text)
    value = _CONTROL.sub("", value)
    return _LT_AHEAD.sub(_protocol_opener, value)


def untrusted_attr(text: object, *, limit: int = 200) -> str:
    """``text`` for a one-line attribute value in double quotes (titles, file names)."""
    value = " ".join(untrusted(text, limit=limit).split())
    return value.replace("&", "&amp;").replace('"', "&quot;").replace(">", "&gt;")
