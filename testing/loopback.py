"""Servers a test starts on 127.0.0.1, each in a daemon thread of the test process.

``ThreadedHTTP`` serves a stdlib request handler (the scripted OpenAI-wire and FHIR
servers); ``ThreadedUvicorn`` serves an ASGI app (the service itself, the delayed
model server). Both are context managers and know their base URL.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import uvicorn

__all__ = ["ThreadedHTTP", "ThreadedUvicorn", "free_port", "send_json"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def send_json(
    handler: BaseHTTPRequestHandler,
    status: int,
    payload: dict[str, Any],
    content_type: str = "application/json",
) -> None:
    """Write one JSON response from a stdlib request handler."""
    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


class _Listener(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # the listen backlog: read when the socket is opened

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that hung up
            super().handle_error(request, client_address)


class ThreadedHTTP:
    """A stdlib HTTP server for ``handler`` on a free loopback port; ``prefix`` is the
    path its base URL ends with (``/v1``, ``/fhir``)."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], prefix: str = "") -> None:
        self._httpd = _Listener(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._prefix = prefix

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}{self._prefix}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class ThreadedUvicorn:
    """An ASGI app under uvicorn on a free loopback port, in a daemon thread."""

    def __init__(self, app: Any, **config: Any) -> None:
        self.port = free_port()
        options: dict[str, Any] = {"host": "127.0.0.1", "port": self.port, "log_level": "warning"}
        options |= config
        self.server = uvicorn.Server(uvicorn.Config(app, **options))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ThreadedUvicorn:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the in-thread server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
