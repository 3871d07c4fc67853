"""Where each calculator parameter can be found in a patient's record.

A parameter of an open-medicine calculator is filled from the record only when this
table says how: a measurement (LOINC codes, the unit the calculator expects, how
recent it must be), the patient's age or sex, a problem on the problem list
(ICD-10-CM code prefixes), or a threshold on one of those. Everything else must be
reported by the clinician (through the model) and is marked as reported.

Windows (how old a value may be and still be used) follow common practice for
bedside scores: vital signs 24 hours, acute laboratory values 72 hours, slower
laboratory values 30 days, lipids, weight and height one year. They are
demonstration defaults, for education; not clinical advice.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

HOURS_VITAL = 24.0
HOURS_ACUTE = 72.0
HOURS_SLOW = 30 * 24.0
HOURS_YEAR = 365 * 24.0


@dataclass(frozen=True)
class Measured:
    """A number from an Observation: LOINC codes, target unit, window in hours."""

    quantity: str
    codes: tuple[str, ...]
    unit: str
    hours: float
    urea_codes: tuple[str, ...] = ()
    """Codes that measure urea rather than urea nitrogen (converted to BUN)."""


@dataclass(frozen=True)
class Demographic:
    what: str
    """``age``, ``female`` or ``male``."""


@dataclass(frozen=True)
class Problem:
    """True when a problem with one of these ICD-10-CM prefixes is on the record."""

    label: str
    icd10: tuple[str, ...]
    history: bool = True
    """Resolved problems count too (a history of stroke); else active ones only."""


@dataclass(frozen=True)
class Threshold:
    """A yes/no parameter decided by comparing another parameter with a cut-off."""

    base: str
    op: str
    cutoff: float

    def decide(self, value: float) -> bool:
        compare: dict[str, Callable[[float, float], bool]] = {
            ">": operator.gt,
            ">=": operator.ge,
            "<": operator.lt,
            "<=": operator.le,
        }
        return compare[self.op](value, self.cutoff)


Spec = Measured | Demographic | Problem | Threshold

_VITALS = {
    "heart_rate": Measured("heart rate", ("8867-4",), "/min", HOURS_VITAL),
    "respiratory_rate": Measured("respiratory rate", ("9279-1",), "/min", HOURS_VITAL),
    "systolic_bp": Measured("systolic blood pressure", ("8480-6",), "mmHg", HOURS_VITAL),
    "diastolic_bp": Measured("diastolic blood pressure", ("8462-4",), "mmHg", HOURS_VITAL),
    "temperature": Measured("temperature", ("8310-5", "8331-1"), "C", HOURS_VITAL),
    "spo2": Measured("oxygen saturation", ("59408-5", "2708-6"), "%", HOURS_VITAL),
    "weight": Measured("weight", ("29463-7",), "kg", HOURS_YEAR),
    "height": Measured("height", ("8302-2",), "cm", HOURS_YEAR),
}
_LABS = {
    "bun": Measured(
        "urea", ("3094-0", "6299-2"), "mg/dL", HOURS_ACUTE, urea_codes=("22664-7", "3091-6")
    ),
    "creatinine": Measured("creatinine", ("2160-0", "38483-4", "14682-9"), "mg/dL", HOURS_ACUTE),
    "bilirubin": Measured("bilirubin", ("1975-2", "14631-6"), "mg/dL", HOURS_ACUTE),
    "albumin": Measured("albumin", ("1751-7", "61151-7"), "g/dL", HOURS_SLOW),
    "inr": Measured("inr", ("6301-6", "34714-6"), "", HOURS_ACUTE),
    "sodium": Measured("sodium", ("2951-2", "2947-0"), "mmol/L", HOURS_ACUTE),
    "potassium": Measured("potassium", ("2823-3", "6298-4"), "mmol/L", HOURS_ACUTE),
    "chloride": Measured("chloride", ("2075-0",), "mmol/L", HOURS_ACUTE),
    "bicarbonate": Measured("bicarbonate", ("1963-8", "2028-9"), "mmol/L", HOURS_ACUTE),
    "glucose": Measured("glucose", ("2345-7", "2339-0", "15074-8"), "mg/dL", HOURS_ACUTE),
    "calcium": Measured("calcium", ("17861-6", "2000-8"), "mg/dL", HOURS_ACUTE),
    "platelets": Measured("platelets", ("777-3", "26515-7"), "10^3/uL", HOURS_ACUTE),
    "wbc": Measured("white cell count", ("6690-2", "26464-8"), "10^3/uL", HOURS_ACUTE),
    "hemoglobin": Measured("hemoglobin", ("718-7",), "g/dL", HOURS_ACUTE),
    "ast": Measured("ast", ("1920-8",), "U/L", HOURS_SLOW),
    "alt": Measured("alt", ("1742-6", "1743-4"), "U/L", HOURS_SLOW),
    "crp": Measured("crp", ("1988-5",), "mg/L", HOURS_ACUTE),
    "total_cholesterol": Measured("cholesterol", ("2093-3",), "mg/dL", HOURS_YEAR),
    "hdl_cholesterol": Measured("hdl cholesterol", ("2085-9",), "mg/dL", HOURS_YEAR),
}
_PROBLEMS = {
    "hypertension": Problem("hypertension", ("I10", "I11", "I12", "I13", "I15", "I16")),
    "diabetes": Problem("diabetes mellitus", ("E08", "E09", "E10", "E11", "E13")),
    "congestive_heart_failure": Problem("heart failure", ("I50", "I11.0", "I13.0", "I13.2")),
    "stroke": Problem("stroke", ("I61", "I63", "I64", "Z86.73")),
    "stroke_tia_thromboembolism": Problem(
        "stroke, TIA or thromboembolism", ("I63", "I64", "G45", "I26", "I74", "Z86.73")
    ),
    "vascular_disease": Problem(
        "vascular disease (prior MI, PAD, aortic plaque)", ("I21", "I22", "I25.2", "I70", "I73.9")
    ),
    "ischemic_heart_disease": Problem(
        "ischaemic heart disease", ("I20", "I21", "I22", "I24", "I25")
    ),
    "cerebrovascular_disease": Problem(
        "cerebrovascular disease", ("I60", "I61", "I62", "I63", "I64", "I65", "I66", "I67", "G45")
    ),
    "malignancy": Problem("active cancer", tuple(f"C{n:02d}" for n in range(0, 97)), False),
    "prior_vte": Problem("previous DVT or PE", ("I26", "I82.4", "I82.5", "Z86.71")),
    "liver_disease": Problem("liver disease", ("K70", "K71", "K72", "K73", "K74", "K75", "K76")),
    "renal_disease": Problem("chronic kidney disease", ("N18", "N19")),
    "chronic_pulmonary_disease": Problem(
        "chronic lung disease", ("J41", "J42", "J43", "J44", "J45")
    ),
    "dementia": Problem("dementia", ("F01", "F02", "F03", "G30")),
}

SPECS: dict[str, Spec] = {
    **_VITALS,
    **_LABS,
    **_PROBLEMS,
    "age": Demographic("age"),
    "is_female": Demographic("female"),
    "female_sex": Demographic("female"),
    "is_male": Demographic("male"),
    "male_gender": Demographic("male"),
    # the same things under the names different calculators give them
    "pulse": _VITALS["heart_rate"],
    "resting_pulse_rate": _VITALS["heart_rate"],
    "respiration_rate": _VITALS["respiratory_rate"],
    "systolic_blood_pressure": _VITALS["systolic_bp"],
    "temperature_celsius": _VITALS["temperature"],
    "weight_kg": _VITALS["weight"],
    "height_cm": _VITALS["height"],
    "serum_creatinine": _LABS["creatinine"],
    "serum_sodium": _LABS["sodium"],
    "serum_potassium": _LABS["potassium"],
    "white_blood_cell_count": _LABS["wbc"],
    "blood_glucose": _LABS["glucose"],
    "platelet_count": _LABS["platelets"],
    "chf": _PROBLEMS["congestive_heart_failure"],
    "history_of_congestive_heart_failure": _PROBLEMS["congestive_heart_failure"],
    "cardiac_failure": _PROBLEMS["congestive_heart_failure"],
    "hypertensive": _PROBLEMS["hypertension"],
    "diabetic": _PROBLEMS["diabetes"],
    "history_of_ischemic_heart_disease": _PROBLEMS["ischemic_heart_disease"],
    "history_of_cerebrovascular_disease": _PROBLEMS["cerebrovascular_disease"],
    "active_cancer": _PROBLEMS["malignancy"],
    "neoplastic_disease": _PROBLEMS["malignancy"],
    "previous_dvt_pe": _PROBLEMS["prior_vte"],
    "prior_dvt_pe": _PROBLEMS["prior_vte"],
    "previous_vte": _PROBLEMS["prior_vte"],
    "previously_documented_dvt": _PROBLEMS["prior_vte"],
    "history_dvt_pe": _PROBLEMS["prior_vte"],
    "hepatic_disease": _PROBLEMS["liver_disease"],
    # yes/no parameters that are a cut-off on a recorded number
    "heart_rate_gt_100": Threshold("heart_rate", ">", 100),
    "heart_rate_gte_100": Threshold("heart_rate", ">=", 100),
    "systolic_bp_lt_100": Threshold("systolic_bp", "<", 100),
    "systolic_bp_90_or_less": Threshold("systolic_bp", "<=", 90),
    "spo2_lt_95": Threshold("spo2", "<", 95),
    "weight_lt_67kg": Threshold("weight", "<", 67),
    "inr_above_1_5": Threshold("inr", ">", 1.5),
    "albumin_below_3": Threshold("albumin", "<", 3.0),
    "preoperative_creatinine_above_2": Threshold("creatinine", ">", 2.0),
    "age_gte_65": Threshold("age", ">=", 65),
    "age_65_or_older": Threshold("age", ">=", 65),
    "elderly": Threshold("age", ">", 65),
    "age_gte_50": Threshold("age", ">=", 50),
    "age_over_50": Threshold("age", ">", 50),
    "age_ge_60": Threshold("age", ">=", 60),
    "age_70_or_older": Threshold("age", ">=", 70),
    "age_75_or_older": Threshold("age", ">=", 75),
}
"""Calculator parameter name -> where it is in the record (names as open-medicine spells them)."""

_WBC_PER_UL = Measured("white cell count", ("6690-2", "26464-8"), "/uL", HOURS_ACUTE)

OVERRIDES: dict[str, dict[str, Spec | None]] = {
    # HAS-BLED "H" is uncontrolled hypertension, systolic > 160 mmHg (Pisters 2010), not the
    # problem list entry.
    "calculate_hasbled": {"hypertension": Threshold("systolic_bp", ">", 160)},
    # these two take the white cell count in cells/uL (13000), not 10^3/uL.
    "calculate_bisap": {"wbc": _WBC_PER_UL},
    "calculate_ransons": {"wbc": _WBC_PER_UL},
    # item scores, not measurements, under a measurement's name
    "calculate_apgar": {"pulse": None},
    "calculate_cows": {"resting_pulse_rate": None},
    # Caprini counts heart failure and stroke within the last month only
    "calculate_caprini": {"chf": None, "stroke": None},
    # ASCVD asks whether hypertension is treated, which the problem list does not say
    "calculate_ascvd": {"hypertensive": None},
}
"""Per calculator: a parameter whose meaning differs from the shared table (None: reported only)."""


def spec_for(calculator: str, parameter: str) -> Spec | None:
    """Where ``parameter`` of ``calculator`` is found in the record, or None (reported only)."""
    overrides = OVERRIDES.get(calculator, {})
    if parameter in overrides:
        return overrides[parameter]
    return SPECS.get(parameter)
