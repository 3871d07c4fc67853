"""Synthetic FHIR R4 records for the score tests (SYNTHETIC data, invented patients).

Each record is a list of real FHIR R4 resources (Patient, Observation with LOINC and
UCUM, Condition with ICD-10-CM) imported into a real embedded FHIR store.
"""

from __future__ import annotations

import itertools
from typing import Any

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
_COUNTER = itertools.count(1)


def patient(pid: str, birth: str, gender: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "birthDate": birth, "gender": gender}


def obs(pid: str, loinc: str, name: str, value: float, unit: str, when: str) -> dict[str, Any]:
    """A lab or vital: value with a UCUM unit code (``Cel``, ``[degF]``, ``umol/L`` ...)."""
    return {
        "resourceType": "Observation",
        "id": f"{pid}-obs-{next(_COUNTER)}",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": loinc, "display": name}], "text": name},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }


def bp(pid: str, systolic: float, diastolic: float, when: str) -> dict[str, Any]:
    def part(code: str, name: str, value: float) -> dict[str, Any]:
        return {
            "code": {"coding": [{"system": LOINC, "code": code, "display": name}]},
            "valueQuantity": {"value": value, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"},
        }

    return {
        "resourceType": "Observation",
        "id": f"{pid}-bp-{next(_COUNTER)}",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "85354-9", "display": "Blood pressure"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": when,
        "component": [
            part("8480-6", "Systolic blood pressure", systolic),
            part("8462-4", "Diastolic blood pressure", diastolic),
        ],
    }


def condition(pid: str, icd10: str, name: str, status: str = "active") -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": f"{pid}-cond-{next(_COUNTER)}",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": status,
                }
            ]
        },
        "code": {"coding": [{"system": ICD10, "code": icd10, "display": name}], "text": name},
        "subject": {"reference": f"Patient/{pid}"},
        "onsetDateTime": "2020-01-01",
    }


T = "2026-05-01T08:00:00Z"
"""When the acute values were taken; the tests compute 'as of' 2026-05-01 12:00 UTC."""
AS_OF = "2026-05-01T12:00:00+00:00"


def pneumonia() -> list[dict[str, Any]]:
    """76-year-old man, community-acquired pneumonia, SI units and a Fahrenheit temperature."""
    p = "score-pneumonia"
    return [
        patient(p, "1950-02-10", "male"),
        obs(p, "22664-7", "Urea", 9.0, "mmol/L", T),  # urea, not urea nitrogen
        obs(p, "9279-1", "Respiratory rate", 32, "/min", T),
        obs(p, "8867-4", "Heart rate", 118, "/min", T),
        obs(p, "59408-5", "SpO2", 91, "%", T),
        obs(p, "8310-5", "Body temperature", 101.3, "[degF]", T),
        bp(p, 88, 58, T),
        # an older, normal respiratory rate: the newest value must win
        obs(p, "9279-1", "Respiratory rate", 16, "/min", "2026-04-30T20:00:00Z"),
        condition(p, "J18.9", "Pneumonia, unspecified organism"),
    ]


def stale() -> list[dict[str, Any]]:
    """The same kind of patient, but the respiratory rate is three days old."""
    p = "score-stale"
    return [
        patient(p, "1950-02-10", "male"),
        obs(p, "3094-0", "Urea nitrogen", 30, "mg/dL", T),
        obs(p, "9279-1", "Respiratory rate", 34, "/min", "2026-04-28T08:00:00Z"),
        bp(p, 120, 80, T),
    ]


def atrial_fibrillation() -> list[dict[str, Any]]:
    """77-year-old woman with AF, hypertension, diabetes, heart failure, past stroke."""
    p = "score-af"
    return [
        patient(p, "1948-07-01", "female"),
        condition(p, "I48.91", "Atrial fibrillation"),
        condition(p, "I10", "Essential hypertension"),
        condition(p, "E11.9", "Type 2 diabetes mellitus"),
        condition(p, "I50.9", "Heart failure"),
        condition(p, "I63.9", "Cerebral infarction", status="resolved"),
        bp(p, 172, 95, T),
        obs(p, "14682-9", "Creatinine", 106, "umol/L", T),
        obs(p, "29463-7", "Body weight", 60, "kg", "2026-03-01T09:00:00Z"),
    ]


def cirrhosis() -> list[dict[str, Any]]:
    """58-year-old man with alcohol-related cirrhosis; bilirubin and albumin in SI units."""
    p = "score-liver"
    return [
        patient(p, "1968-03-15", "male"),
        condition(p, "K70.30", "Alcoholic cirrhosis of liver without ascites"),
        obs(p, "14631-6", "Bilirubin", 42.75, "umol/L", T),
        obs(p, "61151-7", "Albumin", 30, "g/L", T),
        obs(p, "6301-6", "INR", 1.9, "{INR}", T),
        obs(p, "2160-0", "Creatinine", 1.4, "mg/dL", T),
        obs(p, "2951-2", "Sodium", 128, "mmol/L", T),
        obs(p, "1920-8", "AST", 80, "U/L", T),
        obs(p, "1742-6", "ALT", 40, "U/L", T),
        obs(p, "777-3", "Platelets", 90, "10*3/uL", T),
    ]


def pulmonary_embolism() -> list[dict[str, Any]]:
    """41-year-old woman, breast cancer on treatment, past DVT, tachycardic."""
    p = "score-pe"
    return [
        patient(p, "1985-01-20", "female"),
        condition(p, "C50.911", "Malignant neoplasm of right female breast"),
        condition(p, "Z86.718", "Personal history of other venous thrombosis", status="resolved"),
        obs(p, "8867-4", "Heart rate", 112, "/min", T),
        obs(p, "59408-5", "SpO2", 93, "%", T),
    ]


def gi_bleed() -> list[dict[str, Any]]:
    """64-year-old man with melaena; urea in mmol/L and haemoglobin in g/L."""
    p = "score-gib"
    return [
        patient(p, "1961-11-02", "male"),
        condition(p, "E78.5", "Hyperlipidemia"),
        obs(p, "22664-7", "Urea", 12.0, "mmol/L", T),
        obs(p, "718-7", "Haemoglobin", 105, "g/L", T),
        obs(p, "8867-4", "Heart rate", 105, "/min", T),
        bp(p, 95, 60, T),
    ]


def metabolic() -> list[dict[str, Any]]:
    """50-year-old woman: electrolytes, calcium in mmol/L, albumin in g/L, weight and height."""
    p = "score-metabolic"
    return [
        patient(p, "1976-01-05", "female"),
        obs(p, "2951-2", "Sodium", 140, "mmol/L", T),
        obs(p, "2075-0", "Chloride", 100, "mmol/L", T),
        obs(p, "1963-8", "Bicarbonate", 18, "mmol/L", T),
        obs(p, "17861-6", "Calcium", 2.0, "mmol/L", T),
        obs(p, "61151-7", "Albumin", 25, "g/L", T),
        obs(p, "29463-7", "Body weight", 82, "kg", T),
        obs(p, "8302-2", "Body height", 178, "cm", T),
    ]


ALL = [pneumonia, stale, atrial_fibrillation, cirrhosis, pulmonary_embolism, gi_bleed, metabolic]
