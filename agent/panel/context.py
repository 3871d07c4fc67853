"""What every panel role shares: settings, the price table, models per role, audit entries.

A role is a plain function ``role(state, ctx) -> dict``: it reads the consultation
state and returns a state update holding its output under ``panel`` and one audit
entry (``{"tool": "panel:<role>", ...}``), so wiring it into the graph is one node.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from langchain_core.language_models import BaseChatModel

from agent.settings import Settings
from knowledge.costs import PriceTable, load_table

ROLES = ("keeper", "chooser", "challenger", "stewardship", "checklist")
"""The panel's roles in the order they run within a turn."""
ENDPOINT_KEYS = frozenset({"base_url", "model", "api_key"})
"""What a role's entry in ``panel_roles`` may set."""


def merge_panel(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Reducer of ``panel``: roles of one turn add their keys; a new turn starts afresh."""
    left, right = dict(left or {}), dict(right or {})
    if not right:
        return left
    if left.get("turn") != right.get("turn"):
        return right
    return left | right


@dataclass
class PanelContext:
    """Settings, prices and the chat model of each role (default: the session's model)."""

    settings: Settings
    prices: PriceTable
    model: BaseChatModel | None = None
    """The session's model: every role that calls a model uses it unless given its own."""
    role_models: dict[str, BaseChatModel] = field(default_factory=dict)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        model: BaseChatModel | None = None,
        loader: Callable[[Settings], BaseChatModel] | None = None,
    ) -> PanelContext:
        """Prices from ``price_table``; a model per role from ``panel_roles`` / ``panel_*``.

        ``loader`` turns a settings object into a chat model (default: the project's
        factory); nothing is contacted here.
        """
        if loader is None:
            from agent.models.factory import load_chat_model

            loader = load_chat_model
        for role, override in settings.panel_roles.items():
            if role not in ROLES:
                raise ValueError(f"panel_roles: unknown role {role!r} (roles: {', '.join(ROLES)})")
            unknown = set(override) - ENDPOINT_KEYS
            if unknown:
                raise ValueError(
                    f"panel_roles[{role!r}]: unknown key(s) {', '.join(sorted(unknown))} "
                    f"(keys: {', '.join(sorted(ENDPOINT_KEYS))})"
                )
        role_models: dict[str, BaseChatModel] = {}
        shared = _endpoint(settings, {})
        for role in ROLES:
            own = _endpoint(settings, settings.panel_roles.get(role) or {})
            if own is not None:
                role_models[role] = loader(own)
            elif shared is not None:
                role_models[role] = loader(shared)
        return cls(settings, load_table(settings.price_table), model, role_models)

    def model_for(self, role: str) -> BaseChatModel | None:
        return self.role_models.get(role, self.model)


def _endpoint(settings: Settings, override: Mapping[str, str]) -> Settings | None:
    """Settings for a role's own endpoint, or None when it shares the session's model."""
    base_url = override.get("base_url") or settings.panel_base_url
    model = override.get("model") or settings.panel_model
    if not (override or settings.panel_base_url or settings.panel_model):
        return None
    changes: dict[str, Any] = {"backend": "openai"}
    if base_url:
        changes["base_url"] = base_url
    if model:
        changes["model"] = model
    key = override.get("api_key") or settings.panel_api_key
    if key:
        changes["api_key"] = key
    return settings.model_copy(update=changes)


def audit_entry(
    role: str, state: Mapping[str, Any], started: float, summary: Mapping[str, Any]
) -> dict[str, Any]:
    """The audit entry of one role's run, in the shape of a tool call's entry."""
    entry: dict[str, Any] = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "turn": state.get("turn", 0),
        "tool": f"panel:{role}",
        "args": {},
        "status": "error" if summary.get("error") else "ok",
        "ms": round((time.perf_counter() - started) * 1000, 3),
        "patient_id": state.get("patient_id"),
        "resources": [],
        "output": dict(summary),
    }
    if summary.get("error"):
        entry["error"] = summary["error"]
    return entry


def update(
    role: str, state: Mapping[str, Any], started: float, output: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    """A role's state update: its output in ``panel``, its audit entry, and ``extra`` keys."""
    output = {"role": role, **output}
    return {
        "panel": {"turn": state.get("turn", 0), role: output},
        "audit": [audit_entry(role, state, started, output)],
        **extra,
    }


def differential_of(state: Mapping[str, Any]) -> dict[str, Any]:
    """This turn's verified differential (``answer.differential``), or an empty one."""
    answer = state.get("answer") or {}
    return dict(answer.get("differential") or {}) or {"diagnoses": []}


def leader(hypotheses: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The most probable active hypothesis."""
    active = [h for h in hypotheses if h.get("status") == "active"]
    return max(active, key=lambda h: h["probability"], default=None)
