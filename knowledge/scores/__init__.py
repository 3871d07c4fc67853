"""Clinical scores computed from a patient's record with the open-medicine calculators.

For demonstration and education: a score supports, and does not replace, clinical judgement.
"""

from __future__ import annotations

from knowledge.scores.catalogue import (
    Calculator,
    CalculatorNotFound,
    calculators,
    describe_parameter,
    find,
    package_version,
    suggest,
)
from knowledge.scores.fill import (
    Filled,
    Outcome,
    Record,
    ScoreInputError,
    Value,
    as_of_for,
    compute,
    fill,
)

__all__ = [
    "Calculator",
    "CalculatorNotFound",
    "Filled",
    "Outcome",
    "Record",
    "ScoreInputError",
    "Value",
    "as_of_for",
    "calculators",
    "compute",
    "describe_parameter",
    "fill",
    "find",
    "package_version",
    "suggest",
]
