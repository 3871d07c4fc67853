"""Write the synthetic FHIR R4 patient bundles in this folder, deterministically.

SYNTHETIC DATA FOR DEMONSTRATION AND TESTING ONLY. Every patient here is
invented; names, record numbers, addresses and phone numbers are fictitious
(phone numbers in the reserved 555-01xx range). Nothing here is clinical advice.

Run ``python -m knowledge.patients.generate`` (or this file) to rewrite the
``*.json`` bundles from the case descriptions in :mod:`knowledge.patients.cases`;
the output is byte-for-byte the same on every run. Codes: LOINC (labs, vitals,
note types), SNOMED CT and ICD-10-CM (problems), RxNorm ingredient codes
(medications and drug allergies). Every resource carries the HL7 ``HTEST``
security tag ("test health data").
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

from knowledge.patients.cases import CASES
from knowledge.patients.schema import LABS, Case

FOLDER = Path(__file__).resolve().parent
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/rxnorm"
TERMINOLOGY = "http://terminology.hl7.org/CodeSystem"
SYNTHETIC_TAG = {
    "system": f"{TERMINOLOGY}/v3-ActReason",
    "code": "HTEST",
    "display": "test health data",
}
_NAMESPACE = uuid.UUID("6f1c3b1e-7d4a-4c55-9d8e-2b7c1f0a9e11")
_VITALS = (
    ("8867-4", "Heart rate", "/min"),
    ("9279-1", "Respiratory rate", "/min"),
    ("8310-5", "Body temperature", "Cel"),
    ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%"),
    ("29463-7", "Body weight", "kg"),
)


def _concept(text: str, *codings: tuple[str, str | None, str]) -> dict[str, Any]:
    return {
        "coding": [{"system": s, "code": c, "display": d} for s, c, d in codings if c],
        "text": text,
    }


_UNIT_NAMES = {
    "Cel": "°C",
    "mm[Hg]": "mmHg",
    "10*3/uL": "10^3/µL",
    "m[IU]/L": "mIU/L",
    "{INR}": "",
    "ng/mL{FEU}": "ng/mL FEU",
    "mL/min/{1.73_m2}": "mL/min/1.73m2",
}
"""How a UCUM code is written for people (the ``unit``); the code stays in ``code``."""


def _quantity(value: float, code: str) -> dict[str, Any]:
    unit = _UNIT_NAMES.get(code, code)
    quantity: dict[str, Any] = {"value": value}
    if unit:
        quantity["unit"] = unit
    return {**quantity, "system": "http://unitsofmeasure.org", "code": code}


def _flag(value: float, low: float | None, high: float | None) -> str:
    if high is not None and value > high:
        return "H"
    if low is not None and value < low:
        return "L"
    return "N"


class _Builder:
    def __init__(self, case: Case) -> None:
        self.case = case
        self.entries: list[dict[str, Any]] = []
        self.patient_ref = self._urn("Patient", case.id)

    def _urn(self, rtype: str, rid: str) -> str:
        return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{rtype}/{rid}')}"

    def add(self, resource: dict[str, Any], kind: str) -> str:
        rid = resource.get("id") or f"{self.case.id}-{kind}-{len(self.entries) + 1}"
        resource = {
            "resourceType": resource.pop("resourceType"),
            "id": rid,
            "meta": {"security": [SYNTHETIC_TAG]},
            **resource,
        }
        full = self._urn(resource["resourceType"], rid)
        self.entries.append(
            {
                "fullUrl": full,
                "resource": resource,
                "request": {"method": "PUT", "url": f"{resource['resourceType']}/{rid}"},
            }
        )
        return full

    def subject(self) -> dict[str, str]:
        return {"reference": self.patient_ref}

    def observation(self, when: str, code: dict[str, Any], category: str, **value: Any) -> None:
        self.add(
            {
                "resourceType": "Observation",
                "status": "final",
                "category": [
                    _concept(category, (f"{TERMINOLOGY}/observation-category", category, category))
                ],
                "code": code,
                "subject": self.subject(),
                "effectiveDateTime": when,
                **value,
            },
            "obs",
        )


def _patient(b: _Builder) -> None:
    c = b.case
    b.add(
        {
            "resourceType": "Patient",
            "id": c.id,
            "text": {
                "status": "generated",
                "div": '<div xmlns="http://www.w3.org/1999/xhtml">Synthetic patient for '
                "demonstration only.</div>",
            },
            "extension": [
                {
                    "url": "https://lingshu.example.org/fhir/StructureDefinition/synthetic-case",
                    "valueString": c.synopsis,
                }
            ],
            "identifier": [
                {
                    "type": _concept(
                        "MRN", (f"{TERMINOLOGY}/v2-0203", "MR", "Medical record number")
                    ),
                    "system": "urn:oid:2.16.840.1.113883.19.5",
                    "value": c.mrn,
                }
            ],
            "name": [{"use": "official", "family": c.family, "given": [c.given]}],
            "telecom": [{"system": "phone", "value": c.phone, "use": "home"}],
            "gender": c.sex,
            "birthDate": c.birth,
            "address": [{"line": [c.street], "city": "Exampleton", "postalCode": "00000"}],
        },
        "patient",
    )


def _encounter(b: _Builder) -> str:
    cls, start, reason = b.case.encounter
    return b.add(
        {
            "resourceType": "Encounter",
            "status": "in-progress",
            "class": {"system": f"{TERMINOLOGY}/v3-ActCode", "code": cls},
            "subject": b.subject(),
            "period": {"start": start},
            "reasonCode": [{"text": reason}],
            "participant": [{"individual": {"reference": "Practitioner/synthetic-clinician-1"}}],
        },
        "enc",
    )


def _problems(b: _Builder) -> None:
    for p in b.case.conditions:
        status = "resolved" if p.resolved else "active"
        resource: dict[str, Any] = {
            "resourceType": "Condition",
            "clinicalStatus": _concept(
                status, (f"{TERMINOLOGY}/condition-clinical", status, status.title())
            ),
            "category": [
                _concept(
                    "Problem list item",
                    (f"{TERMINOLOGY}/condition-category", "problem-list-item", "Problem List Item"),
                )
            ],
            "code": _concept(p.display, (SNOMED, p.snomed, p.display), (ICD10, p.icd10, p.display)),
            "subject": b.subject(),
            "onsetDateTime": p.onset,
            "recordedDate": p.onset,
        }
        if p.resolved:
            resource["abatementDateTime"] = p.resolved
        b.add(resource, "cond")


def _medications(b: _Builder) -> None:
    for m in b.case.medications:
        b.add(
            {
                "resourceType": "MedicationRequest",
                "status": m.status,
                "intent": "order",
                "medicationCodeableConcept": _concept(m.display, (RXNORM, m.rxnorm, m.ingredient)),
                "subject": b.subject(),
                "authoredOn": m.start,
                "requester": {"reference": "Practitioner/synthetic-clinician-1"},
                "dosageInstruction": [{"text": m.dose}],
            },
            "med",
        )


def _allergies(b: _Builder) -> None:
    for a in b.case.allergies:
        resource: dict[str, Any] = {
            "resourceType": "AllergyIntolerance",
            "clinicalStatus": _concept(
                "active", (f"{TERMINOLOGY}/allergyintolerance-clinical", "active", "Active")
            ),
            "verificationStatus": _concept(
                "confirmed",
                (f"{TERMINOLOGY}/allergyintolerance-verification", "confirmed", "Confirmed"),
            ),
            "code": _concept(a.display, (RXNORM if a.rxnorm else SNOMED, a.code, a.display)),
            "patient": b.subject(),
            "recordedDate": a.recorded,
        }
        if a.type:
            resource["type"] = a.type
        if a.criticality:
            resource["criticality"] = a.criticality
        if a.reaction:
            resource["reaction"] = [
                {"manifestation": [_concept(a.reaction, (SNOMED, a.reaction_code, a.reaction))]}
            ]
        b.add(resource, "allergy")


def _labs(b: _Builder) -> None:
    for when, panel in b.case.labs:
        for key, value in panel.items():
            lab = LABS[key]
            extra: dict[str, Any] = {}
            if isinstance(value, str):
                extra["valueString"] = value
            else:
                extra["valueQuantity"] = _quantity(value, lab.unit)
                rng: dict[str, Any] = {}
                if lab.low is not None:
                    rng["low"] = _quantity(lab.low, lab.unit)
                if lab.high is not None:
                    rng["high"] = _quantity(lab.high, lab.unit)
                if rng:
                    extra["referenceRange"] = [rng]
                flag = _flag(value, lab.low, lab.high)
                extra["interpretation"] = [
                    _concept(flag, (f"{TERMINOLOGY}/v3-ObservationInterpretation", flag, flag))
                ]
            code = _concept(lab.name, (LOINC, lab.loinc, lab.loinc_name))
            b.observation(when, code, "laboratory", **extra)


def _blood_pressure(b: _Builder, when: str, sbp: float, dbp: float) -> None:
    components = [
        {"code": _concept(n, (LOINC, c, n)), "valueQuantity": _quantity(v, "mm[Hg]")}
        for c, n, v in (
            ("8480-6", "Systolic blood pressure", sbp),
            ("8462-4", "Diastolic blood pressure", dbp),
        )
    ]
    panel = _concept(
        "Blood pressure", (LOINC, "85354-9", "Blood pressure panel with all children optional")
    )
    b.observation(when, panel, "vital-signs", component=components)


def _vitals(b: _Builder) -> None:
    for when, (hr, sbp, dbp, rr, temp, spo2, weight) in b.case.vitals:
        for (code, name, unit), value in zip(_VITALS, (hr, rr, temp, spo2, weight), strict=True):
            if value is not None:
                concept = _concept(name, (LOINC, code, name))
                b.observation(when, concept, "vital-signs", valueQuantity=_quantity(value, unit))
            if code == "8867-4" and sbp is not None and dbp is not None:
                _blood_pressure(b, when, sbp, dbp)


def _notes(b: _Builder, encounter: str) -> None:
    for n in b.case.notes:
        b.add(
            {
                "resourceType": "DocumentReference",
                "status": "current",
                "type": _concept(n.type_name, (LOINC, n.type_code, n.type_name)),
                "subject": b.subject(),
                "date": n.when,
                "content": [
                    {
                        "attachment": {
                            "contentType": "text/plain; charset=utf-8",
                            "title": n.title,
                            "data": base64.b64encode(n.text.encode("utf-8")).decode("ascii"),
                        }
                    }
                ],
                "context": {"encounter": [{"reference": encounter}]},
            },
            "note",
        )


def build_bundle(case: Case) -> dict[str, Any]:
    """The transaction Bundle of one synthetic case."""
    b = _Builder(case)
    _patient(b)
    encounter = _encounter(b)
    _problems(b)
    _medications(b)
    _allergies(b)
    _labs(b)
    _vitals(b)
    _notes(b, encounter)
    return {
        "resourceType": "Bundle",
        "id": f"synthetic-{case.id}",
        "meta": {"security": [SYNTHETIC_TAG]},
        "type": "transaction",
        "entry": b.entries,
    }


def render(case: Case) -> str:
    return json.dumps(build_bundle(case), indent=1, ensure_ascii=False) + "\n"


def main(folder: Path = FOLDER) -> list[Path]:
    """Write one ``<case id>.json`` bundle per case; returns the paths written."""
    written = []
    for case in CASES:
        path = folder / f"{case.id}.json"
        path.write_text(render(case), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    main()
