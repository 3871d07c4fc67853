"""``POST /v1/chat/completions``: the agent behind OpenAI's wire format, for chatbots.

The last user message of ``messages`` is the new turn. The session is the one named
by the ``X-Lingshu-Session`` header, else the one this key's chatbot ``user`` already
has, else, for a front end that resends the whole conversation on every call and
names no session, the session whose conversation so far is exactly the earlier
messages sent (matched by a hash of them, among this key's sessions), else a new one
(its id comes back in ``X-Lingshu-Session`` and in the ``lingshu`` field). A new
session opens with the earlier user and assistant messages sent, so the model sees
the conversation either way. ``X-Lingshu-Patient`` naming another patient than the
session's is refused (409, naming both). The reply is the verified answer in Markdown
with its references list; a stream sends that answer in chunks once it is verified,
with SSE comments (``: tool_call ...``) as the tools run. ``usage`` is the model's
token counts for the turn, summed over its calls.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from agent.report import to_markdown
from agent.server.auth import ApiKey, require_key
from agent.server.guards import SafeJSONResponse, utf8
from agent.server.routes_sessions import STREAMED, Mode, service_of
from agent.server.service import Event, error_status
from agent.server.uploads import Upload, check_uploads, from_data_url

router = APIRouter(prefix="/v1", tags=["openai"])
MODEL_ID = "lingshu"
CHUNK_CHARS = 24
MAX_MESSAGES = 1000
NO_USAGE = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


class ImageURL(BaseModel):
    url: str


class Part(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["text", "image_url"]
    text: str | None = None
    image_url: ImageURL | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[Part] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    include_usage: bool = False


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = Field(None, max_length=256)


@router.get("/models")
def models() -> dict[str, Any]:
    """The one model this endpoint serves (OpenAI clients list models first)."""
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "owned_by": "lingshu"}]}


@router.post("/chat/completions", response_model=None, responses=STREAMED)
async def chat_completions(
    request: Request,
    body: ChatRequest,
    key: Annotated[ApiKey, Depends(require_key)],
    x_lingshu_session: Annotated[str | None, Header()] = None,
    x_lingshu_patient: Annotated[str | None, Header()] = None,
    x_lingshu_mode: Annotated[Mode | None, Header()] = None,
) -> Response:
    """One turn of a session in OpenAI's chat-completions format (plain or ``stream``)."""
    service = service_of(request)
    text, uploads = _last_user_turn(body.messages)
    s = service.settings
    if len(text) > s.server_max_text_chars:
        raise HTTPException(413, f"the question is {len(text):,} characters; too long")
    check_uploads(uploads, max_images=s.max_images_per_turn, max_pixels=s.server_max_image_pixels)
    earlier = _earlier_turns(body.messages[:-1])
    sid = x_lingshu_session
    patient = x_lingshu_patient or None
    by_history = sid is None and body.user is None
    if by_history and earlier:
        sid = await service.call(service.continued, key, earlier)
    if sid is None:
        history = [(role, carried) for role, carried, _ in earlier]
        made = await service.acreate_session(key, patient, x_lingshu_mode, body.user, history)
        sid = made["session_id"]
        patient = None  # checked against the grant and bound just now
    headers = {"X-Lingshu-Session": sid}
    named = x_lingshu_session is not None
    remember = None if named else _rememberer(service, key, sid, earlier, body.messages[-1])
    if body.stream:
        events = service.stream_turn(key, sid, text, uploads, x_lingshu_mode, patient)
        first = await anext(events)
        if first["type"] == "error":
            raise HTTPException(first["status"], first["message"])
        usage = bool(body.stream_options and body.stream_options.include_usage)
        chunks = _chunks(first, events, body.model, sid, remember, usage)
        return StreamingResponse(chunks, media_type="text/event-stream", headers=headers)
    try:
        answer = await service.aturn(key, sid, text, uploads, x_lingshu_mode, patient)
    except Exception as exc:
        status, message = error_status(exc)
        raise HTTPException(status, message) from exc
    reply = to_markdown(answer)
    if remember is not None:
        await remember(reply)
    return SafeJSONResponse(_completion(answer, reply, body.model, sid), headers=headers)


