"""``POST /v1/chat/completions``: the agent behind OpenAI's wire format, for chatbots.

The session holds the conversation, so only the last user message of ``messages``
is a new turn (a front end that resends the history does no harm). The session is
the one named by the ``X-Lingshu-Session`` header, else the one this key's chatbot
``user`` already has, else a new one (its id comes back in ``X-Lingshu-Session``
and in the ``lingshu`` field). The reply is the verified answer in Markdown with
its references list; a stream sends that answer in chunks once it is verified,
with SSE comments (``: tool_call ...``) as the tools run.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from agent.report import to_markdown
from agent.server.auth import ApiKey, require_key
from agent.server.routes_sessions import Mode, service_of
from agent.server.service import Event, error_status
from agent.server.uploads import Upload, check_uploads, from_data_url

router = APIRouter(prefix="/v1", tags=["openai"])
MODEL_ID = "lingshu"
CHUNK_CHARS = 24


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


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    user: str | None = Field(None, max_length=256)


@router.get("/models")
def models() -> dict[str, Any]:
    """The one model this endpoint serves (OpenAI clients list models first)."""
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "owned_by": "lingshu"}]}


@router.post("/chat/completions", response_model=None)
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
    sid = x_lingshu_session
    if sid is None:
        made = await service.acreate_session(key, x_lingshu_patient, x_lingshu_mode, body.user)
        sid = made["session_id"]
    headers = {"X-Lingshu-Session": sid}
    if body.stream:
        events = service.stream_turn(key, sid, text, uploads, x_lingshu_mode)
        first = await anext(events)
        if first["type"] == "error":
            raise HTTPException(first["status"], first["message"])
        chunks = _chunks(first, events, body.model, sid)
        return StreamingResponse(chunks, media_type="text/event-stream", headers=headers)
    try:
        answer = await service.aturn(key, sid, text, uploads, x_lingshu_mode)
    except Exception as exc:
        status, message = error_status(exc)
        raise HTTPException(status, message) from exc
    return JSONResponse(_completion(answer, body.model, sid), headers=headers)


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


def _completion(answer: dict[str, Any], model: str, sid: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": to_markdown(answer)},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "lingshu": _extra(answer, sid),
    }


async def _chunks(
    first: Event, rest: AsyncIterator[Event], model: str, sid: str
) -> AsyncIterator[bytes]:
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return f"data: {json.dumps({**base, 'choices': [choice], **extra})}\n\n".encode()

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
    yield b"data: [DONE]\n\n"


async def _prepend(first: Event, rest: AsyncIterator[Event]) -> AsyncIterator[Event]:
    yield first
    async for event in rest:
        yield event


__all__ = ["router"]
