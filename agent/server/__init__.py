"""The HTTP service: sessions API with SSE, an OpenAI-compatible endpoint, the web chat page.

``create_app`` is imported on first use, so a worker process (``agent.server.workers``)
starts without loading the whole service before uvicorn asks for it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from agent.server.app import create_app

        return create_app
    raise AttributeError(f"module 'agent.server' has no attribute {name!r}")
