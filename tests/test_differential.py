"""The cited differential: schema, strict verification, repair, visible warnings, modes."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langgraph.prebuilt import ToolRuntime

from agent.resources import Resources
from agent.session import Lingshu
from agent.settings import Settings
from knowledge.guidelines import get_embedder
from knowledge.imaging import ImageStore
from tests.fakes import ScriptedChatModel, call
from tools.runtime import ToolArtifact, ToolContext

TROPONIN_PASSAGE = (
    "High-sensitivity cardiac troponin is the preferred biomarker to establish or exclude "
    "myocardial injury in patients with acute chest pain."
)
RECORD = {
    "troponin": ("Observation/trop-3", "hs-Troponin T 96 ng/L (high, rising)"),
    "blood pressure": ("Observation/bp-1", "Blood pressure 144/86 mmHg"),
}


@tool(parse_docstring=True, response_format="content_and_artifact")
def lookup_guideline(
    topic: str, runtime: ToolRuntime[ToolContext, Any]
) -> tuple[str, ToolArtifact]:
    """Look up the guideline passage on a topic.

    Args:
        topic: The clinical topic.
    """
    eid = runtime.context.ledger.cite(
        "guideline", "chunk-trop", label="Chest pain guideline", excerpt=TROPONIN_PASSAGE
    )
    return f'<guideline id="{eid}">{TROPONIN_PASSAGE}</guideline>', {"evidence": [eid]}


@tool(parse_docstring=True, response_format="content_and_artifact")
def lookup_record(what: str, runtime: ToolRuntime[ToolContext, Any]) -> tuple[str, ToolArtifact]:
    """Look up one entry of the patient's record.

    Args:
        what: "troponin" or "blood pressure".
    """
    key, label = RECORD[what]
    eid = runtime.context.ledger.cite("ehr", key, label=label, excerpt=label)
    return f"[{eid}] {label}", {"evidence": [eid]}


def differential(**changes: Any) -> dict[str, Any]:
    dx = {
        "summary": "Acute chest pain with a rising troponin: NSTEMI most likely.",
        "red_flags": [],
        "diagnoses": [
            {
                "name": "Non-ST elevation myocardial infarction",
                "icd10": "I21.4",
                "likelihood": 0.7,
                "supporting": [
                    {"text": "hs-troponin T is high and rising", "evidence": ["E1"]},
                    {
                        "text": "High-sensitivity troponin is the preferred biomarker of myocardial injury",
                        "evidence": ["G1"],
                    },
                ],
                "against": [],
                "next_steps": [
                    {"action": "12-lead ECG", "kind": "test", "why": "ischaemia", "evidence": []}
                ],
            },
            {
                "name": "Unstable angina",
                "icd10": "I20.0",
                "likelihood": 0.2,
                "supporting": [{"text": "typical pain", "evidence": ["E1"]}],
            },
        ],
        "missing": ["ECG tracing"],
    }
    dx.update(changes)
    return dx


def block(dx: dict[str, Any]) -> str:
    return "```json\n" + json.dumps(dx) + "\n```\nNSTEMI is the working diagnosis."


GATHER = [
    call("lookup_record", what="troponin") + "\n" + call("lookup_guideline", topic="troponin")
]


@pytest.fixture(scope="module")
def embedder() -> Any:
    return get_embedder()


def make_agent(
    tmp_path: Path, script: list[Any], embedder: Any = None, **overrides: Any
) -> tuple[Lingshu, ScriptedChatModel]:
    settings = Settings(data_dir=tmp_path / "data", **overrides)
    resources = Resources(images=ImageStore(tmp_path / "images"))
    if embedder is not None:
        resources.guidelines = SimpleNamespace(embedder=embedder)
    model = ScriptedChatModel(script=script)
    agent = Lingshu(
        settings, model=model, tools=[lookup_guideline, lookup_record], resources=resources
    )
    return agent, model


def test_valid_differential_passes(tmp_path: Path, embedder: Any) -> None:
    agent, model = make_agent(tmp_path, [*GATHER, block(differential())], embedder)
    answer = agent.ask("Chest pain for 2 hours. Differential?").answer
    assert answer["warnings"] == []
    dx = answer["differential"]
    assert [d["name"] for d in dx["diagnoses"]] == [
        "Non-ST elevation myocardial infarction",
        "Unstable angina",
    ]
    assert answer["code_checks"]["I21.4"]["billable"] is True
    assert set(answer["citations"]) == {"E1", "G1"}
    assert {r["id"] for r in answer["references"]} == {"E1", "G1"}
    assert answer["text"] == "NSTEMI is the working diagnosis."
    assert len(model.prompts) == 2  # no repair was needed
    assert '"diagnoses"' in model.prompts[0][0].text  # the format is in the system prompt


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        (
            {
                "summary": "x",
                "diagnoses": [
                    {
                        "name": "NSTEMI",
                        "likelihood": 0.5,
                        "supporting": [{"text": "t", "evidence": ["E9"]}],
                    }
                ],
            },
            "E9 does not exist; the ehr evidence in this session is E1",
        ),
        (
            {
                "summary": "x",
                "diagnoses": [
                    {
                        "name": "NSTEMI",
                        "likelihood": 0.5,
                        "supporting": [{"text": "t", "evidence": []}],
                    }
                ],
            },
            "diagnosis 'NSTEMI' has no supporting finding with a citation",
        ),
        (
            {
                "summary": "x",
                "diagnoses": [
                    {
                        "name": "NSTEMI",
                        "icd10": "X99.999",
                        "likelihood": 0.5,
                        "supporting": [{"text": "t", "evidence": ["E1"]}],
                    }
                ],
            },
            "for 'NSTEMI', X99.999 is not an ICD-10-CM code",
        ),
        (
            {
                "summary": "x",
                "diagnoses": [
                    {
                        "name": "A",
                        "likelihood": 0.8,
                        "supporting": [{"text": "t", "evidence": ["E1"]}],
                    },
                    {
                        "name": "B",
                        "likelihood": 0.5,
                        "supporting": [{"text": "t", "evidence": ["E1"]}],
                    },
                ],
            },
            "the likelihoods sum to 1.30",
        ),
        (
            {"summary": "x", "diagnoses": [{"name": "A", "likelihood": "high", "supporting": []}]},
            "differential field 'diagnoses.0.likelihood'",
        ),
        (
            {
                "summary": "x",
                "diagnoses": [
                    {
                        "name": "A",
                        "likelihood": 0.5,
                        "supporting": [
                            {
                                "text": "The left femur is fractured after a fall from a ladder",
                                "evidence": ["G1"],
                            }
                        ],
                    }
                ],
            },
            "G1 does not say this",
        ),
    ],
    ids=[
        "made-up-citation",
        "missing-citation",
        "bad-icd10",
        "probabilities-over-1",
        "schema",
        "support-less-claim",
    ],
)
def test_each_failed_check_is_repaired_then_kept_visible(
    tmp_path: Path, embedder: Any, bad: dict[str, Any], problem: str
) -> None:
    agent, model = make_agent(
        tmp_path, [*GATHER, block(bad), block(bad), block(bad)], embedder, max_repairs=2
    )
    answer = agent.ask("Differential?").answer
    repairs = [p[-1].text for p in model.prompts[2:]]
    assert len(repairs) == 2 and all(problem in r for r in repairs)
    assert any(problem in w and "unresolved after 2 repair(s)" in w for w in answer["warnings"])


def test_repair_fixes_a_made_up_citation(tmp_path: Path, embedder: Any) -> None:
    wrong = differential()
    wrong["diagnoses"][1]["supporting"][0]["evidence"] = ["E4"]
    agent, model = make_agent(tmp_path, [*GATHER, block(wrong), block(differential())], embedder)
    answer = agent.ask("Differential?").answer
    assert "E4 does not exist; the ehr evidence in this session is E1" in model.prompts[2][-1].text
    assert answer["warnings"] == [] and answer["unknown_citations"] == []


def test_category_code_is_a_warning_not_a_repair(tmp_path: Path) -> None:
    dx = differential()
    dx["diagnoses"][0]["icd10"] = "I21"
    agent, model = make_agent(tmp_path, [*GATHER, block(dx)])
    answer = agent.ask("Differential?").answer
    assert len(model.prompts) == 2
    assert any("I21" in w and "category" in w for w in answer["warnings"])
    assert answer["code_checks"]["I21"]["billable"] is False


def test_submit_differential_tool_call_is_the_answer(tmp_path: Path) -> None:
    submit = AIMessage(
        content="",
        tool_calls=[
            {"name": "submit_differential", "args": differential(), "id": "s1", "type": "tool_call"}
        ],
    )
    agent, model = make_agent(tmp_path, [*GATHER, submit], tool_calling="native")
    answer = agent.ask("Differential?").answer
    assert answer["differential"]["diagnoses"][0]["icd10"] == "I21.4"
    assert "submit_differential" in {t["function"]["name"] for t in _specs(model.bound_tools[0])}


def _specs(tools: list[Any]) -> list[dict[str, Any]]:
    return [t if isinstance(t, dict) else {"function": {"name": t.name}} for t in tools]


def test_conversational_reply_is_still_an_answer(tmp_path: Path) -> None:
    agent, _ = make_agent(
        tmp_path, [*GATHER, "The troponin is rising [E1], in keeping with myocardial injury [G1]."]
    )
    answer = agent.ask("Is the troponin rising?").answer
    assert answer["differential"] is None
    assert answer["citations"] == ["E1", "G1"] and answer["warnings"] == []


def test_education_mode_teaches_and_says_it_is_not_for_care(tmp_path: Path) -> None:
    agent, model = make_agent(
        tmp_path, [*GATHER, "Step 1: troponin [G1]. Pitfall: ... Q1: why? [E1]"]
    )
    answer = agent.ask("Teach me about troponin in chest pain.", mode="education").answer
    assert (
        "learner" in model.prompts[0][0].text and "self-test questions" in model.prompts[0][0].text
    )
    assert answer["mode"] == "education" and "not for patient care" in answer["disclaimer"]


def test_report_mode_requires_findings_and_impression(tmp_path: Path) -> None:
    agent, model = make_agent(
        tmp_path,
        [
            "The heart looks big.",
            "Findings: enlarged cardiac silhouette.\nImpression: cardiomegaly.",
        ],
    )
    answer = agent.ask("Report please.", mode="report").answer
    assert "no 'Findings' section" in model.prompts[1][-1].text
    assert answer["text"].startswith("Findings:")
    assert "not a finalised report" in answer["disclaimer"]


def test_red_flag_banner_comes_from_the_program_not_the_model(tmp_path: Path) -> None:
    agent, _ = make_agent(tmp_path, ["Probably musculoskeletal pain; rest.", "Fine."])
    urgent = agent.ask("Crushing central chest pain, BP 84/50, sweaty and grey.").answer
    (flag,) = urgent["red_flags"]
    assert flag["id"] == "chest-pain-shock"
    assert flag["source"]["publisher"] and flag["source"]["year"] == 2021
    assert "musculoskeletal" in urgent["text"]  # the model's words are kept, the banner added
    benign = agent.ask("No chest pain today; a routine check of his blood pressure.").answer
    assert benign["red_flags"] == []


def test_red_flags_from_the_record_are_cited(tmp_path: Path) -> None:
    from knowledge.ehr import ensure_demo_patients

    settings = Settings(data_dir=tmp_path / "data")
    resources = Resources(
        images=ImageStore(tmp_path / "images"), ehr=ensure_demo_patients(tmp_path / "ehr.sqlite")
    )
    agent = Lingshu(
        settings, model=ScriptedChatModel(script=["Noted."]), tools=[], resources=resources
    )
    result = agent.ask("What should happen first?", patient_id="chest-pain")
    (flag,) = result.answer["red_flags"]
    assert flag["id"] == "acute-chest-pain-ecg" and "10 minutes" in flag["action"]
    assert flag["evidence"] and all(result.evidence[i]["kind"] == "ehr" for i in flag["evidence"])
    assert set(flag["evidence"]) <= set(result.answer["citations"])


def test_python_result_renders_like_the_cli_and_the_report(tmp_path: Path, embedder: Any) -> None:
    from agent.report import to_html, to_markdown

    agent, _ = make_agent(tmp_path, [*GATHER, block(differential())], embedder)
    result = agent.ask("Chest pain for 2 hours. Differential?")
    assert result.markdown() == to_markdown(result.answer)
    assert result.html() == to_html(result.answer)
    assert result.text == result.markdown()  # not only the closing sentence
    assert "| 1 | Non-ST elevation myocardial infarction | I21.4 |" in result.text
    assert "NSTEMI is the working diagnosis." in result.text
    assert "Non-ST elevation myocardial infarction" in result.html()
