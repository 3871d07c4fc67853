"""The EHR tools as the model sees them: cited, compact, scoped, without identifiers."""

from __future__ import annotations

import json
import logging
import re
from datetime import date

import pytest
from langchain_core.utils.function_calling import convert_to_openai_tool

from knowledge.ehr import EmbeddedFhirStore, RemoteFhirClient
from knowledge.ehr.records import age_on
from tests.ehr.conftest import TOOLS, call, context
from tests.ehr.fhir_server import FhirTestServer
from tools.ehr import EHR_TOOLS
from tools.runtime import ToolError

IDENTIFIERS = (
    "Alex",
    "Synthetic",
    "SYN-000001",
    "555-0101",
    "1 Example Street",
    "1964-06-20",
    "Exampleton",
)


def test_every_tool_needs_the_ehr_and_the_patient_and_hides_the_context() -> None:
    assert len(EHR_TOOLS) == 7
    for tool in EHR_TOOLS:
        assert tool.metadata == {"requires": ["ehr", "patient"]}
        schema = convert_to_openai_tool(tool)["function"]["parameters"]
        assert not {"runtime", "ctx"} & set(schema.get("properties", {}))
        assert not any("patient" in p for p in schema.get("properties", {}))


def test_troponin_series_is_cited_with_trend(demo_store: EmbeddedFhirStore) -> None:
    ctx = context(demo_store, "chest-pain")
    message = call(ctx, "get_labs", name_or_loinc="hs-TnT")
    text = str(message.content)
    assert "reference <14 ng/L" in text
    assert re.search(r"08:05: 52 ng/L H \[E1\]", text)
    assert re.search(r"11:05: 96 ng/L H \[E3\]", text)
    assert "trend: rising, 52 -> 96 ng/L over 3 h (+85%)" in text
    record = ctx.ledger.get("E3")
    assert record is not None and record["key"].startswith("Observation/chest-pain-")
    assert record["label"] == "Observation hs-Troponin T 96 ng/L (2026-03-01)"
    assert record["citation"]["value"] == 96 and record["citation"]["unit"] == "ng/L"
    assert record["citation"]["code"] == "67151-1"
    assert record["citation"]["date"] == "2026-03-01T11:05:00"
    assert message.artifact["evidence"] == ["E1", "E2", "E3"]
    # asking again, by LOINC code, cites the same resources with the same ids
    again = call(ctx, "get_labs", name_or_loinc="67151-1")
    assert again.artifact["evidence"] == ["E1", "E2", "E3"]


def test_since_filters_and_bad_date_is_a_tool_error(demo_store: EmbeddedFhirStore) -> None:
    ctx = context(demo_store, "chest-pain")
    text = str(call(ctx, "get_labs", name_or_loinc="HbA1c", since="2025-12-01").content)
    assert "7.8 %" in text and "7.4 %" not in text
    with pytest.raises(ToolError, match="YYYY-MM-DD"):
        call(ctx, "get_labs", name_or_loinc="HbA1c", since="last week")


def test_unknown_lab_lists_what_the_record_has(demo_store: EmbeddedFhirStore) -> None:
    ctx = context(demo_store, "chest-pain")
    with pytest.raises(ToolError, match=r"No lab named 'zinc'.*hs-Troponin T"):
        call(ctx, "get_labs", name_or_loinc="zinc")
    absent = call(ctx, "get_labs", name_or_loinc="lactate")
    assert "No lactate results" in str(absent.content) and absent.artifact["evidence"] == []


def test_patient_summary_is_a_compact_synopsis_without_identifiers(
    demo_store: EmbeddedFhirStore, caplog: pytest.LogCaptureFixture
) -> None:
    ctx = context(demo_store, "chest-pain")
    with caplog.at_level(logging.DEBUG):
        text = str(call(ctx, "patient_summary").content)
    age = age_on("1964-06-20", date.today())
    assert text.startswith(f"{age}-year-old male.")
    for expected in (
        "Essential hypertension",
        "Type 2 diabetes mellitus",
        "Metformin",
        "Penicillin (Urticaria)",
        "BP 144/86 mmHg",
        "hs-Troponin T 96 ng/L H",
    ):
        assert expected in text
    assert len(text) < 1500
    for identifier in IDENTIFIERS:
        assert identifier not in text
        assert identifier not in caplog.text
    for eid in re.findall(r"\[(E\d+)\]", text):
        assert ctx.ledger.get(eid) is not None


