"""The misbehaviours of :class:`testing.openai_server.OpenAICompatibleServer`, one per reply.

A script entry ``{"fault": NAME}`` answers a request the way a broken, overloaded or
hostile model server would: a 200 whose body is not JSON, ``choices: []``, a stream whose
deltas carry ``content: null`` or ``delta: null``, a body cut off mid-way (the connection
closes before Content-Length bytes), a server that never answers, one that stops mid-body
and hangs, a 20 MB reply, a 500, bytes that are not HTTP at all. ``ok`` answers normally.
The handlers need HTTP/1.1 framing (``protocol="HTTP/1.1"``), as
:class:`~testing.openai_server.FaultyModelServer` sets.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler
from typing import Any

__all__ = ["FAULTS", "FaultHandlers", "chunk", "completion"]

FAULTS = (
    "ok",
    "non_json",
    "empty_choices",
    "no_choices",
    "null_message",
    "stream_null_content",
    "stream_null_delta",
    "stream_garbage",
    "cut_body",
    "hang",
    "stall_mid_body",
    "huge",
    "huge_stream",
    "slow_drip",
    "slow_stream",
    "status_500",
    "not_http",
)


def completion(message: dict[str, Any], model: str = "lingshu") -> dict[str, Any]:
    """A ``chat.completion`` body whose one choice carries ``message``."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", **message}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def chunk(
    delta: dict[str, Any] | None, finish: str | None = None, model: str = "lingshu"
) -> dict[str, Any]:
    """One ``chat.completion.chunk`` of a stream."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


class FaultHandlers(BaseHTTPRequestHandler):
    """Request-handler methods ``fault_NAME(body)``; ``self.owner`` is the server object
    (it holds ``answer``, ``huge_bytes``, and the ``released`` / ``hung_up`` events)."""

    owner: Any

    def fault(self, name: str, body: dict[str, Any]) -> None:
        """Answer this request with the fault ``name``."""
        getattr(self, f"fault_{name}")(body)

    def fault_ok(self, body: dict[str, Any]) -> None:
        if body.get("stream"):
            self.send_sse([chunk({"content": self.owner.answer}), chunk({}, "stop")])
        else:
            self.send_body(200, json.dumps(completion({"content": self.owner.answer})).encode())

    def fault_non_json(self, body: dict[str, Any]) -> None:
        self.send_body(200, b"<html><body>502 Bad Gateway (nginx)</body></html>")

    def fault_empty_choices(self, body: dict[str, Any]) -> None:
        self.send_body(200, json.dumps({**completion({}), "choices": []}).encode())

    def fault_no_choices(self, body: dict[str, Any]) -> None:
        self.send_body(200, json.dumps({"id": "x", "object": "chat.completion"}).encode())

    def fault_null_message(self, body: dict[str, Any]) -> None:
        reply = completion({})
        reply["choices"][0]["message"] = None
        self.send_body(200, json.dumps(reply).encode())

    def fault_stream_null_content(self, body: dict[str, Any]) -> None:
        if not body.get("stream"):
            self.send_body(200, json.dumps(completion({"content": None})).encode())
            return
        self.send_sse([chunk({"role": "assistant", "content": None}), chunk({}, "stop")])

    def fault_stream_null_delta(self, body: dict[str, Any]) -> None:
        if not body.get("stream"):
            self.fault_null_message(body)
            return
        self.send_sse([chunk(None), {"id": "x", "choices": None}, chunk({}, "stop")])

    def fault_stream_garbage(self, body: dict[str, Any]) -> None:
        data = b"data: {not json at all\n\ndata: [DONE]\n\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def fault_cut_body(self, body: dict[str, Any]) -> None:
        data = json.dumps(completion({"content": self.owner.answer * 50})).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        self.close_connection = True

    def fault_hang(self, body: dict[str, Any]) -> None:
        self.owner.released.wait()

    def fault_stall_mid_body(self, body: dict[str, Any]) -> None:
        data = json.dumps(completion({"content": self.owner.answer})).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[:20])
        self.wfile.flush()
        self.owner.released.wait()

    def fault_huge(self, body: dict[str, Any]) -> None:
        text = "x" * self.owner.huge_bytes
        if body.get("stream"):  # one enormous frame
            self.send_sse_chunked([chunk({"content": text}), chunk({}, "stop")])
        else:
            self.send_body(200, json.dumps(completion({"content": text})).encode())

    def fault_huge_stream(self, body: dict[str, Any]) -> None:
        if not body.get("stream"):
            self.fault_huge(body)
            return
        piece = "y" * 65536
        count = self.owner.huge_bytes // len(piece)
        self.send_sse_chunked(chunk({"content": piece}) for _ in range(count))

    def fault_slow_drip(self, body: dict[str, Any]) -> None:
        """Headers at once, then one byte a second: each read is quick, the whole is not."""
        data = json.dumps(completion({"content": self.owner.answer})).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        for byte in data:
            if self.owner.released.wait(1.0):
                return
            try:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            except OSError:
                return

    def fault_slow_stream(self, body: dict[str, Any]) -> None:
        """A streamed reply of one word every 0.2 s for 20 s."""
        if not body.get("stream"):
            self.fault_slow_drip(body)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for _ in range(100):
            frame = f"data: {json.dumps(chunk({'content': 'word '}))}\n\n".encode()
            try:
                self.wfile.write(f"{len(frame):x}\r\n".encode() + frame + b"\r\n")
                self.wfile.flush()
            except OSError:
                self.owner.hung_up.set()
                return
            if self.owner.released.wait(0.2):
                return
        self.close_connection = True

    def fault_status_500(self, body: dict[str, Any]) -> None:
        error = {"error": {"message": "CUDA out of memory", "type": "InternalServerError"}}
        self.send_body(500, json.dumps(error).encode())

    def fault_not_http(self, body: dict[str, Any]) -> None:
        self.wfile.write(b"\x00\x01garbage that is not an HTTP response\r\n\r\n")
        self.wfile.flush()
        self.close_connection = True

    # --- wire helpers -----------------------------------------------------------------
    def send_body(self, status: int, data: bytes) -> None:
        """A JSON response with its Content-Length; a client that hangs up is no error."""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except OSError:  # the client stopped reading (a capped reply)
            self.close_connection = True

    def send_sse(self, chunks: list[Any]) -> None:
        """A whole event stream in one body with its Content-Length."""
        payload = b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks)
        payload += b"data: [DONE]\n\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def send_sse_chunked(self, chunks: Iterable[Any]) -> None:
        """An event stream in chunked transfer encoding, then ``[DONE]``."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for c in [*chunks, "[DONE]"]:
                frame = f"data: {c if isinstance(c, str) else json.dumps(c)}\n\n".encode()
                self.wfile.write(f"{len(frame):x}\r\n".encode() + frame + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client hung up once it had enough
            self.close_connection = True
