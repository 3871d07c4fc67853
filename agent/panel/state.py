"""The state keys the panel adds to a consultation, with their reducers.

``ConsultState`` takes them by inheriting :class:`PanelState`; every value is plain
data (checkpointed after each node, like the rest of the state).
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from agent.panel.context import merge_panel
from agent.panel.hypotheses import Hypothesis


class PanelState(TypedDict, total=False):
    """What the sequential mode keeps across turns."""

    hypotheses: list[Hypothesis]
    """The ranked differential kept across turns (replaced by the keeper each turn)."""
    next_action: dict[str, Any] | None
    """The single next action proposed this turn: kind, action, code, price, bits, targets."""
    actions: Annotated[list[dict[str, Any]], operator.add]
    """Each turn's final next action, stamped with its turn: the session's tests, costed."""
    panel: Annotated[dict[str, Any], merge_panel]
    """This turn's output of each role (``{"turn": n, "<role>": {...}}``) for the report."""
