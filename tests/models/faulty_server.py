"""A real loopback OpenAI-wire server that misbehaves on purpose, one fault per request.

Each request takes the next fault of the script (the last one repeats). The faults are
what a broken, overloaded or hostile model server sends: a 200 whose body is not JSON,
``choices: []``, a stream whose deltas carry ``content: null`` or ``delta: null``, a
body cut off mid-way (the connection closes before Content-Length bytes), a server
that never answers, one that stops mid-body and hangs, a 20 MB reply, a 500, bytes
that are not HTTP at all. ``ok`` answers normally, so a test can show that the session
still works on the next turn.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.loopback import ThreadedHTTP

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


class FaultyModelServer:
    """Serves ``faults`` in order (the last repeats); ``answer`` is what ``ok`` says."""

    def __init__(self, faults: list[str], answer: str = "A reply from the model.") -> None:
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; known: {FAULTS}")
        self.faults = list(faults)
        self.answer = answer
        self.served: list[str] = []
        self.requests: list[dict[str, Any]] = []
        self.released = threading.Event()  # set on stop: hung handlers return
        self.hung_up = threading.Event()  # the client stopped reading a slow stream
        self.huge_bytes = 20 * 1024 * 1024
        self._http = ThreadedHTTP(self._handler(), "/v1")

    @property
    def base_url(self) -> str:
        return self._http.base_url

    def __enter__(self) -> FaultyModelServer:
        self._http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self._http.stop()

    def next_fault(self) -> str:
        fault = self.faults.pop(0) if len(self.faults) > 1 else self.faults[0]
        self.served.append(fault)
        return fault

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(body)
                fault = server.next_fault()
                getattr(self, f"_{fault}")(body)

            # --- answers ------------------------------------------------------------
            def _ok(self, body: dict[str, Any]) -> None:
                if body.get("stream"):
                    self._sse([_chunk({"content": server.answer}), _chunk({}, "stop")])
                else:
                    self._send(200, json.dumps(_completion({"content": server.answer})).encode())

            def _non_json(self, body: dict[str, Any]) -> None:
                self._send(200, b"<html><body>502 Bad Gateway (nginx)</body></html>")

            def _empty_choices(self, body: dict[str, Any]) -> None:
                self._send(200, json.dumps({**_completion({}), "choices": []}).encode())

            def _no_choices(self, body: dict[str, Any]) -> None:
                self._send(200, json.dumps({"id": "x", "object": "chat.completion"}).encode())

            def _null_message(self, body: dict[str, Any]) -> None:
                completion = _completion({})
                completion["choices"][0]["message"] = None
                self._send(200, json.dumps(completion).encode())

            def _stream_null_content(self, body: dict[str, Any]) -> None:
                if not body.get("stream"):
                    self._send(200, json.dumps(_completion({"content": None})).encode())
                    return
                self._sse([_chunk({"role": "assistant", "content": None}), _chunk({}, "stop")])

            def _stream_null_delta(self, body: dict[str, Any]) -> None:
                if not body.get("stream"):
                    self._null_message(body)
                    return
                self._sse([_chunk(None), {"id": "x", "choices": None}, _chunk({}, "stop")])

            def _stream_garbage(self, body: dict[str, Any]) -> None:
                data = b"data: {not json at all\n\ndata: [DONE]\n\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _cut_body(self, body: dict[str, Any]) -> None:
                data = json.dumps(_completion({"content": server.answer * 50})).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True

            def _hang(self, body: dict[str, Any]) -> None:
                server.released.wait()

            def _stall_mid_body(self, body: dict[str, Any]) -> None:
                data = json.dumps(_completion({"content": server.answer})).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[:20])
                self.wfile.flush()
                server.released.wait()

            def _huge(self, body: dict[str, Any]) -> None:
                text = "x" * server.huge_bytes
                if body.get("stream"):  # one enormous frame
                    self._sse_chunked(iter([_chunk({"content": text}), _chunk({}, "stop")]))
                else:
                    self._send(200, json.dumps(_completion({"content": text})).encode())

            def _huge_stream(self, body: dict[str, Any]) -> None:
                if not body.get("stream"):
                    self._huge(body)
                    return
                piece = "y" * 65536
                count = server.huge_bytes // len(piece)
                chunks = (_chunk({"content": piece}) for _ in range(count))
                self._sse_chunked(chunks)

            def _slow_drip(self, body: dict[str, Any]) -> None:
                """Headers at once, then one byte a second: each read is quick, the whole is not."""
                data = json.dumps(_completion({"content": server.answer})).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                for byte in data:
                    if server.released.wait(1.0):
                        return
                    try:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    except OSError:
                        return

            def _slow_stream(self, body: dict[str, Any]) -> None:
                """A streamed reply of one word every 0.2 s for 20 s."""
                if not body.get("stream"):
                    self._slow_drip(body)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for _ in range(100):
                    frame = f"data: {json.dumps(_chunk({'content': 'word '}))}\n\n".encode()
                    try:
                        self.wfile.write(f"{len(frame):x}\r\n".encode() + frame + b"\r\n")
                        self.wfile.flush()
                    except OSError:
                        server.hung_up.set()
                        return
                    if server.released.wait(0.2):
                        return
                self.close_connection = True

            def _status_500(self, body: dict[str, Any]) -> None:
                error = {"error": {"message": "CUDA out of memory", "type": "InternalServerError"}}
                self._send(500, json.dumps(error).encode())

            def _not_http(self, body: dict[str, Any]) -> None:
                self.wfile.write(b"\x00\x01garbage that is not an HTTP response\r\n\r\n")
                self.wfile.flush()
                self.close_connection = True

            # --- wire helpers ---------------------------------------------------------
            def _send(self, status: int, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:  # the client stopped reading (a capped reply)
                    self.close_connection = True

            def _sse(self, chunks: list[Any]) -> None:
                payload = b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks)
                payload += b"data: [DONE]\n\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _sse_chunked(self, chunks: Iterator[Any]) -> None:
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

        return Handler


def _completion(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-faulty",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "lingshu",
        "choices": [
            {"index": 0, "message": {"role": "assistant", **message}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def _chunk(delta: dict[str, Any] | None, finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-faulty",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "lingshu",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


@contextmanager
def faulty(faults: list[str], **kwargs: Any) -> Iterator[FaultyModelServer]:
    with FaultyModelServer(faults, **kwargs) as server:
        yield server
