"""The HTTP service: sessions API with SSE, an OpenAI-compatible endpoint, the web chat page."""

from agent.server.app import create_app

__all__ = ["create_app"]
