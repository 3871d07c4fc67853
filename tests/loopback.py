"""Re-export of :mod:`testing.loopback` for the tests that import it from here."""

from testing.loopback import ThreadedHTTP, ThreadedUvicorn, free_port, send_json

__all__ = ["ThreadedHTTP", "ThreadedUvicorn", "free_port", "send_json"]
