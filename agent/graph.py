"""The consultation graph: intake -> reason <-> act -> verify -> respond.

This module is the wiring only: the node table, the fixed edges, and ``build_graph``,
which tests and users call with their own model, tools and checkpointer. The nodes
live in ``agent/nodes/`` (one module each), their shared dependencies in
``agent/deps.py``. A node that routes returns ``Command[Literal[...]]``; its
destinations are listed here so the drawn graph shows them.

To add a node: write ``body(state, deps)`` and its async twin in ``agent/nodes/``,
add a :class:`NodeSpec` to ``NODES`` and its fixed edges to ``EDGES``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import get_args

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Checkpointer

from agent.deps import Deps, make_deps
from agent.nodes import (
    AfterReason,
    AfterVerify,
    Node,
    NodeSpec,
    aact,
    act,
    aintake,
    areason,
    arespond,
    averify,
    intake,
    reason,
    respond,
    verify,
)
from agent.nodes.ask import AfterAsk, aask, ask
from agent.panel.nodes import PANEL_EDGES, PANEL_NODES
from agent.resources import Resources
from agent.settings import Settings
from agent.state import ConsultState, InputState

NODES: tuple[NodeSpec, ...] = (
    NodeSpec("intake", intake, aintake),
    NodeSpec("reason", reason, areason, destinations=get_args(AfterReason)),
    NodeSpec("act", act, aact),
    NodeSpec("verify", verify, averify, destinations=get_args(AfterVerify)),
    NodeSpec("respond", respond, arespond),
    NodeSpec("ask", ask, aask, destinations=get_args(AfterAsk)),  # a question to the clinician
    *PANEL_NODES,  # sequential mode only: verify -> panel_keeper ... panel_checklist -> respond
)
"""Every node of the graph, in the order of a turn."""

EDGES: tuple[tuple[str, str], ...] = (
    (START, "intake"),
    ("intake", "reason"),
    ("act", "reason"),
    ("respond", END),
    *PANEL_EDGES,
)
"""The fixed edges; reason and verify route by the ``Command`` they return."""


def build_graph(
    settings: Settings | None = None,
    *,
    model: BaseChatModel | None = None,
    checkpointer: Checkpointer = None,
    tools: Sequence[BaseTool] | None = None,
    resources: Resources | None = None,
    deps: Deps | None = None,
    planner: BaseChatModel | None = None,
) -> CompiledStateGraph[ConsultState, None, InputState, ConsultState]:
    """Compile the consultation graph; every part can be swapped (tests pass fakes).

    ``deps``: the dependencies already made (``agent.deps.make_deps``), for a caller
    that keeps them (``Lingshu.deps``); else they are made from the other arguments.
    ``planner``: in split mode (a planner endpoint in ``settings``), the planner model in
    place of the one loaded from settings; ``model`` is then Lingshu, asked through ``look``.
    """
    if deps is None:
        deps = make_deps(
            settings or Settings(), model=model, tools=tools, resources=resources, planner=planner
        )
    builder = StateGraph(ConsultState, input_schema=InputState)
    for spec in NODES:
        builder.add_node(spec.name, Node(spec, deps), destinations=spec.destinations)
    for start, end in EDGES:
        builder.add_edge(start, end)
    return builder.compile(checkpointer=checkpointer, name="lingshu-consultation")


__all__ = ["EDGES", "NODES", "Deps", "build_graph", "make_deps"]
