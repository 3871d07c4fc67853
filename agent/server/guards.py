"""Bounds on what a request body may be, checked before any route parses it.

A JSON body nested deeper than ``server_max_json_depth`` (Python's parser would hit its
recursion limit on 100,000 levels) and a body carrying a lone UTF-16 surrogate (a
``\\ud800`` escape with no partner, or its raw bytes: text that cannot be stored nor sent
back as UTF-8) get HTTP 400 with the reason. The body size is bounded by
``app.BodyLimit``, which runs first. Responses that carry model text encode it with
replacement, so a model's stray surrogate cannot turn an answer into a 500 either.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
"""JSON strings (skipped whole) and brackets."""
_SURROGATE_HINT = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
_SURROGATE_ESCAPE = re.compile(rb"(\\+)u([dD][89a-fA-F][0-9a-fA-F]{2})")
_RAW_SURROGATE = re.compile(rb"\xed[\xa0-\xbf][\x80-\xbf]")
_OPEN, _CLOSE = frozenset(b"[{"), frozenset(b"]}")


def too_deep(body: bytes, limit: int) -> bool:
    """Whether the JSON text nests arrays/objects more than ``limit`` levels."""
    if body.count(b"[") + body.count(b"{") <= limit:  # cannot be deeper: the usual case
        return False
    depth = 0
    for match in _TOKENS.finditer(body):
        char = body[match.start()]
        if char in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif char in _CLOSE:
            depth -= 1
    return False


def lone_surrogate(body: bytes) -> bool:
    """Whether the JSON text holds a UTF-16 surrogate that is not half of a valid pair."""
    if not _SURROGATE_HINT.search(body):
        return False
    if _RAW_SURROGATE.search(body):  # surrogates are never valid in UTF-8
        return True
    pending_high_end = -1
    for match in _SURROGATE_ESCAPE.finditer(body):
        if len(match.group(1)) % 2 == 0:  # an escaped backslash, then literal "u..."
            continue
        high = match.group(2)[1:2].lower() in b"89ab"
        start = match.start() + len(match.group(1)) - 1
        if pending_high_end >= 0:
            if high or start != pending_high_end:
                return True
            pending_high_end = -1
        elif high:
            pending_high_end = match.end()
        else:
            return True
    return pending_high_end >= 0


def has_surrogate(text: str) -> bool:
    """Whether a decoded string holds a lone surrogate (cannot be encoded as UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def utf8(text: str) -> bytes:
    """UTF-8 bytes of text that may hold a stray surrogate (replaced, never an error)."""
    return text.encode("utf-8", "replace")


class SafeJSONResponse(JSONResponse):
    """JSONResponse that survives model text with a lone surrogate (replaced by '?')."""

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return utf8(text)


class JsonGuard:
    """400 for a JSON body nested too deep or holding a lone surrogate; other bodies pass."""

    def __init__(self, app: ASGIApp, max_depth: Callable[[], int], error: Any) -> None:
        self.app = app
        self.max_depth = max_depth
        self.error = error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        ctype = dict(scope["headers"]).get(b"content-type", b"").lower()
        if ctype.startswith((b"multipart/", b"application/x-www-form-urlencoded")):
            await self.app(scope, receive, send)
            return
        try:
            body, tail = await _read_body(receive)
        except HTTPException as exc:  # the body limit, while it streamed in
            await self._refuse(scope, receive, send, exc.status_code, str(exc.detail))
            return
        limit = int(self.max_depth())
        if too_deep(body, limit):
            message = f"the JSON body is nested deeper than {limit} levels"
            await self._refuse(scope, receive, send, 400, message)
            return
        if lone_surrogate(body):
            message = (
                "the body holds a lone UTF-16 surrogate (e.g. \\ud800 without its pair): "
                "send text as valid Unicode"
            )
            await self._refuse(scope, receive, send, 400, message)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return tail or await receive()

        await self.app(scope, replay, send)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, status: int, message: str
    ) -> None:
        await JSONResponse(self.error(status, message), status_code=status)(scope, receive, send)


async def _read_body(receive: Receive) -> tuple[bytes, Message | None]:
    """The whole body; and a disconnect that arrived instead of its end, if one did."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), message
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks), None
