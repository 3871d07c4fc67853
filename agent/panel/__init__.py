"""Sequential diagnosis: a panel that keeps a ranked differential and picks the next action.

Roles, in the order they run after a turn's answer is verified (each a plain function
``role(state, ctx) -> dict`` returning a state update and one audit entry):

1. :func:`hypothesis_keeper` merges the turn's differential into ``hypotheses``;
2. :func:`chooser` proposes ``next_action`` by information value per dollar;
3. :func:`challenger` argues for the strongest alternative (one model call) and, when
   the leader is weak, puts the test that would falsify it in ``next_action``;
4. :func:`stewardship` vetoes low-value expensive or over-budget tests, fixes
   ``next_action`` and appends it to ``actions``;
5. :func:`checklist` flags uncited claims, invalid codes and anchoring.

:func:`run_round` applies them in order with the state's reducers (the graph does the
same with one node each). For demonstration and education, not clinical use.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from agent.panel.challenger import challenger
from agent.panel.checklist import checklist
from agent.panel.chooser import chooser
from agent.panel.context import ROLES, PanelContext, merge_panel
from agent.panel.costs import costs_line, session_costs
from agent.panel.hypotheses import Hypothesis, hypothesis_keeper, merge
from agent.panel.render import panel_markdown
from agent.panel.state import PanelState
from agent.panel.stewardship import stewardship

Role = Callable[[Mapping[str, Any], PanelContext], dict[str, Any]]

PANEL: tuple[tuple[str, Role], ...] = (
    ("keeper", hypothesis_keeper),
    ("chooser", chooser),
    ("challenger", challenger),
    ("stewardship", stewardship),
    ("checklist", checklist),
)
"""Node name and function of each role, in order."""

REDUCERS: dict[str, Callable[[Any, Any], Any]] = {
    "panel": merge_panel,
    "audit": operator.add,
    "actions": operator.add,
}
"""Reducers of the state keys the panel writes (others are replaced)."""


def panel_nodes(ctx: PanelContext) -> list[tuple[str, Callable[[Mapping[str, Any]], dict]]]:
    """``(node name, node function)`` of each role bound to ``ctx``, in order, for a graph."""
    return [(f"panel_{name}", _bound(role, ctx)) for name, role in PANEL]


def _bound(role: Role, ctx: PanelContext) -> Callable[[Mapping[str, Any]], dict]:
    def node(state: Mapping[str, Any]) -> dict:
        return role(state, ctx)

    node.__name__ = role.__name__
    return node


def apply(state: Mapping[str, Any], change: Mapping[str, Any]) -> dict[str, Any]:
    """``state`` after one role's update, reduced as the graph would."""
    new = dict(state)
    for key, value in change.items():
        reducer = REDUCERS.get(key)
        new[key] = (
            reducer(new.get(key) or ([] if key != "panel" else {}), value) if reducer else value
        )
    return new


def run_round(state: Mapping[str, Any], ctx: PanelContext) -> dict[str, Any]:
    """Every role in order over ``state``; the state after the panel's round."""
    current = dict(state)
    for _, role in PANEL:
        current = apply(current, role(current, ctx))
    return current


__all__ = [
    "PANEL",
    "REDUCERS",
    "ROLES",
    "Hypothesis",
    "PanelContext",
    "PanelState",
    "apply",
    "challenger",
    "checklist",
    "chooser",
    "costs_line",
    "hypothesis_keeper",
    "merge",
    "merge_panel",
    "panel_markdown",
    "panel_nodes",
    "run_round",
    "session_costs",
    "stewardship",
]
