"""The panel's roles as nodes of the consultation graph (rows for ``agent.graph.NODES``).

In sequential mode verify routes to the first role instead of respond; the roles run in
order (keeper -> chooser -> challenger -> stewardship -> checklist) and the last hands
over to respond, which puts their output in the answer. Other modes never reach them.
The roles share one :class:`~agent.panel.context.PanelContext` per graph, made on first
use from the graph's settings and model (a role endpoint from ``panel_roles`` when set).
"""

from __future__ import annotations

import asyncio
from itertools import pairwise
from typing import Any

from agent.deps import Deps
from agent.nodes.common import NodeSpec
from agent.panel import PANEL, Role
from agent.panel.context import PanelContext
from agent.state import ConsultState

FIRST = "panel_keeper"
"""The node verify routes to in sequential mode."""
MODEL_ROLES = frozenset({"challenger"})
"""Roles that call a model: run in a thread under the event loop."""


def context(deps: Deps) -> PanelContext:
    """The panel's context of this graph, made once (prices read, role models set up)."""
    if deps.panel is None:
        deps.panel = PanelContext.from_settings(deps.settings, deps.model)
    ctx: PanelContext = deps.panel
    return ctx


def _spec(name: str, role: Role) -> NodeSpec:
    def body(state: ConsultState, deps: Deps) -> dict[str, Any]:
        return role(state, context(deps))

    async def abody(state: ConsultState, deps: Deps) -> dict[str, Any]:
        if name in MODEL_ROLES:
            return await asyncio.to_thread(body, state, deps)
        return body(state, deps)

    return NodeSpec(f"panel_{name}", body, abody)


PANEL_NODES: tuple[NodeSpec, ...] = tuple(_spec(name, role) for name, role in PANEL)
"""One node per role, in the order they run."""
PANEL_EDGES: tuple[tuple[str, str], ...] = (
    *((a.name, b.name) for a, b in pairwise(PANEL_NODES)),
    (PANEL_NODES[-1].name, "respond"),
)
"""keeper -> chooser -> challenger -> stewardship -> checklist -> respond."""

__all__ = ["FIRST", "PANEL_EDGES", "PANEL_NODES", "context"]
