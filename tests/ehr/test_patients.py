"""The synthetic patient bundles: deterministic, marked synthetic, complete, valid."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from knowledge.ehr import DEMO_PATIENT_IDS
from knowledge.ehr.parse import validate
from knowledge.patients import bundle_paths, generate

BUNDLES = bundle_paths()


def test_generator_reproduces_the_shipped_bundles_byte_for_byte(tmp_path: Path) -> None:
    written = generate.main(tmp_path)
    assert sorted(p.name for p in written) == [p.name for p in BUNDLES]
    for path in BUNDLES:
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


def test_twelve_or_more_patients_including_the_demo_cases() -> None:
    assert len(BUNDLES) >= 12
    assert {p.stem for p in BUNDLES} == set(DEMO_PATIENT_IDS)
    assert {"chest-pain", "pneumonia", "sepsis"} <= set(DEMO_PATIENT_IDS)


@pytest.mark.parametrize("path", BUNDLES, ids=lambda p: p.stem)
def test_each_case_is_complete_valid_and_marked_synthetic(path: Path) -> None:
    bundle = json.loads(path.read_text(encoding="utf-8"))
    resources = [e["resource"] for e in bundle["entry"]]
    kinds = Counter(r["resourceType"] for r in resources)
    assert kinds["Patient"] == 1
    for needed in ("Condition", "AllergyIntolerance", "Observation", "DocumentReference"):
        assert kinds[needed] >= 1, needed
    assert kinds["Observation"] >= 5
    for resource in resources:
        tags = resource["meta"]["security"]
        assert {"code": "HTEST"}.items() <= tags[0].items()
        validate(resource, path.name)  # raises if the R4B models reject it
    patient = resources[0]
    assert "Synthetic" in patient["text"]["div"]
    assert patient["identifier"][0]["value"].startswith("SYN-")
    assert patient["telecom"][0]["value"].startswith("555-01")