Turn = tuple[str, str, str]
"""(role, text carried into a new session, text as hashed) of one earlier message."""


def _earlier_turns(messages: list[ChatMessage]) -> list[Turn]:
    """The user and assistant messages before the new turn (system and tool ones are the
    front end's business), each as carried into a session and as matched."""
    out: list[Turn] = []
    for msg in messages:
        if msg.role not in ("user", "assistant"):
            continue
        if isinstance(msg.content, list):
            texts = [p.text or "" for p in msg.content if p.type == "text"]
            urls = [p.image_url.url for p in msg.content if p.type == "image_url" and p.image_url]
        else:
            texts, urls = [msg.content or ""], []
        text = "\n".join(texts).strip()
        carried = text
        if urls:
            carried += f"\n(earlier: {len(urls)} image(s) shown in the chat, not carried here)"
        matched = text + "".join("\x00" + _digest(u) for u in urls)
        out.append((msg.role, carried.strip() or "(an image)", matched))
    return out


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


def _rememberer(
    service: Any, key: ApiKey, sid: str, earlier: list[Turn], last: ChatMessage
) -> Callable[[str], Awaitable[None]]:
    """After the answer: remember the conversation as it now stands, so the next call that
    resends it (and adds a question) continues this session."""
    (asked,) = _earlier_turns([last])

    async def remember(reply: str) -> None:
        turns = [*earlier, asked, ("assistant", reply, reply)]
        await service.call(service.remember_conversation, key, sid, turns)

    return remember


def _last_user_turn(messages: list[ChatMessage]) -> tuple[str, list[Upload]]:
    last = messages[-1]
    if last.role != "user":
        raise HTTPException(400, f"the last message must be the user's turn (got {last.role!r})")
    if isinstance(last.content, str) or last.content is None:
        return last.content or "", []
    texts = [p.text or "" for p in last.content if p.type == "text"]
    urls = [p.image_url.url for p in last.content if p.type == "image_url" and p.image_url]
    return "\n".join(texts).strip(), [from_data_url(u, i) for i, u in enumerate(urls)]


def _extra(answer: dict[str, Any], sid: str) -> dict[str, Any]:
    return {
        "session_id": sid,
        "produced_by": answer.get("produced_by"),
        "citations": answer.get("citations", []),
        "warnings": answer.get("warnings", []),
    }


def _completion(answer: dict[str, Any], reply: str, model: str, sid: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply},
                "finish_reason": "stop",
            }
        ],
        "usage": answer.get("usage") or NO_USAGE,
        "lingshu": _extra(answer, sid),
    }


async def _chunks(
    first: Event,
    rest: AsyncIterator[Event],
    model: str,
    sid: str,
    remember: Callable[[str], Awaitable[None]] | None,
    include_usage: bool,
) -> AsyncIterator[bytes]:
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return utf8(f"data: {json.dumps({**base, 'choices': [choice], **extra})}\n\n")

    yield chunk({"role": "assistant", "content": ""})
    async for event in _prepend(first, rest):
        if event["type"] in ("tool_call", "tool_result"):
            yield f": {event['type']} {event.get('name', '')}\n\n".encode()
        elif event["type"] == "error":
            error = {"message": event["message"], "type": "server_error", "code": event["status"]}
            yield f"event: error\ndata: {json.dumps({'error': error})}\n\n".encode()
            return
        elif event["type"] == "answer":
            text = to_markdown(event)
            for start in range(0, len(text), CHUNK_CHARS):
                yield chunk({"content": text[start : start + CHUNK_CHARS]})
            yield chunk({}, "stop", lingshu=_extra(event, sid))
            if include_usage:  # OpenAI's last chunk: no choices, the turn's usage
                usage = event.get("usage") or NO_USAGE
                yield utf8(f"data: {json.dumps({**base, 'choices': [], 'usage': usage})}\n\n")
            if remember is not None:
                await remember(text)
    yield b"data: [DONE]\n\n"


async def _prepend(first: Event, rest: AsyncIterator[Event]) -> AsyncIterator[Event]:
    yield first
    async for event in rest:
        yield event


__all__ = ["router"]
