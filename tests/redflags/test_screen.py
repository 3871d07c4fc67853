"""Red-flag screen: planted cases fire, benign ones do not, on text and on real FHIR records."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from knowledge.ehr import EmbeddedFhirStore, ensure_demo_patients
from knowledge.redflags import load_rules, screen

NOW = datetime(2026, 3, 1, 9, 0)


def ids(text: str, **kwargs: Any) -> list[str]:
    return [f.id for f in screen(text, now=NOW, **kwargs)]


# --- text only -----------------------------------------------------------------------------------


def test_every_rule_cites_its_guideline_and_says_it_is_not_a_triage_tool() -> None:
    rules = load_rules()
    assert "not a validated triage tool" in rules["disclaimer"]
    assert len(rules["rules"]) >= 6
    for rule in rules["rules"]:
        assert rule["action"] and rule["title"] and rule["criteria"]
        source = rule["source"]
        assert source["url"].startswith("https://")
        assert isinstance(source["year"], int) and source["publisher"] and source["guideline"]


def test_stroke_signs_within_the_window_fire_the_thrombolysis_flag() -> None:
    flags = screen("sudden left arm weakness and facial droop since 1 hour", now=NOW)
    assert [f.id for f in flags] == ["stroke-thrombolysis-window"]
    flag = flags[0]
    assert "thrombolysis" in flag.action
    assert flag.source["publisher"] == "AHA/ASA" and flag.source["year"] == 2019
    assert any("onset about 1.0 h" in m for m in flag.matched)
    assert "not a validated triage tool" in flag.disclaimer


def test_stroke_signs_three_days_ago_are_outside_the_window() -> None:
    found = ids("facial droop and left arm weakness that started 3 days ago")
    assert "stroke-thrombolysis-window" not in found
    assert found == ["stroke-signs"]  # still an urgent stroke assessment


def test_stroke_signs_without_an_onset_time_do_not_claim_the_window() -> None:
    assert ids("his speech is slurred and he has a facial droop") == ["stroke-signs"]


def test_sepsis_criteria_from_the_text() -> None:
    flags = screen("fever for two days, RR 24, SBP 96, and now confused", now=NOW)
    assert [f.id for f in flags] == ["possible-sepsis"]
    matched = " ".join(flags[0].matched)
    assert "respiratory rate 24" in matched and "systolic BP 96" in matched
    assert "altered mentation" in matched
    assert "1 hour" in flags[0].action
    assert flags[0].source["url"] == "https://doi.org/10.1097/CCM.0000000000005337"


def test_fever_alone_is_not_sepsis() -> None:
    assert ids("fever and sore throat since yesterday, RR 16, BP 124/80") == []


def test_suicidal_ideation_fires_and_denial_does_not() -> None:
    flags = screen("I have been thinking of ending my life", now=NOW)
    assert [f.id for f in flags] == ["suicidal-ideation"]
    assert "do not leave the person alone" in flags[0].action
    assert flags[0].source["publisher"] == "NICE"
    assert ids("denies suicidal ideation") == []
    assert ids("Patient denies any suicidal thoughts; mood low.") == []


@pytest.mark.parametrize(
    "text",
    [
        "no chest pain today",
        "routine check-up, feels well, no complaints",
        "history of stroke in 2019, here for a medication review",
        "denies chest pain, shortness of breath or fever",
    ],
)
def test_benign_texts_raise_nothing(text: str) -> None:
    assert ids(text) == []


def test_chest_pain_with_stated_hypotension() -> None:
    assert ids("crushing chest pain, BP 84/50, clammy") == ["chest-pain-shock"]
    assert ids("chest pain since 30 minutes") == ["acute-chest-pain-ecg"]


def test_negation_is_limited_to_its_clause() -> None:
    assert ids("no fever, but he has chest pain") == ["acute-chest-pain-ecg"]


def test_anaphylaxis_needs_allergy_and_an_abc_problem() -> None:
    assert ids("hives and swollen lips after a bee sting, now wheezing") == ["anaphylaxis"]
    assert ids("hives after a new soap, otherwise well") == []


def test_to_dict_is_json_serialisable() -> None:
    flag = screen("tension pneumothorax suspected", now=NOW)[0]
    data = json.loads(json.dumps(flag.to_dict()))
    assert set(data) == {
        "id",
        "title",
        "action",
        "matched",
        "resources",
        "source",
        "criteria",
        "disclaimer",
    }
    assert data["id"] == "tension-pneumothorax"


# --- the record --------------------------------------------------------------------------------


def _bundle(patient: str, sbp: float, when: str) -> dict[str, Any]:
    subject = {"reference": f"Patient/{patient}"}
    loinc = "http://loinc.org"
    resources = [
        {"resourceType": "Patient", "id": patient, "gender": "male", "birthDate": "1960-01-01"},
        {
            "resourceType": "Observation",
            "id": f"{patient}-bp",
            "status": "final",
            "code": {"coding": [{"system": loinc, "code": "85354-9"}], "text": "Blood pressure"},
            "subject": subject,
            "effectiveDateTime": when,
            "component": [
                {
                    "code": {
                        "coding": [{"system": loinc, "code": "8480-6"}],
                        "text": "Systolic blood pressure",
                    },
                    "valueQuantity": {"value": sbp, "unit": "mmHg"},
                },
                {
                    "code": {
                        "coding": [{"system": loinc, "code": "8462-4"}],
                        "text": "Diastolic blood pressure",
                    },
                    "valueQuantity": {"value": 50, "unit": "mmHg"},
                },
            ],
        },
    ]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


@pytest.fixture
def planted(tmp_path: Path) -> EmbeddedFhirStore:
    path = tmp_path / "planted.json"
    path.write_text(json.dumps(_bundle("planted", 84, "2026-03-01T08:30:00Z")))
    store = EmbeddedFhirStore(tmp_path / "planted.sqlite")
    store.import_file(path)
    return store


def test_chest_pain_in_text_with_low_blood_pressure_in_the_record(
    planted: EmbeddedFhirStore,
) -> None:
    flags = screen("He has central chest pain", planted, "planted", now=NOW)
    assert [f.id for f in flags] == ["chest-pain-shock"]
    flag = flags[0]
    assert any("systolic BP 84 mmHg on 2026-03-01 08:30" in m for m in flag.matched)
    assert flag.resources == [
        {
            "resource_type": "Observation",
            "id": "planted-bp",
            "date": "2026-03-01T08:30:00",
            "label": "Systolic blood pressure 84 mmHg (2026-03-01 08:30)",
        }
    ]
    assert ids("no chest pain", ehr=planted, patient_id="planted") == []


def test_record_entries_after_now_are_ignored(planted: EmbeddedFhirStore) -> None:
    before = datetime(2026, 3, 1, 8, 0)
    assert [f.id for f in screen("chest pain", planted, "planted", now=before)] == [
        "acute-chest-pain-ecg"
    ]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedFhirStore:
    return ensure_demo_patients(tmp_path_factory.mktemp("ehr") / "ehr.sqlite")


def test_sepsis_patient_meets_sepsis_criteria_from_the_record(demo: EmbeddedFhirStore) -> None:
    flags = screen("", demo, "sepsis", now=datetime(2026, 2, 11, 7, 0))
    assert [f.id for f in flags] == ["possible-sepsis"]
    matched = " ".join(flags[0].matched)
    assert "systolic BP 86 mmHg on 2026-02-10 21:20" in matched
    assert "lactate" in matched and "GCS 14" in matched
    kinds = {r["resource_type"] for r in flags[0].resources}
    assert kinds == {"Observation", "DocumentReference"}
    assert all(r["id"].startswith("sepsis") for r in flags[0].resources)


def test_stroke_patient_within_the_window(demo: EmbeddedFhirStore) -> None:
    """Stroke team note: last known well 08:30; screened at 10:00 the same day."""
    flags = screen("", demo, "stroke", now=datetime(2026, 6, 8, 10, 0))
    assert [f.id for f in flags] == ["stroke-thrombolysis-window"]
    assert flags[0].resources[0]["resource_type"] == "DocumentReference"
    assert "onset about 1.5 h before now" in flags[0].matched


def test_stroke_patient_screened_the_next_day_is_outside_the_window(
    demo: EmbeddedFhirStore,
) -> None:
    flags = screen("", demo, "stroke", now=datetime(2026, 6, 9, 10, 0))
    assert [f.id for f in flags] == ["stroke-signs"]


def test_chest_pain_patient_gets_the_ecg_flag_from_the_record(demo: EmbeddedFhirStore) -> None:
    flags = screen("", demo, "chest-pain", now=datetime(2026, 3, 1, 12, 0))
    assert [f.id for f in flags] == ["acute-chest-pain-ecg"]
    types = {r["resource_type"] for r in flags[0].resources}
    assert types == {"Condition", "DocumentReference"}


@pytest.mark.parametrize("patient", ["checkup", "heart-failure", "lung-nodule", "pneumonia"])
def test_patients_without_red_flags(demo: EmbeddedFhirStore, patient: str) -> None:
    assert screen("", demo, patient) == []
    assert screen("routine review, feels well", demo, patient) == []


def test_old_records_raise_nothing_for_a_later_episode(demo: EmbeddedFhirStore) -> None:
    """Screened today, months after the stroke: the onset is far outside both windows."""
    assert screen("", demo, "stroke") == []
