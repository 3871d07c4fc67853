"""Scores computed from synthetic records (tests/scores/records.py) through the real tool.

Every expected value below was worked out by hand from the published rule, with the
arithmetic in the comment; the record values reach the calculator through the real
embedded FHIR store, the window and the unit conversions. SYNTHETIC patients.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.scores.conftest import context, run
from tools.runtime import ToolError


def _score(store: Any, patient: str, calculator: str, **reported: Any) -> dict[str, Any]:
    message = run(context(store, patient), calculator, **reported)
    assert message.status != "error", message.content
    data = message.artifact["data"]
    assert data["computed"], message.content
    assert data["score_id"] in message.content
    return data


# Each case: (patient, calculator, reported values, expected, tolerance)
CASES = [
    # CURB-65 (Lim 2003): confusion 0; urea 9 mmol/L x 2.801 = BUN 25.2 mg/dL > 20 (= urea > 7
    # mmol/L): 1; RR 32 >= 30: 1; SBP 88 < 90: 1; age 76 >= 65: 1 -> 4
    ("score-pneumonia", "CURB-65", {"confusion": False}, 4, 0),
    # CRB-65 (Bauer 2006): confusion 0, RR 32: 1, BP 88/58: 1, age 76: 1 -> 3
    ("score-pneumonia", "CRB-65", {"confusion": False}, 3, 0),
    # qSOFA (Seymour 2016): RR 32 >= 22: 1; SBP 88 <= 100: 1; mentation normal: 0 -> 2
    (
        "score-pneumonia",
        "qSOFA",
        {"altered_mentation": False},
        2,
        0,
    ),
    # NEWS2 (RCP 2017): RR 32 (>= 25): 3; SpO2 91 on scale 1 (<= 91): 3; on oxygen: 2;
    # SBP 88 (<= 90): 3; pulse 118 (111-130): 2; alert: 0; temperature 101.3 F = (101.3 - 32)
    # x 5/9 = 38.5 C (38.1-39.0): 1 -> 3 + 3 + 2 + 3 + 2 + 0 + 1 = 14
    (
        "score-pneumonia",
        "NEWS2",
        {"on_supplemental_o2": True, "consciousness": "alert", "spo2_scale": "scale_1"},
        14,
        0,
    ),
    # CHA2DS2-VASc (Lip 2010): CHF 1, hypertension 1, age 77 (>= 75) 2, diabetes 1, stroke
    # (resolved, history) 2, vascular disease 0 (not on the problem list), female 1 -> 8
    ("score-af", "CHA2DS2-VASc", {}, 8, 0),
    # HAS-BLED (Pisters 2010): uncontrolled hypertension SBP 172 > 160: 1; renal 0; liver 0;
    # stroke 1; bleeding 0; labile INR 0; elderly 77 > 65: 1; drugs (aspirin) 1; alcohol 0 -> 4
    (
        "score-af",
        "HAS-BLED",
        {
            "abnormal_renal_function": False,
            "abnormal_liver_function": False,
            "bleeding": False,
            "labile_inr": False,
            "drugs": True,
            "alcohol": False,
        },
        4,
        0,
    ),
    # eGFR CKD-EPI 2021 (Inker 2021), female: creatinine 106 umol/L / 88.42 = 1.199 mg/dL;
    # 142 x min(1.199/0.7, 1)^-0.241 x max(1.199/0.7, 1)^-1.200 x 0.9938^77 x 1.012
    # = 142 x 1 x 1.7127^-1.2 (0.5243) x 0.6195 x 1.012 = 46.7 mL/min/1.73 m2
    ("score-af", "eGFR CKD-EPI 2021", {}, 46.7, 0.3),
    # Cockcroft-Gault (1976), female: (140 - 77) x 60 kg / (72 x 1.199) x 0.85
    # = 3780 / 86.3 x 0.85 = 37.2 mL/min
    ("score-af", "cockcroft_gault", {}, 37.2, 0.3),
    # Child-Pugh (Pugh 1973): bilirubin 42.75 umol/L / 17.1 = 2.5 mg/dL (2-3): 2; albumin
    # 30 g/L = 3.0 g/dL (2.8-3.5): 2; INR 1.9 (1.7-2.3): 2; ascites mild: 2; no
    # encephalopathy: 1 -> 9 (class B)
    (
        "score-liver",
        "Child-Pugh",
        {"ascites": "mild", "encephalopathy": "none", "is_primary_biliary_cholangitis": False},
        9,
        0,
    ),
    # MELD-Na (Kim 2008): MELD = 10 x (0.957 ln 1.4 + 0.378 ln 2.5 + 1.120 ln 1.9 + 0.643)
    # = 10 x (0.322 + 0.346 + 0.719 + 0.643) = 20.3; Na 128 -> 137 - 128 = 9;
    # MELD-Na = 20.3 + 1.32 x 9 - 0.033 x 20.3 x 9 = 20.3 + 11.88 - 6.03 = 26.2 -> 26
    ("score-liver", "MELD-Na", {"on_dialysis": False}, 26, 0),
    # FIB-4 (Sterling 2006): age x AST / (platelets x sqrt(ALT)) = 58 x 80 / (90 x 6.325)
    # = 4640 / 569.2 = 8.15
    ("score-liver", "FIB-4", {}, 8.15, 0.01),
    # Wells PE (Wells 2000): DVT signs 0; PE most likely 3; HR 112 > 100: 1.5; immobilisation
    # 0; previous DVT (Z86.718): 1.5; haemoptysis 0; malignancy (C50.911): 1 -> 7.0
    (
        "score-pe",
        "Wells PE",
        {
            "clinical_signs_dvt": False,
            "pe_most_likely_diagnosis": True,
            "immobilization_or_surgery": False,
            "hemoptysis": False,
        },
        7.0,
        0,
    ),
    # Glasgow-Blatchford (Blatchford 2000), man: urea 12 mmol/L (10-25): 4 (BUN 33.6 mg/dL);
    # Hb 105 g/L = 10.5 g/dL (10-12, men): 3; SBP 95 (90-99): 2; pulse 105 (>= 100): 1;
    # melaena 1; syncope 0; hepatic disease 0; cardiac failure 0 -> 11
    ("score-gib", "Glasgow-Blatchford", {"melena": True, "syncope": False}, 11, 0),
    # Anion gap (Kraut 2007): 140 - (100 + 18) = 22; albumin 25 g/L = 2.5 g/dL;
    # albumin-corrected 22 + 2.5 x (4.0 - 2.5) = 25.75 -> 25.8
    ("score-metabolic", "anion gap", {}, 25.8, 0.05),
    # Corrected calcium (Payne 1973): 2.0 mmol/L x 4.008 = 8.016 mg/dL;
    # 8.016 + 0.8 x (4.0 - 2.5) = 9.2 mg/dL
    ("score-metabolic", "corrected calcium", {}, 9.2, 0.05),
    # BMI: 82 / 1.78^2 = 82 / 3.1684 = 25.9 kg/m2
    ("score-metabolic", "BMI", {}, 25.9, 0.05),
    # Glasgow Coma Scale (Teasdale 1974): E3 + V4 + M6 = 13, all reported
    (
        "score-metabolic",
        "GCS",
        {"eye_response": 3, "verbal_response": 4, "motor_response": 6},
        13,
        0,
    ),
]


@pytest.mark.parametrize(("patient", "calculator", "reported", "expected", "tol"), CASES)
def test_score_from_the_record(
    score_store: Any,
    patient: str,
    calculator: str,
    reported: dict[str, Any],
    expected: float,
    tol: float,
) -> None:
    data = _score(score_store, patient, calculator, **reported)
    assert data["value"] == pytest.approx(expected, abs=tol)
    assert data["doi"].startswith("10.")
    for name, value in data["values"].items():
        assert value["source"] == ("reported" if name in reported else value["source"])
    recorded = [n for n, v in data["values"].items() if v["source"] == "recorded"]
    if patient != "score-metabolic" or calculator != "GCS":
        assert recorded, "some values must come from the record"


def test_every_recorded_value_is_cited_with_its_date(score_store: Any) -> None:
    ctx = context(score_store, "score-pneumonia")
    message = run(ctx, "CURB-65", confusion=False)
    lines = {ln.split(":")[0].strip("- "): ln for ln in message.content.splitlines()}
    assert "Urea 9 mmol/L = 25.21 mg/dL (2026-05-01 08:00)" in lines["bun"]
    for name in ("bun", "respiratory_rate", "systolic_bp", "age"):
        eid = lines[name].rsplit("[", 1)[1].rstrip("]")
        record = ctx.ledger.get(eid)
        assert record is not None and record["kind"] == "ehr"
    # the newest respiratory rate (32 at 08:00), not the older 16 of the evening before
    assert "Respiratory rate 32" in lines["respiratory_rate"]
    assert "(reported, not recorded)" in lines["confusion"]
    # what was read is named for the audit trail
    assert "Patient/score-pneumonia" in message.artifact["data"]["resources"]
    score = ctx.ledger.get(message.artifact["data"]["score_id"])
    assert score is not None and score["citation"]["doi"] == "10.1136/thorax.58.5.377"
    assert score["citation"]["url"] == "https://doi.org/10.1136/thorax.58.5.377"


def test_missing_value_is_named_and_the_score_not_computed(score_store: Any) -> None:
    message = run(context(score_store, "score-pneumonia"), "CURB-65")
    data = message.artifact["data"]
    assert not data["computed"] and data["value"] is None and data["score_id"] is None
    assert list(data["missing"]) == ["confusion"]
    assert "NOT computed: missing confusion" in message.content
    # confusion yes or no: 4 or 5; said as a range, not as a result
    assert data["range"] == [4, 5]
    assert "a range, not a result" in message.content


def test_stale_value_is_refused_with_a_message(score_store: Any) -> None:
    message = run(context(score_store, "score-stale"), "CURB-65", confusion=False)
    data = message.artifact["data"]
    assert not data["computed"]
    assert "respiratory_rate" in data["missing"]
    assert "older than 24 hours" in message.content
    assert "2026-04-28 08:00" in message.content


def test_reported_value_wins_and_is_marked(score_store: Any) -> None:
    message = run(context(score_store, "score-pneumonia"), "CURB-65", confusion=True)
    assert message.artifact["data"]["value"] == 5
    message = run(
        context(score_store, "score-pneumonia"), "CURB-65", confusion=False, respiratory_rate=20
    )
    data = message.artifact["data"]
    assert data["value"] == 3 and data["values"]["respiratory_rate"]["source"] == "reported"
    assert "the record has Respiratory rate 32" in message.content


def test_unit_conversions() -> None:
    from knowledge.scores.units import UnitError, convert

    assert convert("urea", 7.0, "mmol/L", "mg/dL", as_urea=True) == pytest.approx(19.6, abs=0.01)
    assert convert("creatinine", 88.42, "µmol/L", "mg/dL") == pytest.approx(1.0)
    assert convert("temperature", 98.6, "[degF]", "C") == pytest.approx(37.0)
    assert convert("temperature", 37.0, "Cel", "C") == 37.0
    assert convert("bilirubin", 34.2, "umol/L", "mg/dL") == pytest.approx(2.0)
    with pytest.raises(UnitError, match="creatinine from no unit"):
        convert("creatinine", 1.1, "", "mg/dL")


def test_bad_reported_value_is_a_clear_error(score_store: Any) -> None:
    with pytest.raises(ToolError, match=r"no parameter confusoin.*confusion"):
        run(context(score_store, "score-pneumonia"), "CURB-65", confusoin=True)
    with pytest.raises(ToolError, match="ascites='lots'"):
        run(context(score_store, "score-liver"), "Child-Pugh", ascites="lots")


def test_question_lists_the_fitting_calculators(score_store: Any) -> None:
    message = run(context(score_store, "score-pneumonia"), "severity of this pneumonia")
    assert message.artifact["data"]["suggestions"][:2] == ["curb65", "psi_port"]
    assert message.artifact["evidence"] == []


def test_no_record_means_every_value_is_reported() -> None:
    from tools.evidence import EvidenceLedger
    from tools.runtime import ToolContext

    ctx = ToolContext(ledger=EvidenceLedger())
    message = run(ctx, "qSOFA", respiratory_rate=24)
    data = message.artifact["data"]
    assert sorted(data["missing"]) == ["altered_mentation", "systolic_blood_pressure"]
    message = run(
        ctx, "qSOFA", respiratory_rate=24, systolic_blood_pressure=95, altered_mentation=True
    )
    assert message.artifact["data"]["value"] == 3


def test_the_tool_reads_the_session_patient_only(score_store: Any) -> None:
    # the AF patient has no respiratory rate: another patient's 32/min must not appear
    message = run(context(score_store, "score-af"), "qSOFA", altered_mentation=False)
    data = message.artifact["data"]
    assert "respiratory_rate" in data["missing"] and "32" not in message.content


def test_default_as_of_is_the_newest_entry_and_says_how_old(score_store: Any) -> None:
    # without an explicit 'now', the windows count back from the record's newest entry
    # (08:00 on 2026-05-01), and the reply says how long ago that was
    message = run(context(score_store, "score-pneumonia", as_of=None), "CURB-65", confusion=False)
    data = message.artifact["data"]
    assert data["computed"] and data["value"] == 4
    assert data["as_of"].startswith("2026-05-01T08:01")
    assert "the newest entry in the record" in message.content
    assert "not now" in message.content  # the test records are months old


def test_a_cut_off_can_be_reported_as_its_number(score_store: Any) -> None:
    # Wells asks "heart rate > 100?"; the clinician says "pulse 96 now": 96 decides it (no)
    reported = {
        "clinical_signs_dvt": False,
        "pe_most_likely_diagnosis": True,
        "immobilization_or_surgery": False,
        "hemoptysis": False,
        "heart_rate": 96,
    }
    message = run(context(score_store, "score-pe"), "Wells PE", **reported)
    data = message.artifact["data"]
    # 3 + 0 (96 is not > 100) + 1.5 (previous DVT) + 1 (cancer) = 5.5
    assert data["value"] == 5.5
    assert data["values"]["heart_rate_gt_100"]["source"] == "reported"
    assert "heart rate > 100 is False" in message.content
    assert "the record has Heart rate 112" in message.content


def test_every_record_read_is_bounded(score_store: Any) -> None:
    counts: list[Any] = []

    class Counting:
        def __getattr__(self, name: str) -> Any:
            return getattr(score_store, name)

        def search(self, *args: Any, **kwargs: Any) -> Any:
            counts.append((args[0], kwargs.get("count")))
            return score_store.search(*args, **kwargs)

    ctx = context(Counting(), "score-pneumonia")
    ctx.extras["ehr_show_identifiers"] = True  # the tool's own reads, not the redaction's
    run(ctx, "CURB-65")
    assert counts and None not in [c for _, c in counts], counts
