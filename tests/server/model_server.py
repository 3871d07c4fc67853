"""A loopback OpenAI-wire model server whose reply is a function of the request, after a delay.

Unlike the scripted replay server, any number of concurrent sessions can use it:
the benchmark (fixed 200 ms per reply) and the two-worker tests (replies that show
what history the model was sent).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[dict[str, Any]], str]


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


class DelayedModelServer:
    def __init__(self, reply: Reply = echo_history, delay_s: float = 0.0) -> None:
        self.reply = reply
        self.delay_s = delay_s
        self.requests: list[dict[str, Any]] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._httpd.request_queue_size = 512
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> DelayedModelServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else delayed ACKs add 40 ms per reply

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                self._send(200, {"object": "list", "data": [{"id": "lingshu", "object": "model"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                server.requests.append(body)
                time.sleep(server.delay_s)
                text = server.reply(body)
                if body.get("stream"):
                    self._stream(text)
                    return
                message = {"role": "assistant", "content": text}
                choice = {"index": 0, "message": message, "finish_reason": "stop"}
                self._send(200, {**_base("chat.completion"), "choices": [choice]})

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, text: str) -> None:
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
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


def _base(kind: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-delayed",
        "object": kind,
        "created": int(time.time()),
        "model": "lingshu",
    }
