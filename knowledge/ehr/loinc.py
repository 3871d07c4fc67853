"""The lab and vital-sign names the tools understand, mapped to LOINC codes.

A clinician (or the model) asks for "troponin", "hs-TnT", "BNP" or "2160-0"; the
record stores LOINC codes. Each :class:`Concept` below is one thing a clinician
asks for, with the LOINC codes that measure it and the synonyms people use.
Codes are from LOINC (https://loinc.org, Regenstrief Institute); the table is
deliberately small and covers the labs and vitals of the shipped synthetic
patients and the usual acute-care panels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LOINC_SYSTEM = "http://loinc.org"
_LOINC_CODE = re.compile(r"^\d{1,7}-\d$")


@dataclass(frozen=True)
class Concept:
    """One thing a clinician asks for, and the LOINC codes that measure it."""

    name: str
    codes: tuple[str, ...]
    synonyms: tuple[str, ...] = ()
    vital: bool = False


CONCEPTS: tuple[Concept, ...] = (
    # --- cardiac -------------------------------------------------------------------------
    Concept(
        "troponin",
        ("67151-1", "89579-7", "6598-7", "10839-9"),
        (
            "trop",
            "hs-tnt",
            "hstnt",
            "hs troponin t",
            "troponin t",
            "hs-tni",
            "hstni",
            "troponin i",
            "high sensitivity troponin",
            "cardiac troponin",
        ),
    ),
    Concept("bnp", ("30934-4",), ("b-type natriuretic peptide", "brain natriuretic peptide")),
    Concept("nt-probnp", ("33762-6",), ("ntprobnp", "nt pro bnp", "pro-bnp", "probnp")),
    Concept("d-dimer", ("48065-7", "48066-5"), ("ddimer", "d dimer", "fibrin d-dimer")),
    # --- chemistry -----------------------------------------------------------------------
    Concept("glucose", ("2345-7", "1558-6"), ("blood glucose", "blood sugar", "bg", "bsl")),
    Concept(
        "hba1c", ("4548-4",), ("a1c", "haemoglobin a1c", "hemoglobin a1c", "glycated haemoglobin")
    ),
    Concept("creatinine", ("2160-0",), ("cr", "creat", "serum creatinine")),
    Concept("egfr", ("98979-8", "62238-1", "33914-3"), ("gfr", "estimated gfr")),
    Concept("urea", ("3094-0",), ("bun", "urea nitrogen", "blood urea nitrogen")),
    Concept("sodium", ("2951-2",), ("na",)),
    Concept("potassium", ("2823-3",), ("k",)),
    Concept("chloride", ("2075-0",), ("cl",)),
    Concept("bicarbonate", ("1963-8",), ("hco3", "bicarb", "co2")),
    Concept("lactate", ("2524-7", "32693-4"), ("lactic acid", "serum lactate")),
    Concept("crp", ("1988-5",), ("c-reactive protein", "c reactive protein")),
    Concept("procalcitonin", ("33959-8",), ("pct",)),
    Concept("alt", ("1742-6",), ("alanine aminotransferase", "sgpt")),
    Concept("ast", ("1920-8",), ("aspartate aminotransferase", "sgot")),
    Concept("bilirubin", ("1975-2",), ("total bilirubin", "tbili")),
    Concept("albumin", ("1751-7",), ("serum albumin",)),
    Concept("lipase", ("3040-3",), ()),
    Concept("tsh", ("3016-3",), ("thyrotropin", "thyroid stimulating hormone")),
    Concept("ldl cholesterol", ("13457-7", "18262-6"), ("ldl", "ldl-c")),
    Concept("hdl cholesterol", ("2085-9",), ("hdl", "hdl-c")),
    Concept("total cholesterol", ("2093-3",), ("cholesterol",)),
    Concept("triglycerides", ("2571-8",), ("tg", "trigs")),
    Concept("inr", ("6301-6",), ("pt inr", "prothrombin time inr")),
    # --- haematology ---------------------------------------------------------------------
    Concept("haemoglobin", ("718-7",), ("hemoglobin", "hb", "hgb")),
    Concept("white cell count", ("6690-2",), ("wbc", "white blood cells", "leukocytes", "wcc")),
    Concept("neutrophils", ("751-8",), ("neut", "anc", "neutrophil count")),
    Concept("platelets", ("777-3",), ("plt", "platelet count")),
    Concept("haematocrit", ("4544-3",), ("hematocrit", "hct")),
    # --- vital signs ---------------------------------------------------------------------
    Concept("heart rate", ("8867-4",), ("hr", "pulse", "pulse rate"), vital=True),
    Concept("respiratory rate", ("9279-1",), ("rr", "resp rate"), vital=True),
    Concept("body temperature", ("8310-5",), ("temperature", "temp", "t"), vital=True),
    Concept("systolic blood pressure", ("8480-6",), ("sbp", "systolic"), vital=True),
    Concept("diastolic blood pressure", ("8462-4",), ("dbp", "diastolic"), vital=True),
    Concept("blood pressure", ("85354-9",), ("bp",), vital=True),
    Concept("oxygen saturation", ("59408-5", "2708-6"), ("spo2", "sats", "o2 sat"), vital=True),
    Concept("body weight", ("29463-7",), ("weight", "wt"), vital=True),
    Concept("body height", ("8302-2",), ("height", "ht"), vital=True),
    Concept("bmi", ("39156-5",), ("body mass index",), vital=True),
)

VITAL_CODES: tuple[str, ...] = tuple(
    c for concept in CONCEPTS if concept.vital for c in concept.codes
)
SHORT_VITAL_NAMES: dict[str, str] = {
    "8867-4": "HR",
    "9279-1": "RR",
    "8310-5": "T",
    "85354-9": "BP",
    "8480-6": "SBP",
    "8462-4": "DBP",
    "59408-5": "SpO2",
    "2708-6": "SpO2",
    "29463-7": "Weight",
    "8302-2": "Height",
    "39156-5": "BMI",
}


def _normalise(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def is_loinc_code(text: str) -> bool:
    return bool(_LOINC_CODE.match(text.strip()))


def concept_for_code(code: str) -> Concept | None:
    """The concept a LOINC code belongs to, if it is in the table."""
    for concept in CONCEPTS:
        if code in concept.codes:
            return concept
    return None


def resolve(name_or_loinc: str) -> list[Concept]:
    """Concepts matching a name, synonym or LOINC code; exact matches win over partial ones.

    Returns an empty list when nothing in the table matches (the caller may then
    fall back to matching the text of the record's own observation names).
    """
    text = name_or_loinc.strip()
    if is_loinc_code(text):
        found = concept_for_code(text)
        return [found] if found else [Concept(text, (text,))]
    query = _normalise(text)
    if not query:
        return []
    exact = [
        c
        for c in CONCEPTS
        if query == _normalise(c.name) or query in {_normalise(s) for s in c.synonyms}
    ]
    if exact:
        return exact
    if len(query) < 3:
        return []
    return [
        c
        for c in CONCEPTS
        if query in _normalise(c.name) or any(query in _normalise(s) for s in c.synonyms)
    ]
