"""Scripted consultation states for the panel's tests: differentials as verify leaves them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.panel import PanelContext
from agent.settings import Settings
from knowledge.costs import load_table
from testing.panel import dx, turn_state

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


__all__ = ["PRICES", "context", "dx", "price_file", "turn_state"]
