"""One real HTTP server on loopback that speaks the OpenAI chat-completions wire format.

It replays a script the way vLLM answers (JSON, or SSE chunks when the request streams)
and records every request, its headers and its request-line target, so a test can check
what the client sent. A script entry is a reply or a misbehaviour (see
:mod:`testing.faults`)::

    {"content": "..."}                                     a text reply
    {"tool_calls": [{"name": ..., "arguments": {...}}]}    native tool calls
    {"status": 500, "error": "..."}                        an HTTP error
    {"fault": "cut_body"}                                  a misbehaviour
    any of them with "delay_s": 0.5                        held back that long

Use it as a context manager (``with serving([...]) as server:``) and point the client
at ``server.base_url`` (it ends in ``/v1``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from testing.faults import FAULTS, FaultHandlers, chunk, completion
from testing.loopback import ThreadedHTTP, send_json

__all__ = ["FaultyModelServer", "OpenAICompatibleServer", "Reply", "faulty", "serving"]

Reply = dict[str, Any]
"""One script entry: see the module's docstring."""

DEFAULT_MODEL = "lingshu-medical-mllm/Lingshu-7B"


class OpenAICompatibleServer:
    """Answers ``POST /v1/chat/completions`` from ``replies`` in order.

    Args:
        replies: The script. When it runs out the server answers 500 ("script
            exhausted"), or repeats the last entry if ``repeat_last``.
        model: The model id it reports (``GET /v1/models`` and every reply).
        answer: What the ``ok`` fault says.
        protocol: ``HTTP/1.0`` (a connection per request) or ``HTTP/1.1``
            (keep-alive; the framing faults need it).
        repeat_last: Keep answering with the last entry once the script is spent.
    """

    def __init__(
        self,
        replies: list[Reply],
        model: str = DEFAULT_MODEL,
        *,
        answer: str = "A reply from the model.",
        protocol: str = "HTTP/1.0",
        repeat_last: bool = False,
    ) -> None:
        unknown = {r["fault"] for r in replies if "fault" in r} - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; known: {FAULTS}")
        self.replies = list(replies)
        self.model = model
        self.answer = answer
        self.protocol = protocol
        self.repeat_last = repeat_last
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.targets: list[str] = []  # the request line's target: absolute through a proxy
        self.served: list[str] = []  # the fault each request got ("reply" for a scripted reply)
        self.released = threading.Event()  # set on stop: hung handlers return
        self.hung_up = threading.Event()  # the client stopped reading a slow stream
        self.huge_bytes = 20 * 1024 * 1024
        self._lock = threading.Lock()
        self._http = ThreadedHTTP(self._handler(), "/v1")

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``."""
        return self._http.base_url

    def start(self) -> OpenAICompatibleServer:
        self._http.start()
        return self

    def stop(self) -> None:
        self.released.set()
        self._http.stop()

    def __enter__(self) -> OpenAICompatibleServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def next_reply(self) -> Reply | None:
        """The next script entry (None when the script is spent)."""
        with self._lock:
            if not self.replies:
                return None
            if self.repeat_last and len(self.replies) == 1:
                return self.replies[0]
            return self.replies.pop(0)

    def _record(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        self.requests.append(body)
        self.headers.append(dict(handler.headers.items()))
        self.targets.append(handler.path)

    def _answer(self, handler: Any, body: dict[str, Any]) -> None:
        reply = self.next_reply()
        if reply is None:
            send_json(handler, 500, {"error": {"message": "script exhausted"}})
            return
        self.served.append(reply.get("fault", "reply"))
        time.sleep(reply.get("delay_s", 0))
        if "fault" in reply:
            handler.fault(reply["fault"], body)
        elif "status" in reply:
            message = reply.get("error", "error")
            send_json(handler, reply["status"], {"error": {"message": message}})
        elif body.get("stream"):
            handler.stream(reply)
        else:
            send_json(handler, 200, _completion(self.model, reply))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(FaultHandlers):
            protocol_version = server.protocol
            owner = server

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    models = [{"id": server.model, "object": "model"}]
                    send_json(self, 200, {"object": "list", "data": models})
                else:
                    send_json(self, 404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                server._record(self, body)
                if urlsplit(self.path).path.rstrip("/") != "/v1/chat/completions":
                    send_json(self, 404, {"error": {"message": "not found"}})
                    return
                server._answer(self, body)

            def stream(self, reply: Reply) -> None:
                if self.protocol_version != "HTTP/1.0":
                    self.send_sse_chunked(_chunks(server.model, reply))
                    return
                self.send_response(200)  # HTTP/1.0: the body ends when the connection closes
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for part in _chunks(server.model, reply):
                    self.wfile.write(f"data: {json.dumps(part)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")

        return Handler


class FaultyModelServer(OpenAICompatibleServer):
    """Serves ``faults`` (names from :data:`testing.faults.FAULTS`) in order, the last
    repeating; ``answer`` is what ``ok`` says; ``served`` lists what each request got."""

    def __init__(self, faults: list[str], answer: str = "A reply from the model.") -> None:
        super().__init__(
            [{"fault": f} for f in faults],
            "lingshu",
            answer=answer,
            protocol="HTTP/1.1",
            repeat_last=True,
        )

    def __enter__(self) -> FaultyModelServer:
        self.start()
        return self


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
    message: dict[str, Any] = {"content": reply.get("content")}
    if calls:
        message["tool_calls"] = calls
    body = completion(message, model)
    body["choices"][0]["finish_reason"] = "tool_calls" if calls else "stop"
    body["usage"] = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
    return body


def _chunks(model: str, reply: Reply) -> Iterator[dict[str, Any]]:
    text = reply.get("content") or ""
    for start in range(0, len(text), 8):
        yield chunk({"content": text[start : start + 8]}, model=model)
    for i, call in enumerate(_tool_calls(reply)):
        yield chunk({"tool_calls": [{"index": i, **call}]}, model=model)
    yield chunk({}, "tool_calls" if reply.get("tool_calls") else "stop", model=model)


@contextmanager
def serving(replies: list[Reply], **kwargs: Any) -> Iterator[OpenAICompatibleServer]:
    """A started :class:`OpenAICompatibleServer`, stopped on exit."""
    with OpenAICompatibleServer(replies, **kwargs) as server:
        yield server


@contextmanager
def faulty(faults: list[str], **kwargs: Any) -> Iterator[FaultyModelServer]:
    """A started :class:`FaultyModelServer`, stopped on exit."""
    with FaultyModelServer(faults, **kwargs) as server:
        yield server
