"""The sessions API: make a session, run turns (JSON or SSE), read it back, delete it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field, ValidationError

from agent.server.auth import ApiKey, require_key
from agent.server.guards import SafeJSONResponse, has_surrogate, utf8
from agent.server.service import Event, Service, error_status
from agent.server.uploads import Upload, check_uploads, from_data_url

router = APIRouter(prefix="/v1", tags=["sessions"])
# A turn asked for as a stream answers with server-sent events.
STREAMED: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "application/json": {},
            # each server-sent event: its name (sessions API) and its JSON data
            "text/event-stream": {
                "schema": {
                    "type": "object",
                    "properties": {"event": {"type": "string"}, "data": {"type": "string"}},
                    "required": ["data"],
                }
            },
        }
    }
}
Key = Annotated[ApiKey, Depends(require_key)]
Mode = Literal["clinical", "education", "report", "sequential"]


class NewSession(BaseModel):
    patient_id: str | None = Field(
        None, max_length=128, description="Bound for the session's life."
    )
    mode: Mode | None = None


class SessionCreated(BaseModel):
    session_id: str
    patient_id: str | None
    mode: str


class TurnRequest(BaseModel):
    text: str = Field("", description="The clinician's question.")
    images: list[str] = Field(default_factory=list, description="data:image/...;base64 URLs.")
    mode: Mode | None = None
    patient_id: str | None = Field(
        None,
        max_length=128,
        description="Optional check: the patient the caller means (409 if the session's "
        "patient is another; the header X-Lingshu-Patient does the same).",
    )


_TURN_BODY = {
    "requestBody": {
        "content": {
            "application/json": {"schema": TurnRequest.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "text": {"type": "string"},
                        "mode": {
                            "type": "string",
                            "enum": ["clinical", "education", "report", "sequential"],
                        },
                        "patient_id": {"type": "string", "maxLength": 128},
                        "images": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                        },
                    },
                }
            },
        }
    }
}


def named_patient(request: Request) -> str | None:
    """The patient a request names in ``X-Lingshu-Patient`` (checked against the session's)."""
    return request.headers.get("x-lingshu-patient") or None


def service_of(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


@router.get("/patients")
async def patients(request: Request, key: Key) -> list[dict[str, Any]]:
    """Patients this API key may open."""
    service = service_of(request)
    return await service.call(service.patients, key)


@router.post("/sessions", status_code=201)
async def create_session(
    request: Request, key: Key, body: NewSession | None = None
) -> SessionCreated:
    """A new session; its patient is bound now and never changes."""
    service = service_of(request)
    body = body or NewSession()
    made = await service.acreate_session(key, body.patient_id, body.mode)
    return SessionCreated(**made)


@router.get("/sessions")
async def list_sessions(request: Request, key: Key) -> list[dict[str, Any]]:
    """This key's sessions (those its patient grant still covers), newest first."""
    service = service_of(request)
    return await service.call(service.sessions, key)


@router.get("/sessions/{session_id}")
async def get_session(request: Request, key: Key, session_id: str) -> dict[str, Any]:
    """Turns, the current answer (and its differential when there is one), and the evidence."""
    service = service_of(request)

    def read() -> dict[str, Any]:
        service.authorize(key, session_id, named_patient(request))
        state = service.agent.state(session_id)
        answer = state.get("answer") or None
        return {
            "session_id": session_id,
            "patient_id": state.get("patient_id"),
            "mode": state.get("mode"),
            "turns": service.agent.turns(session_id),
            "answer": answer,
            "differential": (answer or {}).get("differential"),
            "question": service.agent.pending(session_id),
            "evidence": state.get("evidence") or {},
        }

    return await service.call(read)


@router.delete("/sessions/{session_id}", status_code=204)
async def delete_session(request: Request, key: Key, session_id: str) -> Response:
    """Delete the session and all its checkpoints."""
    service = service_of(request)
    try:
        await service.call(service.delete_session, key, session_id, named_patient(request))
    except Exception as exc:
        status, message = error_status(exc)
        raise HTTPException(status, message) from exc
    return Response(status_code=204)


@router.get("/sessions/{session_id}/images/{evidence_id}", response_class=Response)
async def image(request: Request, key: Key, session_id: str, evidence_id: str) -> Response:
    """An image of the session (I#) as PNG, as shown to the model by default."""
    service = service_of(request)

    def render() -> bytes:
        service.authorize(key, session_id, named_patient(request))
        record = (service.agent.state(session_id).get("evidence") or {}).get(evidence_id)
        if not record or record.get("kind") != "image":
            raise HTTPException(404, f"no image {evidence_id!r} in this session")
        import io

        buf = io.BytesIO()
        service.agent.resources.images.open(record["citation"]["path"]).save(buf, format="PNG")
        return buf.getvalue()

    return Response(await service.call(render), media_type="image/png")


@router.post(
    "/sessions/{session_id}/turns",
    openapi_extra=_TURN_BODY,
    response_model=None,
    responses=STREAMED,
)
async def turn(request: Request, key: Key, session_id: str) -> Response:
    """Run one turn: JSON answer, or with ``Accept: text/event-stream`` its steps as SSE.

    The agent may stop at one question to the clinician instead of answering: the JSON
    reply then carries ``question`` (``{"question", "why"}``, ``produced_by`` "question",
    no differential), and the stream sends a ``question`` event before the final one.
    Answer it with ``POST /v1/sessions/{id}/answer`` (or the next turn's text)."""
    service = service_of(request)
    text, uploads, mode, patient_id = await _read_turn(request)
    patient_id = _one_patient(patient_id, named_patient(request))
    s = service.settings
    check_uploads(uploads, max_images=s.max_images_per_turn, max_pixels=s.server_max_image_pixels)
    return await _run_turn(request, key, session_id, text, uploads, mode, patient_id)


async def _run_turn(
    request: Request,
    key: ApiKey,
    session_id: str,
    text: str,
    uploads: list[Upload],
    mode: str | None,
    patient_id: str | None,
) -> Response:
    """One turn (or a resumed one) as JSON, or with ``Accept: text/event-stream`` as SSE."""
    service = service_of(request)
    if "text/event-stream" in request.headers.get("accept", ""):
        events = service.stream_turn(key, session_id, text, uploads, mode, patient_id)
        first = await anext(events)
        if first["type"] == "error":
            raise HTTPException(first["status"], first["message"])
        return StreamingResponse(_sse(first, events), media_type="text/event-stream")
    try:
        answer = await service.aturn(key, session_id, text, uploads, mode, patient_id)
    except Exception as exc:
        status, message = error_status(exc)
        raise HTTPException(status, message) from exc
    return SafeJSONResponse(answer)


class AnswerRequest(BaseModel):
    text: str = Field(min_length=1, description="The clinician's answer to the agent's question.")


QUESTION_PENDING: dict[int | str, dict[str, Any]] = {
    **STREAMED,
    409: {"description": "No question is pending in this session (send a turn instead)."},
}


@router.post("/sessions/{session_id}/answer", response_model=None, responses=QUESTION_PENDING)
async def answer_question(
    request: Request, key: Key, session_id: str, body: AnswerRequest
) -> Response:
    """Answer the question a turn stopped at (a turn whose reply carries ``question``, or
    the SSE event ``question``): the turn resumes with the answer and runs to its end
    (JSON, or SSE with ``Accept: text/event-stream``). 409 when no question is pending."""
    service = service_of(request)
    patient_id = named_patient(request)
    if len(body.text) > service.settings.server_max_text_chars:
        raise HTTPException(413, f"the answer is {len(body.text):,} characters; too long")

    def pending() -> dict[str, str] | None:
        service.authorize(key, session_id, patient_id)
        return service.agent.pending(session_id)

    try:
        asked = await service.call(pending)
    except Exception as exc:
        status, message = error_status(exc)
        raise HTTPException(status, message) from exc
    if asked is None:
        raise HTTPException(409, "no question is pending in this session: send a turn instead")
    return await _run_turn(request, key, session_id, body.text, [], None, patient_id)


def _one_patient(in_body: str | None, in_header: str | None) -> str | None:
    """The patient a turn names (body or header); 400 when the two disagree."""
    if in_body and in_header and in_body != in_header:
        raise HTTPException(
            400, f"the body names patient {in_body!r} and X-Lingshu-Patient {in_header!r}"
        )
    return in_body or in_header or None


async def _read_turn(request: Request) -> tuple[str, list[Upload], str | None, str | None]:
    """The turn's text, images, mode and (optional) patient from a JSON or multipart body."""
    limit = service_of(request).settings.server_max_text_chars
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        uploads = [
            Upload(str(f.filename or "image"), await f.read())
            for f in form.getlist("images")
            if not isinstance(f, str)
        ]
        raw: dict[str, Any] = {
            "text": form.get("text") or "",
            "mode": form.get("mode") or None,
            "patient_id": form.get("patient_id") or None,
        }
        if any(isinstance(v, str) and has_surrogate(v) for v in raw.values()):
            raise HTTPException(400, "a form field holds a lone UTF-16 surrogate")
    else:
        try:
            raw = json.loads(await request.body() or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise HTTPException(400, f"the body is not valid JSON: {exc}") from exc
        if not isinstance(raw, dict):
            raise HTTPException(400, "the body must be a JSON object with 'text' (and 'images')")
        uploads = []
    try:
        body = TurnRequest.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise HTTPException(422, problems) from exc
    if len(body.text) > limit:
        raise HTTPException(
            413, f"the question is {len(body.text):,} characters; at most {limit:,}"
        )
    uploads += [from_data_url(url, i) for i, url in enumerate(body.images, start=len(uploads))]
    return body.text, uploads, body.mode, body.patient_id


async def _sse(first: Event, rest: AsyncIterator[Event]) -> AsyncIterator[bytes]:
    yield _frame(first)
    async for event in rest:
        yield _frame(event)


def _frame(event: Event) -> bytes:
    data = json.dumps(event, ensure_ascii=False, default=str)
    return utf8(f"event: {event.get('type', 'message')}\ndata: {data}\n\n")