def test_identifiers_shown_only_when_the_deployment_asks(demo_store: EmbeddedFhirStore) -> None:
    ctx = context(demo_store, "chest-pain", extras={"ehr_show_identifiers": True})
    text = str(call(ctx, "patient_summary").content)
    assert "Alex Synthetic" in text and "SYN-000001" in text and "1964-06-20" in text


def test_lists_of_conditions_medications_allergies(demo_store: EmbeddedFhirStore) -> None:
    ctx = context(demo_store, "stroke")
    active = str(call(ctx, "list_medications").content)
    assert "Metformin" in active and "Warfarin" not in active
    stopped = str(call(ctx, "list_medications", status="stopped").content)
    assert "Warfarin" in stopped and "stopped after GI bleed" in stopped
    resolved = str(call(ctx, "list_conditions", status="resolved").content)
    assert "Upper gastrointestinal bleed (ICD-10-CM K92.2; since 2024-04-02; resolved)" in resolved
    conditions = str(call(ctx, "list_conditions").content)
    assert "Atrial fibrillation (SNOMED 49436004, ICD-10-CM I48.91" in conditions
    assert "No known allergies [E" in str(call(ctx, "list_allergies").content)
    sepsis = context(demo_store, "sepsis")
    allergy = str(call(sepsis, "list_allergies").content)
    assert "Sulfamethoxazole (Skin eruption; allergy; criticality low; active)" in allergy


def test_vitals_fold_blood_pressure_and_show_trends(demo_store: EmbeddedFhirStore) -> None:
    ctx = context(demo_store, "sepsis")
    text = str(call(ctx, "get_vitals").content)
    assert "Blood pressure (LOINC 85354-9):" in text
    assert "86/50 mmHg" in text and "112/64 mmHg" in text
    assert "Heart rate (LOINC 8867-4):" in text and "trend: falling, 122 -> 94 /min" in text


def test_search_notes_finds_the_ecg_report(demo_store: EmbeddedFhirStore) -> None:
    ctx = context(demo_store, "chest-pain")
    message = call(ctx, "search_notes", query="ST depression aVL")
    text = str(message.content)
    assert "12-lead ECG" in text and "Horizontal ST depression of 1.5 mm" in text
    key = {ctx.ledger.get(e)["key"] for e in message.artifact["evidence"]}  # type: ignore[index]
    assert all(k.startswith("DocumentReference/chest-pain-") for k in key)
    none = call(ctx, "search_notes", query="colonoscopy")
    assert "No note mentions 'colonoscopy'" in str(none.content) and "12-lead ECG" in str(
        none.content
    )


def test_output_budget_cites_only_what_is_shown(demo_store: EmbeddedFhirStore) -> None:
    ctx = context(demo_store, "chest-pain", max_output_chars=400)
    message = call(ctx, "get_vitals")
    text = str(message.content)
    assert len(text) <= 400 and "more lines not shown" in text
    shown = re.findall(r"\[(E\d+)\]", text)
    assert shown and sorted(shown) == sorted(ctx.ledger.ids("ehr"))


def test_no_patient_or_no_ehr_is_a_clear_tool_error(demo_store: EmbeddedFhirStore) -> None:
    with pytest.raises(ToolError, match="no patient"):
        call(context(demo_store, None), "patient_summary")
    with pytest.raises(ToolError, match="No EHR"):
        call(context(None, "chest-pain"), "get_labs", name_or_loinc="troponin")
    with pytest.raises(ToolError, match="not in the EHR"):
        call(context(demo_store, "nobody"), "patient_summary")


def test_tool_names_match_the_graph_contract() -> None:
    assert set(TOOLS) == {
        "patient_summary",
        "get_labs",
        "get_vitals",
        "list_conditions",
        "list_medications",
        "list_allergies",
        "search_notes",
    }


def test_no_tool_output_or_log_line_holds_an_identifier(
    demo_store: EmbeddedFhirStore, fhir_server: FhirTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.ehr.test_isolation import ALL_CALLS

    client = RemoteFhirClient(fhir_server.base_url, token="test-token")
    texts = []
    with caplog.at_level(logging.DEBUG):
        for source in (demo_store, client):
            ctx = context(source, "chest-pain")
            for name, args in ALL_CALLS:
                message = call(ctx, name, **args)
                texts += [str(message.content), json.dumps(message.artifact)]
            texts.append(json.dumps([ctx.ledger.get(e) for e in ctx.ledger.ids()]))
    client.close()
    everything = "\n".join(texts) + caplog.text
    assert "hs-Troponin T" in everything and "test-token" not in caplog.text
    for identifier in IDENTIFIERS:
        assert identifier not in everything
