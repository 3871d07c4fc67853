"""Re-export of :mod:`testing.openai_server` for the tests that import it from here."""

from testing.openai_server import OpenAICompatibleServer, Reply, serving

__all__ = ["OpenAICompatibleServer", "Reply", "serving"]
