"""Importing FHIR R4 Bundles and Bulk Data NDJSON into the embedded store."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from knowledge.ehr import DEMO_PATIENT_IDS, EmbeddedFhirStore, ensure_demo_patients
from knowledge.patients import bundle_paths
from tests.ehr.conftest import write_bundle

LOINC = "http://loinc.org"


def _patient(pid: str, **extra: object) -> dict[str, object]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "gender": "female",
        "birthDate": "1970-01-01",
        **extra,
    }


def _obs(oid: str, pid: str, code: str, value: float, when: str, **extra: object) -> dict:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": "mg/dL"},
        **extra,
    }


def test_demo_patients_import_completely_and_idempotently(tmp_path: Path) -> None:
    store = ensure_demo_patients(tmp_path / "ehr.sqlite")
    counts = store.counts()
    assert len(DEMO_PATIENT_IDS) >= 12
    assert counts["Patient"] == len(DEMO_PATIENT_IDS) == len(bundle_paths())
    assert {p["id"] for p in store.patients()} == set(DEMO_PATIENT_IDS)
    again = ensure_demo_patients(tmp_path / "ehr.sqlite")
    assert again.counts() == counts  # nothing duplicated on the second call


def test_bundle_urn_references_resolve_to_the_patient(demo_store: EmbeddedFhirStore) -> None:
    troponin = demo_store.search("Observation", "chest-pain", codes=[f"{LOINC}|67151-1"])
    assert [o["valueQuantity"]["value"] for o in troponin] == [96, 71, 52]  # newest first
    assert all(o["subject"]["reference"] == "Patient/chest-pain" for o in troponin)


def test_bulk_ndjson_import_with_malformed_lines(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "Patient.ndjson").write_text(json.dumps(_patient("p1")) + "\n\n", encoding="utf-8")
    lines = [
        json.dumps(_obs("o1", "p1", "2160-0", 1.1, "2026-01-02T10:00:00Z")),
        "{not json",
        json.dumps({**_obs("o2", "p1", "2160-0", 1.3, "2026-01-03"), "status": 42}),
        json.dumps(_obs("o3", "p1", "2160-0", 1.5, "2026-01-04")),
    ]
    (folder / "Observation.ndjson").write_text("\n".join(lines), encoding="utf-8")
    store = EmbeddedFhirStore(tmp_path / "ehr.sqlite")
    with caplog.at_level(logging.WARNING):
        report = store.import_paths([folder])
    assert (report.imported, report.skipped) == (3, 2)
    assert any("Observation.ndjson line 2" in w for w in report.warnings)
    assert any(
        w.startswith("Observation/o2 in Observation.ndjson line 3") and "status" in w
        for w in report.warnings
    )
    assert "Observation/o2" in caplog.text
    assert [o["id"] for o in store.search("Observation", "p1")] == ["o3", "o1"]


def test_messy_but_valid_resources_import(tmp_path: Path) -> None:
    obs = _obs(
        "messy",
        "p1",
        "2345-7",
        180,
        "2026-02-01T08:00:00+08:00",
        extension=[{"url": "http://vendor.example/unknown", "valueString": "x"}],
        performer=[{"reference": "Practitioner/not-in-this-export"}],
    )
    obs["code"]["coding"].insert(0, {"system": "http://vendor.example/labs", "code": "GLU"})
    condition = {  # no onset, no clinicalStatus, text-only code
        "resourceType": "Condition",
        "id": "c1",
        "subject": {"reference": "Patient/p1"},
        "code": {"text": "Back pain"},
    }
    r5_only = {**_obs("r5", "p1", "2345-7", 90, "2026-01-01"), "triggeredBy": [{"type": "reflex"}]}
    bundle = write_bundle(tmp_path / "b.json", [_patient("p1"), obs, condition, r5_only])
    store = EmbeddedFhirStore(tmp_path / "ehr.sqlite")
    report = store.import_paths([bundle])
    assert (report.imported, report.skipped) == (4, 0)
    # found by its LOINC coding although a vendor coding comes first; date normalised to UTC
    (found,) = store.search("Observation", "p1", codes=[f"{LOINC}|2345-7"], count=1)
    assert found["id"] == "messy"
    assert store.search("Observation", "p1", codes=["GLU"])[0]["id"] == "messy"
    r5 = store.search("Observation", "p1", codes=["2345-7"])[-1]
    assert r5["id"] == "r5" and "triggeredBy" not in r5  # unknown element dropped, rest kept


def test_reimport_replaces_instead_of_duplicating(tmp_path: Path) -> None:
    store = EmbeddedFhirStore(tmp_path / "ehr.sqlite")
    write_bundle(
        tmp_path / "b.json", [_patient("p1"), _obs("o1", "p1", "2160-0", 1.0, "2026-01-01")]
    )
    store.import_paths([tmp_path / "b.json"])
    write_bundle(tmp_path / "b.json", [_obs("o1", "p1", "2160-0", 2.0, "2026-01-01")])
    store.import_paths([tmp_path / "b.json"])
    (only,) = store.search("Observation", "p1")
    assert only["valueQuantity"]["value"] == 2.0


def test_resource_without_id_or_type_is_skipped_and_named(tmp_path: Path) -> None:
    bundle = write_bundle(
        tmp_path / "bad.json",
        [
            {"resourceType": "Observation", "status": "final"},
            {"id": "x"},
            {"resourceType": "NotAType", "id": "y"},
        ],
    )
    report = EmbeddedFhirStore(tmp_path / "ehr.sqlite").import_paths([bundle])
    assert (report.imported, report.skipped) == (0, 3)
    assert "Observation/? in bad.json entry 1: resource has no id" in report.warnings[0]
    assert "NotAType/y" in report.warnings[2]


def test_malformed_warning_never_contains_identifiers(tmp_path: Path) -> None:
    bad = _patient(
        "p9",
        name=[{"family": "Zebulon-Secretname", "given": 7}],
        telecom=[{"system": "phone", "value": "555-0199", "rank": "first"}],
    )
    report = EmbeddedFhirStore(tmp_path / "ehr.sqlite").import_paths(
        [write_bundle(tmp_path / "b.json", [bad])]
    )
    assert report.skipped == 1 and "Patient/p9" in report.warnings[0]
    assert "Zebulon" not in report.warnings[0] and "555-0199" not in report.warnings[0]
