"""The consultation graph for the LangGraph CLI, server and Studio (see langgraph.json).

The LangGraph server brings its own checkpointer and threads, so the graph is
compiled without one; the stores and the model come from settings (LINGSHU_*).
Send ``{"messages": [{"role": "user", "content": "..."}], "patient_id": "..."}``.
"""

from __future__ import annotations

from typing import Any

from agent.graph import build_graph
from agent.settings import Settings


def make_graph() -> Any:
    """Graph factory the LangGraph server calls once at start-up."""
    return build_graph(Settings())
