"""A loopback OpenAI-wire model server whose reply is a function of the request, after a delay.

It is the load-test companion of :class:`testing.openai_server.OpenAICompatibleServer`
(the scripted replay, fault and recording server): unlike that one, any number of
concurrent sessions can use it. It is an asyncio server (uvicorn and a bare ASGI app),
so the delay is a timer, not a thread, and hundreds of requests in flight cost it
almost nothing. Used by the
two-worker tests (replies that show what history the model was sent) in a thread, and
by the load benchmark as its own process (``python -m testing.model_server``),
so that its work does not share a core's interpreter lock with the load client.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import uvicorn

from testing.loopback import ThreadedUvicorn

__all__ = ["DelayedModelServer", "ModelApp", "echo_history", "main", "user_texts"]

Reply = Callable[[dict[str, Any]], str]
ASGIMessage = dict[str, Any]


def user_texts(request: dict[str, Any]) -> list[str]:
    """The user-turn texts the model was sent, oldest first."""
    out = []
    for message in request.get("messages", []):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, list):
            content = " ".join(p.get("text", "") for p in content if p.get("type") == "text")
        out.append(str(content or ""))
    return out


def echo_history(request: dict[str, Any]) -> str:
    """'Seen N questions: a | b' — so a test can tell which history reached the model."""
    texts = [t for t in user_texts(request) if not t.startswith("<")]
    return f"Seen {len(texts)} questions: " + " | ".join(texts)


class ModelApp:
    """The ASGI app: ``GET /v1/models`` and ``POST /v1/chat/completions`` (plain or SSE)."""

    def __init__(self, reply: Reply, delay_s: float) -> None:
        self.reply = reply
        self.delay_s = delay_s
        self.requests: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] == "GET":
            await _send(send, 200, {"object": "list", "data": [{"id": "lingshu"}]})
            return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        body = json.loads(raw or b"{}")
        self.requests.append(body)
        await asyncio.sleep(self.delay_s)
        text = self.reply(body)
        if body.get("stream"):
            await _send_stream(send, text)
            return
        message = {"role": "assistant", "content": text}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        await _send(send, 200, {**_base("chat.completion"), "choices": [choice]})


class DelayedModelServer:
    """The model app under uvicorn in a thread of this process, on a free loopback port."""

    def __init__(self, reply: Reply = echo_history, delay_s: float = 0.0) -> None:
        self.app = ModelApp(reply, delay_s)
        self._server = ThreadedUvicorn(self.app, lifespan="off", backlog=1024)

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self.app.requests

    @property
    def delay_s(self) -> float:
        return self.app.delay_s

    @delay_s.setter
    def delay_s(self, value: float) -> None:
        self.app.delay_s = value

    @property
    def base_url(self) -> str:
        return self._server.url + "/v1"

    def __enter__(self) -> DelayedModelServer:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(*exc)


async def _send(send: Any, status: int, payload: dict[str, Any]) -> None:
    data = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def _send_stream(send: Any, text: str) -> None:
    frames = [{"content": text}, {}]
    body = b""
    for i, delta in enumerate(frames):
        finish = "stop" if i == len(frames) - 1 else None
        chunk = {
            **_base("chat.completion.chunk"),
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        body += f"data: {json.dumps(chunk)}\n\n".encode()
    body += b"data: [DONE]\n\n"
    headers = [
        (b"content-type", b"text/event-stream"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _base(kind: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-delayed",
        "object": kind,
        "created": int(time.time()),
        "model": "lingshu",
    }


def main() -> None:
    """Serve a fixed answer after a fixed delay until killed (the load benchmark's model)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=200.0)
    parser.add_argument("--answer", default="The answer.")
    args = parser.parse_args()
    app = ModelApp(lambda _: args.answer, args.delay_ms / 1000)
    uvicorn.run(
        app, host="127.0.0.1", port=args.port, log_level="warning", lifespan="off", backlog=1024
    )


if __name__ == "__main__":
    main()
