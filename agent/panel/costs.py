"""The cost of a session's tests: what was spent, and what the proposed next one adds.

Each turn's final next action is kept in ``actions`` (stamped with its turn); the
actions of earlier turns are taken as done. A test without a known price is counted
apart ("price unknown"), never as zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from knowledge.costs import NOTICE


def _priced(action: Mapping[str, Any]) -> float | None:
    if action.get("kind") in {"question", "ehr"}:
        return 0.0
    price = action.get("price_usd")
    return None if price is None else float(price)


def _item(action: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "turn": action.get("turn"),
        "action": action.get("action"),
        "kind": action.get("kind"),
        "code": action.get("code"),
        "price_usd": _priced(action),
        "price_source": action.get("price_source", ""),
    }


def session_costs(state: Mapping[str, Any]) -> dict[str, Any]:
    """Cumulative cost of the session's tests so far and of the proposed next action.

    For the answer (``answer["costs"]``) and the report: ``spent_usd`` sums the priced
    actions of earlier turns, ``unpriced`` counts those without a price, ``proposed`` is
    this turn's next action, ``with_proposed_usd`` the total if it is done.
    """
    turn = int(state.get("turn", 0))
    done = [_item(a) for a in state.get("actions") or [] if int(a.get("turn") or 0) < turn]
    spent = round(sum(i["price_usd"] or 0.0 for i in done), 2)
    unpriced = sum(1 for i in done if i["price_usd"] is None)
    nxt = state.get("next_action")
    proposed = _item({**nxt, "turn": turn}) if nxt else None
    marginal = proposed["price_usd"] if proposed else 0.0
    return {
        "spent_usd": spent,
        "items": done,
        "unpriced": unpriced,
        "proposed": proposed,
        "marginal_usd": marginal,
        "with_proposed_usd": None if marginal is None else round(spent + marginal, 2),
        "notice": NOTICE,
    }


def money(value: float | None) -> str:
    return "price unknown" if value is None else f"${value:,.2f}"


def costs_line(costs: Mapping[str, Any]) -> str:
    """One line for an answer: spent so far, the next action's cost, and unpriced tests."""
    text = f"Tests so far: {money(costs['spent_usd'])}"
    if costs.get("unpriced"):
        text += f" (+{costs['unpriced']} without a known price)"
    proposed = costs.get("proposed")
    if proposed:
        text += f"; proposed next: {proposed['action']} ({money(proposed['price_usd'])})"
    return text + "."
