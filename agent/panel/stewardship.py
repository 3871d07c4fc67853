"""Stewardship: cumulative and marginal cost, and a veto on low-value expensive tests.

A proposed test is vetoed, with its reason, when it costs at least
``panel_expensive_usd`` and is expected to give fewer than ``panel_min_bits`` bits, or
when it would take the session past ``panel_budget_usd``. The next-best candidate of
the chooser that passes takes its place. The final action of the turn is appended to
``actions`` (the session's tests, costed by :mod:`agent.panel.costs`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from agent.panel.context import PanelContext, update
from agent.panel.costs import money, session_costs


def veto_reason(candidate: Mapping[str, Any], spent: float, ctx: PanelContext) -> str | None:
    """Why ``candidate`` is vetoed, or None when it may go ahead."""
    if candidate.get("kind") in {"question", "ehr"}:
        return None
    s = ctx.settings
    price = candidate.get("price_usd")
    if price is None:
        return None
    bits = float(candidate.get("bits") or 0.0)
    if price >= s.panel_expensive_usd and bits < s.panel_min_bits:
        return (
            f"{money(price)} is at or above the {money(s.panel_expensive_usd)} threshold and the "
            f"test is expected to give {bits:.2f} bits (< {s.panel_min_bits:.2f}): low value"
        )
    if s.panel_budget_usd is not None and spent + price > s.panel_budget_usd:
        return (
            f"it would bring the session's tests to {money(spent + price)}, past the budget of "
            f"{money(s.panel_budget_usd)}"
        )
    return None


def stewardship(state: Mapping[str, Any], ctx: PanelContext) -> dict[str, Any]:
    """Role: veto low-value expensive or over-budget tests; fix the turn's next action."""
    started = time.perf_counter()
    costs = session_costs(state)
    spent = costs["spent_usd"]
    chooser = (state.get("panel") or {}).get("chooser") or {}
    queue = [state.get("next_action"), *(chooser.get("ranked") or [])]
    vetoed: list[dict[str, Any]] = []
    final = None
    seen: set[str] = set()
    for candidate in queue:
        if not candidate or candidate["action"] in seen or not candidate.get("bits", 0) > 0:
            continue
        seen.add(candidate["action"])
        reason = veto_reason(candidate, spent, ctx)
        if reason is None:
            final = candidate
            break
        vetoed.append({"action": candidate["action"], "reason": reason})
    output: dict[str, Any] = {
        "spent_usd": spent,
        "unpriced_so_far": costs["unpriced"],
        "vetoed": vetoed,
        "final": final,
        "marginal_usd": None if final is None else final.get("price_usd"),
    }
    if final is None:
        output["note"] = "no proposed action passes stewardship"
    actions = [{**final, "turn": state.get("turn", 0)}] if final else []
    return update("stewardship", state, started, output, next_action=final, actions=actions)
