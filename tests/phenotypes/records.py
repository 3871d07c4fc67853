"""A synthetic patient with a rare disease, as real FHIR R4 resources (SYNTHETIC, invented).

31-year-old man whose record holds the pieces of Fabry disease without naming it:
kidney disease and LV hypertrophy on the problem list, a raised creatinine and
proteinuria, and a clinic letter describing acroparaesthesia, hypohidrosis,
angiokeratomas and corneal opacities (Germain, Orphanet J Rare Dis 2010, for the picture).
"""

from __future__ import annotations

import base64
from typing import Any

from tests.scores.records import condition, obs, patient

PID = "rare-fabry"
T = "2026-04-10T09:00:00Z"
LETTER = (
    "Renal clinic letter. Since childhood he has had episodes of burning pain in the hands "
    "and feet, worse with heat and exercise, and he sweats little. On examination there are "
    "clusters of angiokeratomas over the lower trunk. Slit lamp examination by the "
    "ophthalmologist showed corneal opacities. He denies seizures. His father had hearing loss."
)


def note(pid: str, title: str, text: str, when: str) -> dict[str, Any]:
    return {
        "resourceType": "DocumentReference",
        "id": f"{pid}-note-1",
        "status": "current",
        "type": {"coding": [{"system": "http://loinc.org", "code": "11506-3"}], "text": title},
        "subject": {"reference": f"Patient/{pid}"},
        "date": when,
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "title": title,
                    "data": base64.b64encode(text.encode("utf-8")).decode("ascii"),
                }
            }
        ],
    }


def flagged(resource: dict[str, Any], flag: str) -> dict[str, Any]:
    system = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
    resource["interpretation"] = [{"coding": [{"system": system, "code": flag}]}]
    return resource


def fabry() -> list[dict[str, Any]]:
    return [
        patient(PID, "1995-02-14", "male"),
        condition(PID, "N18.31", "Chronic kidney disease, stage 3a"),
        condition(PID, "I51.7", "Left ventricular hypertrophy"),
        flagged(obs(PID, "2160-0", "Creatinine", 1.6, "mg/dL", T), "H"),
        flagged(obs(PID, "2888-6", "Protein [Mass/volume] in Urine", 150, "mg/dL", T), "H"),
        flagged(obs(PID, "718-7", "Haemoglobin", 14.1, "g/dL", T), "N"),
        note(PID, "Renal clinic letter", LETTER, T),
    ]


def other() -> list[dict[str, Any]]:
    """Another patient, with a finding that must never reach the Fabry patient's ranking."""
    p = "rare-other"
    return [patient(p, "1990-01-01", "female"), condition(p, "Q87.40", "Marfan syndrome")]
