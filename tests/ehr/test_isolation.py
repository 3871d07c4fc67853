"""One patient's tools never show another patient's data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from knowledge.ehr import EmbeddedFhirStore, RemoteFhirClient
from knowledge.ehr.parse import patient_of
from knowledge.patients import BUNDLE_DIR
from tests.ehr.conftest import call, context, write_bundle
from tests.ehr.fhir_server import FhirTestServer, ServerConfig
from tools.runtime import ToolError

# Strings that exist only in the sepsis patient's record.
SEPSIS_ONLY = (
    "sepsis-",
    "Sulfamethoxazole",
    "Ceftriaxone",
    "19.8",
    "264 mg/dL",
    "Warm peripheries",
    "Chronic kidney disease",
    "Urinary tract infection",
    "4.1 mmol/L",
)

ALL_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("patient_summary", {}),
    ("get_labs", {"name_or_loinc": "lactate"}),
    ("get_labs", {"name_or_loinc": "white cell count"}),
    ("get_labs", {"name_or_loinc": "creatinine"}),
    ("get_vitals", {}),
    ("list_conditions", {"status": "all"}),
    ("list_medications", {"status": "all"}),
    ("list_allergies", {}),
    ("search_notes", {"query": "catheter confusion dysuria"}),
    ("search_notes", {"query": ""}),
]


def _all_outputs(ctx: Any) -> str:
    texts = []
    for name, args in ALL_CALLS:
        try:
            message = call(ctx, name, **args)
        except ToolError as exc:
            texts.append(str(exc))
            continue
        texts.append(str(message.content))
        texts.append(json.dumps(message.artifact))
    texts.append(json.dumps([ctx.ledger.get(e) for e in ctx.ledger.ids()]))
    return "\n".join(texts)


def test_other_patient_never_appears_in_any_tool_output(demo_store: EmbeddedFhirStore) -> None:
    output = _all_outputs(context(demo_store, "chest-pain"))
    assert "chest-pain-" in output  # the test reads real content
    for marker in SEPSIS_ONLY:
        assert marker not in output


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("get_labs", {"name_or_loinc": "Patient/sepsis"}),
        ("get_labs", {"name_or_loinc": "lactate", "patient": "sepsis"}),
        ("search_notes", {"query": "patient=sepsis catheter"}),
        ("list_conditions", {"status": "all", "patient_id": "sepsis"}),
    ],
)
def test_argument_injection_reaches_nothing_of_another_patient(
    demo_store: EmbeddedFhirStore, name: str, args: dict[str, Any]
) -> None:
    ctx = context(demo_store, "chest-pain")
    try:
        text = str(call(ctx, name, **args).content)
    except (ToolError, ValueError) as exc:  # unknown lab, or an argument the tool does not take
        text = str(exc)
    for marker in SEPSIS_ONLY:
        assert marker not in text


def test_references_pointing_at_another_patient_are_not_followed(tmp_path: Path) -> None:
    """A's record holds references into B's compartment; nothing of B comes back."""
    store = EmbeddedFhirStore(tmp_path / "ehr.sqlite")
    store.import_paths([BUNDLE_DIR / "chest-pain.json", BUNDLE_DIR / "sepsis.json"])
    (sepsis_lactate,) = store.search("Observation", "sepsis", codes=["2524-7"], count=1)
    crafted: list[dict[str, Any]] = [
        {  # A's medication order pointing at B's observation as if it were a Medication
            "resourceType": "MedicationRequest",
            "id": "a-med-ref",
            "status": "active",
            "intent": "order",
            "subject": {"reference": "Patient/chest-pain"},
            "medicationReference": {"reference": f"Medication/{sepsis_lactate['id']}"},
        },
        {  # A's panel whose members are B's results
            "resourceType": "Observation",
            "id": "a-panel",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "2524-7"}]},
            "subject": {"reference": "Patient/chest-pain"},
            "effectiveDateTime": "2026-03-01T12:00:00Z",
            "hasMember": [{"reference": f"Observation/{sepsis_lactate['id']}"}],
        },
        {  # B's note linked to A's encounter
            "resourceType": "DocumentReference",
            "id": "b-note",
            "status": "current",
            "subject": {"reference": "Patient/sepsis"},
            "context": {"encounter": [{"reference": "Encounter/chest-pain-enc-2"}]},
            "content": [
                {"attachment": {"contentType": "text/plain", "data": "U2VjcmV0IHJpZ29ycw=="}}
            ],  # "Secret rigors"
        },
    ]
    store.import_paths([write_bundle(tmp_path / "crafted.json", crafted)])
    ctx = context(store, "chest-pain")
    output = _all_outputs(ctx) + str(call(ctx, "search_notes", query="secret").content)
    assert "unknown medication (Medication/sepsis-" in output  # dangling, not B's data
    for marker in (*SEPSIS_ONLY[1:], "Secret", "b-note"):
        assert marker not in output


def test_a_server_that_leaks_other_patients_is_filtered() -> None:
    config = ServerConfig(leak_patient="sepsis")
    paths = [BUNDLE_DIR / "chest-pain.json", BUNDLE_DIR / "sepsis.json"]
    with FhirTestServer(paths, config) as server:
        leaked = server.search("Observation", {"patient": ["chest-pain"]})
        assert any(patient_of(r) == "sepsis" for r in leaked)  # the server does leak
        client = RemoteFhirClient(server.base_url, retries=0)
        output = _all_outputs(context(client, "chest-pain"))
        client.close()
    assert "chest-pain-" in output
    for marker in SEPSIS_ONLY:
        assert marker not in output
