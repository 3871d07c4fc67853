"""One benchmark item as every arm, scorer and page sees it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KINDS = ("mcq", "yesno", "closed", "open", "report", "ddx", "fhir", "consult")
"""mcq: an option letter; yesno / closed / open: MedEvalKit's VQA question types;
report: a Findings / Impression report; ddx: a ranked differential (DDXPlus); fhir: a
value from the patient's record (evals.fhir_tasks)."""


class DatasetError(ValueError):
    """A local dataset copy is missing or not in the layout its loader reads."""


@dataclass
class Item:
    benchmark: str
    id: str
    kind: str
    question: str
    prompt: str
    answer: str
    images: list[Path] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown item kind {self.kind!r}")
        if self.kind == "mcq" and self.answer.upper() not in self.options:
            raise DatasetError(
                f"{self.benchmark} item {self.id}: answer {self.answer!r} is not one of the "
                f"options {sorted(self.options)}"
            )
