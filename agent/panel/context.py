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

from agent.models.factory import Endpoint, load_chat_model
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
        loader: Callable[[Settings, Endpoint], BaseChatModel] | None = None,
    ) -> PanelContext:
        """Prices from ``price_table``; a model per role from ``panel_roles`` / ``panel_*``.

        ``loader`` turns the settings and an endpoint into a chat model (default: the
        project's one factory, ``load_chat_model``); nothing is contacted here.
        """
        _check_roles(settings.panel_roles)
        load = loader or load_chat_model
        role_models: dict[str, BaseChatModel] = {}
        shared_at = _endpoint(settings, {})
        shared = load(settings, shared_at) if shared_at is not None else None
        for role in ROLES:
            own = settings.panel_roles.get(role) or {}
            at = _endpoint(settings, own) if own else None
            if at is not None:
                role_models[role] = load(settings, at)
            elif shared is not None:
                role_models[role] = shared
        return cls(settings, load_table(settings.price_table), model, role_models)

    def model_for(self, role: str) -> BaseChatModel | None:
        return self.role_models.get(role, self.model)


def _check_roles(roles: Mapping[str, Mapping[str, str]]) -> None:
    for role, override in roles.items():
        if role not in ROLES:
            raise ValueError(f"panel_roles: unknown role {role!r} (roles: {', '.join(ROLES)})")
        unknown = set(override) - ENDPOINT_KEYS
        if unknown:
            raise ValueError(
                f"panel_roles[{role!r}]: unknown key(s) {', '.join(sorted(unknown))} "
                f"(keys: {', '.join(sorted(ENDPOINT_KEYS))})"
            )


def _endpoint(settings: Settings, override: Mapping[str, str]) -> Endpoint | None:
    """A role's own endpoint (``override``, else ``panel_*``), or None: the session's model.

    What a role leaves unset comes from ``panel_*``, then from the reasoning model's own
    ``base_url`` / ``model`` / ``api_key`` (a role may name only another served model)."""
    if not (override or settings.panel_base_url or settings.panel_model):
        return None
    return Endpoint(
        base_url=override.get("base_url") or settings.panel_base_url or settings.base_url,
        model=override.get("model") or settings.panel_model or settings.model,
        api_key=override.get("api_key") or settings.panel_api_key or settings.api_key,
    )


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
    """This turn's verified differential, or an empty one.

    In the graph the panel runs between verify and respond: verify's ``checked`` holds
    it (intake clears both ``checked`` and ``answer``, so neither is a former turn's);
    a state after respond has it in ``answer.differential``.
    """
    checked = state.get("checked") or {}
    answer = state.get("answer") or {}
    found = checked.get("differential") or answer.get("differential")
    return dict(found or {}) or {"diagnoses": []}


def leader(hypotheses: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The most probable active hypothesis."""
    active = [h for h in hypotheses if h.get("status") == "active"]
    return max(active, key=lambda h: h["probability"], default=None)
