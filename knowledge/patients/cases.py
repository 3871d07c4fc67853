"""Every synthetic case, in the order the bundles are written (SYNTHETIC data only)."""

from __future__ import annotations

from knowledge.patients.cases_acute import ACUTE_CASES
from knowledge.patients.cases_clinic import CLINIC_CASES
from knowledge.patients.cases_emergency import EMERGENCY_CASES
from knowledge.patients.cases_rare import RARE_CASES
from knowledge.patients.schema import Case

CASES: list[Case] = [*ACUTE_CASES, *EMERGENCY_CASES, *CLINIC_CASES, *RARE_CASES]
