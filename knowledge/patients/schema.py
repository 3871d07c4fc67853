"""The shape of a synthetic case, and the lab table the cases use (SYNTHETIC data only).

Each case is an invented but clinically coherent record: history, medications,
allergies, lab panels over time, vital signs and one or two notes. The notes
describe findings and pending tests; they do not hand over the diagnosis.
Reference ranges are typical adult ranges in US conventional units, for
demonstration; hs-troponin T uses the 99th-percentile upper reference limit of
14 ng/L (Roche Elecsys hs-cTnT, as in the ESC 2023 ACS guideline).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

Vitals = tuple[
    float | None, float | None, float | None, float | None, float | None, float | None, float | None
]
"""(heart rate, systolic BP, diastolic BP, respiratory rate, temperature, SpO2, weight)."""


@dataclass(frozen=True)
class Lab:
    name: str
    loinc: str
    loinc_name: str
    unit: str
    low: float | None = None
    high: float | None = None


LABS: dict[str, Lab] = {
    "hs_tnt": Lab(
        "hs-Troponin T",
        "67151-1",
        "Troponin T.cardiac [Mass/volume] in Serum or Plasma by High sensitivity method",
        "ng/L",
        None,
        14,
    ),
    "ntprobnp": Lab(
        "NT-proBNP",
        "33762-6",
        "Natriuretic peptide.B prohormone N-Terminal [Mass/volume] in Serum or Plasma",
        "pg/mL",
        None,
        300,
    ),
    "ddimer": Lab(
        "D-dimer",
        "48065-7",
        "Fibrin D-dimer FEU [Mass/volume] in Platelet poor plasma",
        "ng/mL{FEU}",
        None,
        500,
    ),
    "glucose": Lab(
        "Glucose", "2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL", 70, 140
    ),
    "hba1c": Lab("HbA1c", "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", 4.0, 5.6),
    "creat": Lab(
        "Creatinine", "2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 0.6, 1.2
    ),
    "egfr": Lab(
        "eGFR (CKD-EPI 2021)",
        "98979-8",
        "Glomerular filtration rate/1.73 sq M.predicted "
        "[Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula "
        "(CKD-EPI 2021)",
        "mL/min/{1.73_m2}",
        60,
        None,
    ),
    "bun": Lab(
        "Urea nitrogen", "3094-0", "Urea nitrogen [Mass/volume] in Serum or Plasma", "mg/dL", 7, 20
    ),
    "na": Lab("Sodium", "2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", 135, 145),
    "k": Lab(
        "Potassium", "2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L", 3.5, 5.0
    ),
    "lactate": Lab(
        "Lactate", "2524-7", "Lactate [Moles/volume] in Serum or Plasma", "mmol/L", 0.5, 2.0
    ),
    "crp": Lab(
        "CRP", "1988-5", "C reactive protein [Mass/volume] in Serum or Plasma", "mg/L", None, 5
    ),
    "pct": Lab(
        "Procalcitonin",
        "33959-8",
        "Procalcitonin [Mass/volume] in Serum or Plasma",
        "ng/mL",
        None,
        0.5,
    ),
    "bili": Lab(
        "Bilirubin, total",
        "1975-2",
        "Bilirubin.total [Mass/volume] in Serum or Plasma",
        "mg/dL",
        0.1,
        1.2,
    ),
    "alb": Lab("Albumin", "1751-7", "Albumin [Mass/volume] in Serum or Plasma", "g/dL", 3.5, 5.0),
    "alt": Lab(
        "ALT",
        "1742-6",
        "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
        "U/L",
        7,
        56,
    ),
    "lipase": Lab(
        "Lipase", "3040-3", "Lipase [Enzymatic activity/volume] in Serum or Plasma", "U/L", 10, 60
    ),
    "tsh": Lab(
        "TSH", "3016-3", "Thyrotropin [Units/volume] in Serum or Plasma", "m[IU]/L", 0.4, 4.0
    ),
    "ldl": Lab(
        "LDL cholesterol",
        "13457-7",
        "Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation",
        "mg/dL",
        None,
        100,
    ),
    "inr": Lab(
        "INR", "6301-6", "INR in Platelet poor plasma by Coagulation assay", "{INR}", 0.8, 1.2
    ),
    "hb": Lab("Haemoglobin", "718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 12.0, 17.5),
    "wbc": Lab(
        "White cell count",
        "6690-2",
        "Leukocytes [#/volume] in Blood by Automated count",
        "10*3/uL",
        4.0,
        11.0,
    ),
    "neut": Lab(
        "Neutrophils",
        "751-8",
        "Neutrophils [#/volume] in Blood by Automated count",
        "10*3/uL",
        1.5,
        7.5,
    ),
    "plt": Lab(
        "Platelets",
        "777-3",
        "Platelets [#/volume] in Blood by Automated count",
        "10*3/uL",
        150,
        400,
    ),
    "hcg": Lab(
        "Urine hCG", "2106-3", "Choriogonadotropin (pregnancy test) [Presence] in Urine", ""
    ),
}


@dataclass(frozen=True)
class Problem:
    snomed: str | None
    display: str
    icd10: str | None
    onset: str
    resolved: str | None = None


@dataclass(frozen=True)
class Med:
    rxnorm: str | None
    ingredient: str
    display: str
    dose: str
    start: str
    status: str = "active"


@dataclass(frozen=True)
class Allergy:
    code: str
    display: str
    reaction: str | None
    reaction_code: str | None
    criticality: str | None
    recorded: str
    rxnorm: bool = True
    type: str | None = "allergy"


NKA = Allergy("716186003", "No known allergy", None, None, None, "2020-01-01", False, None)


@dataclass(frozen=True)
class Note:
    when: str
    type_code: str
    type_name: str
    title: str
    text: str


ED_NOTE = ("34111-5", "Emergency department Note")
ECG_NOTE = ("11524-6", "EKG study")
IMAGING_NOTE = ("18748-4", "Diagnostic imaging study")
PROGRESS_NOTE = ("11506-3", "Progress note")


def note(when: str, kind: tuple[str, str], title: str, text: str) -> Note:
    """A note; ``text`` is dedented and stripped so cases can use triple-quoted strings."""

    return Note(when, kind[0], kind[1], title, textwrap.dedent(text).strip())


@dataclass(frozen=True)
class Case:
    id: str
    synopsis: str
    sex: str
    birth: str
    given: str
    number: int
    """Case number: the fictitious identifiers below are derived from it."""
    encounter: tuple[str, str, str]
    conditions: list[Problem] = field(default_factory=list)
    medications: list[Med] = field(default_factory=list)
    allergies: list[Allergy] = field(default_factory=list)
    labs: list[tuple[str, dict[str, float | str]]] = field(default_factory=list)
    vitals: list[tuple[str, Vitals]] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    @property
    def family(self) -> str:
        return "Synthetic"

    @property
    def mrn(self) -> str:
        return f"SYN-{self.number:06d}"

    @property
    def phone(self) -> str:
        """A fictitious number in the reserved 555-01xx range."""
        return f"555-01{self.number:02d}"

    @property
    def street(self) -> str:
        return f"{self.number} Example Street"


HTN = Problem("59621000", "Essential hypertension", "I10", "2014-05-02")
T2DM = Problem("44054006", "Type 2 diabetes mellitus", "E11.9", "2018-03-10")
LIPIDS = Problem("55822004", "Hyperlipidemia", "E78.5", "2018-03-10")
COPD = Problem("13645005", "Chronic obstructive pulmonary disease", "J44.9", "2016-09-01")
PENICILLIN = Allergy("70618", "Penicillin", "Urticaria", "126485001", "low", "2009-07-15")
TIOTROPIUM = Med(
    "69120",
    "tiotropium",
    "Tiotropium 18 mcg inhalation capsule",
    "1 capsule inhaled once daily",
    "2016-09-01",
)
SALBUTAMOL = Med(
    "435",
    "albuterol",
    "Salbutamol (albuterol) 100 mcg inhaler",
    "2 puffs inhaled as needed for breathlessness",
    "2016-09-01",
)
METFORMIN = Med(
    "6809", "metformin", "Metformin 1000 mg tablet", "1000 mg by mouth twice daily", "2018-03-10"
)
