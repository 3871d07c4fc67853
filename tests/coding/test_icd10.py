"""ICD-10-CM look-up: code checks, free-text search, the tool and the CLI (real code set)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from agent.cli import app
from knowledge.icd10 import check_code, lookup, normalise_code
from tools.coding import CODING_TOOLS, icd10_lookup
from tools.evidence import EvidenceLedger
from tools.runtime import ToolContext, call_tool


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("I214", "I21.4"), ("i21.4", "I21.4"), (" I21 ", "I21"), ("j189", "J18.9")],
)
def test_codes_are_normalised(raw: str, expected: str) -> None:
    assert normalise_code(raw) == expected


def test_billable_code_is_recognised() -> None:
    check = check_code("I214")
    assert (check.code, check.exists, check.billable) == ("I21.4", True, True)
    assert "NSTEMI" in check.description
    assert check.suggestion == ""


def test_category_is_flagged_with_its_billable_codes() -> None:
    check = check_code("I21")
    assert check.exists and not check.billable
    assert "category" in check.suggestion
    assert "I21.4" in check.suggestion or "I21.01" in check.suggestion
    assert all(check_code(c).billable for c in check.candidates)


def test_unknown_code_suggests_the_closest_existing_codes() -> None:
    check = check_code("I21.49")
    assert not check.exists
    assert check.candidates == ["I21.4"]
    assert "not an ICD-10-CM code" in check.suggestion
    near = check_code("I21.5")
    assert not near.exists and near.candidates
    assert all(c.startswith("I21.") for c in near.candidates)


def test_a_block_is_not_a_code() -> None:
    check = check_code("I20-I25")
    assert not check.exists
    assert "block" in check.suggestion


@pytest.mark.parametrize(
    ("term", "code"),
    [
        ("NSTEMI", "I21.4"),
        ("community acquired pneumonia", "J18.9"),
        ("pulmonary embolism without acute cor pulmonale", "I26.99"),
        ("PE", "I26.99"),
        ("UTI", "N39.0"),
        ("TIA", "G45.9"),
        ("CHF", "I50.9"),
        ("COPD exacerbation", "J44.1"),
        ("chest pain", "R07.9"),
        ("haemoptysis", "R04.2"),
    ],
)
def test_lookup_finds_the_expected_billable_code_first(term: str, code: str) -> None:
    best = lookup(term, 5)[0]
    assert best.code == code
    assert best.billable


def test_lookup_of_a_category_code_lists_it_then_billable_codes() -> None:
    found = lookup("I26", 4)
    assert found[0].code == "I26" and not found[0].billable
    assert all(m.billable and m.code.startswith("I26.") for m in found[1:])


def test_lookup_of_nonsense_is_empty() -> None:
    assert lookup("qwxzz plorb") == []


def _run(term: str, k: int = 8) -> tuple[str, dict]:
    ctx = ToolContext(ledger=EvidenceLedger())
    message = call_tool(icd10_lookup, ctx, call_id="c1", term=term, k=k)
    assert ctx.ledger.ids() == []  # a code is not evidence
    return str(message.content), message.artifact


def test_tool_lists_codes_with_billable_marks_and_cites_nothing() -> None:
    text, artifact = _run("STEMI anterior wall", 5)
    assert "I21.0 (category, not billable" in text
    assert "(billable): ST elevation (STEMI) myocardial infarction" in text
    assert artifact["evidence"] == []
    assert artifact["data"]["matches"][0]["code"] == "I21.0"
    assert icd10_lookup in CODING_TOOLS
    assert icd10_lookup.metadata == {"requires": []}
    assert "runtime" not in icd10_lookup.tool_call_schema.model_json_schema()["properties"]


def test_tool_on_a_made_up_code_says_so_and_offers_neighbours() -> None:
    text, artifact = _run("I21.49")
    assert text.startswith("I21.49 is not an ICD-10-CM code; closest codes:")
    assert "I21.4 (billable)" in text
    assert artifact["data"]["check"]["exists"] is False


def test_cli_table_and_json() -> None:
    runner = CliRunner()
    shown = runner.invoke(app, ["icd10", "NSTEMI", "--k", "3"])
    assert shown.exit_code == 0, shown.output
    assert "I21.4" in shown.output and "Billable" in shown.output
    checked = runner.invoke(app, ["icd10", "I21.4"])
    assert "I21.4 exists and is billable" in checked.output
    raw = runner.invoke(app, ["icd10", "I21", "--json", "--k", "2"])
    payload = json.loads(raw.output)
    assert payload["check"]["billable"] is False
    assert payload["matches"][0]["code"] == "I21"
