"""Differentials as the verify node leaves them, for tests of the sequential-mode panel.

``dx`` makes one diagnosis of a verified differential and ``turn_state`` the state a
panel round sees after a turn: enough to drive ``agent.panel`` roles without a model.
"""

from __future__ import annotations

from typing import Any

__all__ = ["dx", "turn_state"]


def dx(
    name: str,
    code: str | None,
    p: float,
    steps: tuple[tuple[str, str], ...] = (),
    *,
    against: int = 0,
    cited: bool = True,
) -> dict[str, Any]:
    """One diagnosis of a verified differential, with ``against`` findings against it."""
    return {
        "name": name,
        "icd10": code,
        "likelihood": p,
        "supporting": [{"text": f"a finding for {name}", "evidence": ["E1"] if cited else []}],
        "against": [
            {"text": f"finding {i} against {name}", "evidence": ["E2"]} for i in range(against)
        ],
        "next_steps": [
            {"action": action, "kind": kind, "why": "", "evidence": ["G1"]}
            for action, kind in steps
        ],
    }


def turn_state(turn: int, *diagnoses: dict[str, Any], missing: tuple[str, ...] = ()) -> dict:
    """The state a panel round sees after turn ``turn``'s answer was verified."""
    differential = {"summary": "chest pain", "diagnoses": list(diagnoses), "missing": list(missing)}
    return {"turn": turn, "patient_id": "p1", "answer": {"differential": differential}}
