"""The consultation graph for the LangGraph CLI, server and Studio (see langgraph.json).

``langgraph dev`` (install the ``studio`` extra) serves it; send
``{"messages": [{"role": "user", "content": "..."}], "patient_id": "..."}``.
The LangGraph server brings its own checkpointer and threads, so the graph is
compiled without one; the stores and the model come from settings (LINGSHU_*).

langgraph-api calls the factory for every run, on its event loop, where it refuses
blocking calls: opening the stores reads SQLite and Chroma files and loads the
embedding model. So the graph is built once per process, in a worker thread, and
reused. A store that cannot be opened is not dropped in silence: it is logged, and
every answer of the graph carries it as a warning.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from agent.graph import build_graph
from agent.settings import Settings

_built: dict[str, Any] = {}
_building = threading.Lock()


def graph_for(settings: Settings) -> Any:
    """The graph for ``settings``, built on the first call of this process (blocking)."""
    with _building:
        if "graph" not in _built:
            _built["graph"] = build_graph(settings)
        return _built["graph"]


async def make_graph() -> Any:
    """Graph factory the LangGraph server calls (per run): the process's one graph,
    built off the event loop."""
    if "graph" in _built:
        return _built["graph"]
    return await asyncio.to_thread(graph_for, Settings())
