"""The terminal rendering: banner first, the differential as a table, cited findings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.markdown import Markdown

from agent.report import to_markdown, write_report


def test_banner_comes_first_and_the_table_has_every_row(built: tuple[dict[str, Any], Path]) -> None:
    answer, _ = built
    md = to_markdown(answer)
    assert md.startswith("> 🚨 **URGENT: Chest pain with hypotension**")
    assert "| 1 | Acute myocardial infarction | I21.4 | 55% |" in md
    assert "| 2 | Aortic dissection | I71.0 ⚠ category, not billable | 20% |" in md
    assert "J18.99X ⚠ not an ICD-10-CM code | 10% |" in md
    assert "| – | Other / not listed | | 15% |" in md
    assert md.index("URGENT") < md.index("**Summary:**") < md.index("| # | Diagnosis")


def test_findings_next_steps_and_missing_keep_their_ids(built: tuple[dict[str, Any], Path]) -> None:
    md = to_markdown(built[0])
    assert "- hs-troponin T 52 ng/L, above the 99th centile [E2] [G1]" in md
    assert "- No ECG in the record yet [E1]" in md
    assert "- *test*: 12-lead ECG within 10 minutes — STEMI changes the pathway [G1]" in md
    assert "**Not available**\n- No ECG\n- No lactate" in md
    assert "[G1] ESC Guidelines for the management of acute coronary syndromes" in md
    assert md.rstrip().endswith("_Decision support, not a medical device._")


def test_rich_renders_the_table(built: tuple[dict[str, Any], Path]) -> None:
    console = Console(record=True, width=120, color_system=None)
    console.print(Markdown(to_markdown(built[0])))
    shown = console.export_text()
    table_row = next(line for line in shown.splitlines() if "Acute myocardial infarction" in line)
    assert "I21.4" in table_row and "55%" in table_row
    assert "Other / not listed" in shown


def test_a_plain_reply_keeps_text_references_and_warnings(
    built: tuple[dict[str, Any], Path],
) -> None:
    answer = {
        **built[0],
        "differential": None,
        "text": "Troponin is raised [E2].",
        "references": built[0]["references"][1:2],
        "warnings": ["tool round budget reached"],
    }
    md = to_markdown(answer)
    assert md.startswith("> 🚨 **URGENT")
    assert "Troponin is raised [E2]." in md
    assert "**References**\n- [E2] Observation Troponin T" in md
    assert "**Warnings**\n- tool round budget reached" in md
    assert "| # |" not in md


def test_without_red_flags_the_answer_starts_with_its_text() -> None:
    md = to_markdown({"text": "Hello.", "disclaimer": "d"})
    assert md == "Hello.\n\n_d_"
    assert to_markdown({}) == "_No answer this turn._"


def test_education_answers_say_they_are_for_teaching(tmp_path: Path) -> None:
    md = to_markdown({"text": "Teaching.", "mode": "education"})
    assert "for teaching, not for patient care" in md


def test_write_report_picks_the_format_by_suffix(
    built: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    answer, images = built
    md = write_report(tmp_path / "out" / "a.md", answer)
    assert md.read_text(encoding="utf-8").startswith("> 🚨")
    js = write_report(tmp_path / "a.json", answer)
    assert json.loads(js.read_text(encoding="utf-8"))["differential"]["diagnoses"][0]["icd10"] == (
        "I21.4"
    )
    html = write_report(tmp_path / "a.HTML", answer, image_root=images)
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    with pytest.raises(ValueError, match=r"\.html, \.md or \.json"):
        write_report(tmp_path / "a.pdf", answer)


def test_unresolved_ids_and_a_model_error_are_warned_once() -> None:
    md = to_markdown(
        {"text": "See [G9].", "unknown_citations": ["G9"], "model_error": "connection refused"}
    )
    assert "- G9 is cited but is not in this session's evidence" in md
    assert "- model error: connection refused" in md
    said = to_markdown(
        {"text": "Model down: connection refused.", "model_error": "connection refused"}
    )
    assert "**Warnings**" not in said


def test_each_claim_shows_its_verdict_and_the_header_counts_them() -> None:
    answer = {
        "text": "Troponin is 96 ng/L [E1]. Repeat at 1-3 hours [G1].",
        "statements": [
            {"text": "Troponin is 96 ng/L [E1].", "check": {"status": "checked", "reason": "r"}},
            {"text": "Repeat at 1-3 hours [G1].", "check": {"status": "unchecked", "reason": "r"}},
        ],
        "differential": {
            "summary": "s",
            "red_flags": [
                {"text": "Rising troponin", "evidence": ["E1"], "check": {"status": "checked"}}
            ],
            "diagnoses": [
                {
                    "name": "NSTEMI",
                    "likelihood": 0.6,
                    "supporting": [
                        {
                            "text": "hs-Troponin T is normal at 5 ng/L",
                            "evidence": ["E1"],
                            "check": {"status": "mismatch", "reason": "E1 is 96 ng/L (high)"},
                        },
                        {"text": "no check field", "evidence": ["E1"]},
                    ],
                    "next_steps": [
                        {"action": "ECG", "evidence": ["G1"], "check": {"status": "unchecked"}}
                    ],
                }
            ],
        },
        "claim_counts": {"checked": 2, "unchecked": 2, "mismatch": 1},
    }
    md = to_markdown(answer)
    assert "**Claims:** ✓ 2 checked · ? 2 not checked · ✗ 1 mismatch" in md
    assert "- hs-Troponin T is normal at 5 ng/L [E1] **✗ mismatch**: E1 is 96 ng/L (high)" in md
    assert "- Rising troponin [E1] ✓" in md
    assert "- no check field [E1]\n" in md  # absent: no mark, no failure
    assert "- *test*: ECG [G1] (? not checked)" in md
    assert "Troponin is 96 ng/L [E1]. ✓ Repeat at 1-3 hours [G1]. (? not checked)" in md
    assert md.index("**Claims:**") < md.index("**Summary:**")


def test_image_references_read_as_words_not_python_dicts() -> None:
    ref = {
        "id": "I2",
        "kind": "image",
        "label": "ct.dcm crop",
        "citation": {
            "parent": "I1",
            "box": [0.1, 0.2, 0.5, 0.6],
            "view": {"window": {"center": 450.0, "width": 1500.0, "name": "bone"}},
        },
    }
    md = to_markdown({"text": "See [I2].", "references": [ref]})
    assert "{" not in md and "'center'" not in md
    assert "region x 0.10-0.50, y 0.20-0.60 of the image" in md
    assert "bone window (centre 450, width 1500)" in md


def test_a_table_passage_reads_as_rows_in_flat_text() -> None:
    from agent.report import readable_passage

    text = "Intro.\n| Level | Findings |\n| --- | --- |\n| Mild | Microaneurysms only |\nEnd."
    flat = readable_passage(text)
    assert "|" not in flat
    assert "Level: Mild; Findings: Microaneurysms only." in flat
