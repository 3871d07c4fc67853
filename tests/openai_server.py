"""A real HTTP server on loopback speaking the OpenAI chat-completions wire format.

It replays scripted Lingshu-style replies the way vLLM sends them (JSON or SSE
chunks) and records every request, so tests can check what the client sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from tests.loopback import ThreadedHTTP, send_json

Reply = dict[str, Any]
"""``{"content": "..."}``, ``{"tool_calls": [{"name": ..., "arguments": {...}}]}``,
or ``{"status": 500, "error": "..."}``; ``"delay_s"`` holds the answer back that long."""


class OpenAICompatibleServer:
    def __init__(self, replies: list[Reply], model: str = "lingshu-medical-mllm/Lingshu-7B"):
        self.replies = list(replies)
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.targets: list[str] = []  # the request line's target: absolute through a proxy
        self._http = ThreadedHTTP(self._handler(), "/v1")

    @property
    def base_url(self) -> str:
        return self._http.base_url

    def start(self) -> OpenAICompatibleServer:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    self._json(
                        200, {"object": "list", "data": [{"id": server.model, "object": "model"}]}
                    )
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(body)
                server.headers.append(dict(self.headers.items()))
                server.targets.append(self.path)
                if urlsplit(self.path).path.rstrip("/") != "/v1/chat/completions":
                    self._json(404, {"error": {"message": "not found"}})
                    return
                if not server.replies:
                    self._json(500, {"error": {"message": "script exhausted"}})
                    return
                reply = server.replies.pop(0)
                time.sleep(reply.get("delay_s", 0))
                if "status" in reply:
                    self._json(reply["status"], {"error": {"message": reply.get("error", "error")}})
                    return
                if body.get("stream"):
                    self._stream(reply)
                else:
                    self._json(200, _completion(server.model, reply))

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                send_json(self, status, payload)

            def _stream(self, reply: Reply) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for chunk in _chunks(server.model, reply):
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")

        return Handler


def _tool_calls(reply: Reply) -> list[dict[str, Any]]:
    return [
        {
            "id": f"chatcmpl-tool-{i}",
            "type": "function",
            "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])},
        }
        for i, c in enumerate(reply.get("tool_calls", []))
    ]


def _completion(model: str, reply: Reply) -> dict[str, Any]:
    calls = _tool_calls(reply)
    message: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
    if calls:
        message["tool_calls"] = calls
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}
        ],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }


def _chunks(model: str, reply: Reply) -> Iterator[dict[str, Any]]:
    base = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0, "model": model}
    text = reply.get("content") or ""
    for start in range(0, len(text), 8):
        delta = {"content": text[start : start + 8]}
        yield {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
    for i, call in enumerate(_tool_calls(reply)):
        delta = {"tool_calls": [{"index": i, **call}]}
        yield {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
    finish = "tool_calls" if reply.get("tool_calls") else "stop"
    yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}


@contextmanager
def serving(replies: list[Reply], **kwargs: Any) -> Iterator[OpenAICompatibleServer]:
    server = OpenAICompatibleServer(replies, **kwargs).start()
    try:
        yield server
    finally:
        server.stop()
