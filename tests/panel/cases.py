"""Scripted consultation states for the panel's tests: differentials as verify leaves them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.panel import PanelContext
from agent.settings import Settings
from knowledge.costs import load_table

PRICES = """code,name,synonyms,category,price_usd,source,year
84484,"Troponin, quantitative",troponin;hs-troponin,lab,12.00,test fixture prices,2025
85379,"D-dimer, quantitative",d-dimer,lab,14.00,test fixture prices,2025
71275,"Computed tomographic angiography, chest (noncoronary)",CT pulmonary angiogram;CTPA,imaging,350.00,test fixture prices,2025
78815,"PET/CT, skull base to mid-thigh",whole-body PET-CT;PET CT,imaging,1200.00,test fixture prices,2025
"""


def price_file(folder: Path) -> Path:
    path = folder / "prices.csv"
    path.write_text(PRICES, encoding="utf-8")
    return path


def context(folder: Path, model: Any = None, **settings: Any) -> PanelContext:
    """A panel context with the fixture prices (and ``settings`` overrides)."""
    values = Settings(price_table=price_file(folder), **settings)
    return PanelContext(values, load_table(values.price_table), model)


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
