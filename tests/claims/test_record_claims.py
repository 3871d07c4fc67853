"""Record claims (E#) checked against the cited entries of a real embedded FHIR store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.claims import check_claim
from benchmarks.claims_record import SET, gather, run
from knowledge.ehr import EmbeddedFhirStore, ensure_demo_patients


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedFhirStore]:
    opened = ensure_demo_patients(tmp_path_factory.mktemp("ehr") / "ehr.sqlite")
    yield opened
    opened.close()


def ids_of(evidence: dict[str, Any], *keys: str) -> list[str]:
    by_key = {r["key"]: i for i, r in evidence.items()}
    return [by_key[k] for k in keys]


def test_the_misquoted_troponin_is_a_mismatch_that_says_what_the_entry_holds(
    store: EmbeddedFhirStore,
) -> None:
    evidence = gather(store, "chest-pain")
    (trop,) = ids_of(evidence, "Observation/chest-pain-obs-34")
    verdict = check_claim("hs-Troponin T is normal at 5 ng/L", [trop], evidence)
    assert verdict.status == "mismatch"
    assert "5 ng/L" in verdict.reason and "96 ng/L" in verdict.reason and "high" in verdict.reason
    assert f"[{trop}]" in verdict.problem  # the repair message names the citation
    right = check_claim("hs-Troponin T 96 ng/L, high and rising", [trop], evidence)
    assert right.status == "checked"


@pytest.mark.parametrize(
    ("patient", "claim", "keys", "said"),
    [
        ("chest-pain", "Creatinine 1.1 mmol/L", ["Observation/chest-pain-obs-30"], "mmol/L"),
        ("sepsis", "Lactate rising, 4.1 mmol/L", ["Observation/sepsis-obs-14"], "1.7"),
        (
            "heart-failure",
            "Not on anticoagulants",
            ["MedicationRequest/heart-failure-med-10"],
            "Apixaban",
        ),
        (
            "sepsis",
            "No known allergies",
            ["AllergyIntolerance/sepsis-allergy-9"],
            "Sulfamethoxazole",
        ),
        ("stroke", "Currently takes warfarin", ["MedicationRequest/stroke-med-10"], "stopped"),
        ("stroke", "Active upper gastrointestinal bleed", ["Condition/stroke-cond-6"], "resolved"),
        (
            "appendicitis",
            "Temperature 38 °C on 12 July 2026",
            ["Observation/appendicitis-obs-15"],
            "2026-07-02",
        ),
    ],
    ids=[
        "unit",
        "direction",
        "absence-of-drug",
        "absence-of-allergy",
        "stopped",
        "resolved",
        "date",
    ],
)
def test_each_class_of_mismatch_is_caught(
    store: EmbeddedFhirStore, patient: str, claim: str, keys: list[str], said: str
) -> None:
    evidence = gather(store, patient)
    verdict = check_claim(claim, ids_of(evidence, *keys), evidence)
    assert verdict.status == "mismatch" and said in verdict.reason


def test_an_entry_entered_in_error_supports_nothing() -> None:
    record = {
        "id": "E1",
        "kind": "ehr",
        "key": "Condition/x",
        "label": "Condition Asthma (2020-01-01)",
        "excerpt": "Asthma",
        "citation": {
            "resource_type": "Condition",
            "display": "Asthma",
            "status": "entered-in-error",
        },
    }
    verdict = check_claim("Known asthma", ["E1"], {"E1": record})  # type: ignore[dict-item]
    assert verdict.status == "mismatch" and "entered in error" in verdict.reason


def test_labelled_set_meets_the_targets(store: EmbeddedFhirStore) -> None:
    items = json.loads(Path(SET).read_text(encoding="utf-8"))["claims"]
    assert len(items) >= 60
    result = run(items, store)
    assert result["recall_wrong_caught"] >= 0.95, result["missed"]
    assert result["right_flagged_rate"] <= 0.05, result["false_flags"]
