"""The clinical calculators of the open-medicine package: list them, find one by name or question.

Each calculator has typed parameters (a pydantic model) and returns its value, an
interpretation and the DOI of the study that derived or validated it. The scores are
for demonstration and education; they support, and do not replace, clinical judgement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from typing import Any

from pydantic import BaseModel

_WORD = re.compile(r"[a-z0-9]+")
_REFERENCE = re.compile(r"Reference:?\s*(.+?)(?:\n\s*\n|$)", re.DOTALL)
_YEAR = re.compile(r"\b(19[5-9]\d|20[0-3]\d)\b")

TITLES = {
    "curb65": "CURB-65",
    "crb65": "CRB-65",
    "psi_port": "Pneumonia Severity Index (PSI/PORT)",
    "wells_pe": "Wells score for pulmonary embolism",
    "wells_dvt": "Wells score for DVT",
    "perc": "PERC rule",
    "qsofa": "qSOFA",
    "sofa": "SOFA",
    "news2": "NEWS2",
    "mews": "Modified Early Warning Score (MEWS)",
    "chadsvasc": "CHA2DS2-VASc",
    "hasbled": "HAS-BLED",
    "child_pugh": "Child-Pugh",
    "meld_na": "MELD-Na",
    "ckd_epi": "eGFR (CKD-EPI 2021)",
    "cockcroft_gault": "Creatinine clearance (Cockcroft-Gault)",
    "heart_score": "HEART score",
    "grace_score": "GRACE score",
    "timi_ua_nstemi": "TIMI (UA/NSTEMI)",
    "timi_stemi": "TIMI (STEMI)",
    "glasgow_blatchford": "Glasgow-Blatchford score",
    "bisap": "BISAP",
    "gcs": "Glasgow Coma Scale",
    "anion_gap": "Anion gap",
    "fib4": "FIB-4",
    "corrected_calcium": "Corrected calcium",
    "bmi": "Body mass index",
    "rcri": "Revised Cardiac Risk Index",
    "centor_mcisaac": "Centor (McIsaac) score",
}
"""Display names for the commonly used calculators (the rest use their registry name)."""

TOPICS: dict[str, tuple[str, ...]] = {
    "pneumonia": ("curb65", "psi_port", "crb65"),
    "cap": ("curb65", "psi_port", "crb65"),
    "pulmonary embolism": ("wells_pe", "perc"),
    "pe": ("wells_pe", "perc"),
    "dvt": ("wells_dvt",),
    "deep vein": ("wells_dvt",),
    "sepsis": ("qsofa", "sofa", "news2"),
    "septic": ("qsofa", "sofa", "news2"),
    "deteriorat": ("news2", "mews"),
    "early warning": ("news2", "mews"),
    "atrial fibrillation": ("chadsvasc", "hasbled"),
    "af": ("chadsvasc", "hasbled"),
    "anticoagul": ("chadsvasc", "hasbled"),
    "stroke risk": ("chadsvasc",),
    "bleeding risk": ("hasbled",),
    "cirrhosis": ("child_pugh", "meld_na"),
    "liver": ("child_pugh", "meld_na", "fib4"),
    "kidney": ("ckd_epi", "cockcroft_gault"),
    "renal": ("ckd_epi", "cockcroft_gault"),
    "egfr": ("ckd_epi",),
    "chest pain": ("heart_score", "timi_ua_nstemi", "grace_score"),
    "acs": ("heart_score", "timi_ua_nstemi", "grace_score"),
    "nstemi": ("timi_ua_nstemi", "grace_score"),
    "gi bleed": ("glasgow_blatchford", "aims65", "rockall"),
    "upper gastrointestinal": ("glasgow_blatchford", "rockall"),
    "pancreatitis": ("bisap", "ransons"),
    "sore throat": ("centor_mcisaac",),
}
"""Words of a question -> the calculators a clinician would reach for first."""


class CalculatorNotFound(LookupError):
    """No calculator matches a name; ``suggestions`` are the closest ones."""

    def __init__(self, query: str, suggestions: list[str]) -> None:
        self.query = query
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"no calculator named {query!r}{hint}")


@dataclass(frozen=True)
class Calculator:
    key: str
    """Registry name without ``calculate_``: ``curb65``."""
    title: str
    description: str
    params: type[BaseModel]
    run: Any
    reference: str
    """The reference line of the calculator's documentation (authors, journal, year)."""
    year: str

    @property
    def registry_name(self) -> str:
        return f"calculate_{self.key}"


def _flat(text: str) -> str:
    return "".join(_WORD.findall(text.lower()))


@cache
def calculators() -> dict[str, Calculator]:
    """Every calculator the installed open-medicine ships, by key."""
    from open_medicine.mcp.registry import CALCULATOR_REGISTRY

    found = {}
    for name, entry in CALCULATOR_REGISTRY.items():
        key = name.removeprefix("calculate_")
        doc = entry.execute_function.__doc__ or ""
        ref = _REFERENCE.search(doc)
        reference = " ".join(ref.group(1).split()) if ref else ""
        year = _YEAR.search(reference)
        found[key] = Calculator(
            key=key,
            title=TITLES.get(key, key.replace("_", " ").upper() if len(key) <= 6 else key),
            description=entry.description,
            params=entry.pydantic_model,
            run=entry.execute_function,
            reference=reference,
            year=year.group(1) if year else "",
        )
    return found


def package_version() -> str:
    return version("open-medicine")


def find(name: str) -> Calculator:
    """A calculator by key, registry name or title (``CURB-65``, ``calculate_curb65``)."""
    table = calculators()
    wanted = _flat(name).removeprefix("calculate")
    for calc in table.values():
        if wanted in {_flat(calc.key), _flat(calc.title)}:
            return calc
    raise CalculatorNotFound(name, [c.title for c in suggest(name, 3)])


def suggest(question: str, k: int = 5) -> list[Calculator]:
    """Calculators for a question: topic words first, then shared words with the descriptions."""
    table = calculators()
    text = " " + " ".join(_WORD.findall(question.lower())) + " "
    ranked: dict[str, float] = {}
    for topic, keys in TOPICS.items():
        if f" {topic}" in text:
            for rank, key in enumerate(keys):
                ranked[key] = max(ranked.get(key, 0.0), 10.0 - rank)
    words = {w for w in _WORD.findall(question.lower()) if len(w) > 3}
    for calc in table.values():
        if calc.key in ranked or not words:
            continue
        mine = set(_WORD.findall(f"{calc.title} {calc.description}".lower()))
        overlap = len(words & mine)
        if overlap:
            ranked[calc.key] = overlap / (1 + len(words))
        if _flat(calc.key) in _flat(question) or _flat(calc.title) in _flat(question):
            ranked[calc.key] = 20.0
    order = sorted(ranked, key=lambda k: -ranked[k])
    return [table[k] for k in order[:k] if k in table]


def describe_parameter(field: Any) -> str:
    """``bun (number): Blood Urea Nitrogen (BUN) in mg/dL``, or with the allowed values."""
    annotation = field.annotation
    choices = getattr(annotation, "__members__", None)
    kind = getattr(annotation, "__name__", str(annotation)).replace("Optional", "optional")
    if choices:
        kind = " | ".join(str(m.value) for m in annotation)
    return f"({kind}) {field.description or ''}".strip()
