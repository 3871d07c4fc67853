"""One answer record and one evidence-id grammar.

The stream's last event carries the very record the respond node stored (no second read
of the state); ask, stream, the service's JSON and the reports render that one record;
and every place that reads evidence ids (answer, citations check, claims, HTML links, the
MCP client, the eval grader, the image tools, the differential) agrees on tricky text.
"""

from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path
from typing import Any

import pytest

from agent.answer import Answer, build_answer
from agent.citations import unknown_citations
from agent.claims import prose_claims
from agent.differential import parse_differential
from agent.report import to_html, to_markdown
from agent.report.html_evidence import link_citations
from agent.session import TurnResult
from evals.grading import strip_citations
from testing.fakes import call
from tests.report.answers import chest_film
from tests.test_graph import PASSAGES, make_agent  # a scripted agent with a guideline tool
from tools.evidence import (
    PREFIX,
    EvidenceLedger,
    cited_ids,
    collect_ids,
    is_evidence_id,
    parse_id,
)

# text -> the ids it cites, in order
TRICKY: list[tuple[str, list[str]]] = [
    ("Troponin is high [G1,E2].", ["G1", "E2"]),
    ("Troponin is high [ G1 ; 3 ].", ["G1", "G3"]),
    ("An opacity on the film [I12].", ["I12"]),
    ("Malformed id [G01].", ["G01"]),
    ("The EGFR1 mutation and HER2 status, B12 low.", []),
    ("Bracketed gene [EGFR1] is no citation.", []),
    ("Two groups [E1] then [G2; E1].", ["E1", "G2"]),
]


@pytest.mark.parametrize(("text", "ids"), TRICKY)
def test_every_reader_of_ids_agrees_on_tricky_text(text: str, ids: list[str]) -> None:
    assert cited_ids(text) == ids
    # The HTML report links exactly those ids, each to its reference entry.
    linked = re.findall(r'href="#ref-([^"]+)"', link_citations(escape(text)))
    assert list(dict.fromkeys(linked)) == ids
    # The claim checker finds the same ids in the sentence.
    claims = prose_claims(text)
    assert [i for _, found in claims for i in found] == ids
    # The eval grader strips exactly the citations (words like EGFR1 stay).
    stripped = strip_citations(text)
    assert not cited_ids(stripped)
    assert ("EGFR1" in stripped) == ("EGFR1" in text)
    # The answer built from that text cites them; those not in the ledger are unknown.
    ledger = EvidenceLedger()
    ledger.cite("guideline", "g", label="Guideline", excerpt="x")  # G1
    answer = build_answer({"evidence": ledger.new_records}, text, produced_by="model")
    assert answer.citations == ids
    assert answer.unknown_citations == [i for i in ids if i != "G1"]
    assert [p.split()[0] for p in unknown_citations(text, ledger.new_records)] == [
        i for i in ids if i != "G1"
    ]


def test_one_id_alone_is_well_formed_and_derived_from_the_prefixes() -> None:
    for letter in PREFIX.values():  # a new kind's letter is an id letter everywhere
        assert is_evidence_id(f"{letter}7")
        assert cited_ids(f"seen [{letter}7]") == [f"{letter}7"]
    for bad in ("G01", "g1", "G0", "X1", "EGFR1", "G1a", " G1", ""):
        assert not is_evidence_id(bad), bad
    assert parse_id(" [i2] ") == "I2" and parse_id("I01") is None and parse_id("zoom") is None


def test_the_differential_and_the_answer_walk_ids_the_same_way() -> None:
    text = (
        '```json\n{"summary": "ACS", "red_flags": [{"text": "pain", "evidence": ["E2"]}], '
        '"diagnoses": [{"name": "NSTEMI", "likelihood": 0.6, '
        '"supporting": [{"text": "troponin", "evidence": ["E1", "G1"]}], '
        '"against": [{"text": "young", "evidence": ["G01"]}], '
        '"next_steps": [{"action": "ECG", "evidence": ["G2"]}]}]}\n```'
    )
    dx = parse_differential(text).differential
    assert dx is not None
    assert dx.cited_ids() == ["E2", "E1", "G1", "G01", "G2"]
    assert dx.malformed_ids() == ["G01"]
    record = dx.model_dump()
    assert collect_ids(record) == collect_ids(dx) == dx.cited_ids()


def test_the_stream_yields_the_record_the_state_holds(tmp_path: Path, monkeypatch: Any) -> None:
    agent, _ = make_agent(
        tmp_path,
        [call("lookup_guideline", topic="chest pain"), "Measure troponin [G1]."],
    )
    # No face needs the state after the turn: reading it would fail here.
    state_reads: list[str] = []
    real_get_state = agent.graph.get_state
    monkeypatch.setattr(agent.graph, "get_state", lambda *a, **k: state_reads.append("read"))
    events = list(agent.stream("Chest pain?"))
    assert state_reads == []
    monkeypatch.setattr(agent.graph, "get_state", real_get_state)

    last = events[-1]
    result = last["result"]
    assert isinstance(result, TurnResult) and last["type"] == "answer"
    stored = agent.state(result.session_id)["answer"]
    assert isinstance(stored, dict) and result.answer == stored  # the one record, plain data
    assert Answer.from_record(stored) == result.final
    # The plain part of the event is what --json and the service send.
    plain = {k: v for k, v in last.items() if k != "result"}
    assert plain == result.event()
    assert plain["references"][0]["excerpt"] == PASSAGES["chest pain"]
    assert plain["evidence"]["G1"]["kind"] == "guideline"
    # Every face renders that record the same way.
    assert result.markdown() == to_markdown(stored) == to_markdown(result.final)
    assert result.html() == to_html(stored)
    assert "[G1]" in result.markdown() and 'href="#ref-G1"' in result.html()


def test_ask_and_stream_give_the_same_record(tmp_path: Path) -> None:
    script = [call("lookup_guideline", topic="sepsis"), "Lactate first [G1]."] * 2
    agent, _ = make_agent(tmp_path, script)
    asked = agent.ask("Sepsis?")
    streamed = next(e for e in agent.stream("Sepsis?") if e["type"] == "answer")["result"]
    assert asked.to_json().keys() == streamed.to_json().keys()
    for key in ("text", "citations", "references", "produced_by", "claim_counts"):
        assert asked.answer[key] == streamed.answer[key], key
    assert asked.text == "Lactate first [G1]."


def test_a_record_round_trips_and_keeps_keys_a_newer_writer_added() -> None:
    record = {"text": "Seen [I1].", "produced_by": "model", "citations": ["I1"], "cost": 12}
    answer = Answer.from_record(record)
    assert answer.record()["cost"] == 12
    assert Answer.from_record(answer.record()) == answer
    result = TurnResult.of("s1", answer)
    out = result.to_json()
    assert out["session_id"] == "s1" and out["cost"] == 12 and "usage" not in out
    assert Answer.from_record(None).text == "" and to_markdown({}) == "_No answer this turn._"


def test_the_cli_json_and_live_paths_render_one_record(tmp_path: Path, capsys: Any) -> None:
    from agent.cli.consult import run_turn

    script = [call("lookup_guideline", topic="pneumonia"), "Chest film first [G1]."] * 2
    agent, _ = make_agent(tmp_path, script)
    kwargs: dict[str, Any] = {"session_id": None, "images": [], "patient_id": None, "mode": None}
    as_json = run_turn(agent, "Cough?", as_json=True, **kwargs)
    printed = json.loads(capsys.readouterr().out)
    live = run_turn(agent, "Cough?", as_json=False, report=tmp_path / "r.md", **kwargs)
    shown = capsys.readouterr().out
    assert printed == json.loads(json.dumps(as_json.to_json(), default=str))
    assert live.answer.keys() == as_json.answer.keys()
    for key in ("text", "citations", "references", "warnings", "produced_by"):
        assert live.answer[key] == as_json.answer[key], key
    assert "Chest film first" in shown and "lookup_guideline" in shown
    assert (tmp_path / "r.md").read_text(encoding="utf-8") == to_markdown(live.final) + "\n"


def test_evidence_gathered_but_not_cited_is_in_the_result(tmp_path: Path) -> None:
    """A client may cite next turn what this turn gathered: the result lists it (from the
    stream), though the answer's references hold only what it cites."""
    script = [call("lookup_guideline", topic="pneumonia"), "Passage gathered."]
    agent, _ = make_agent(tmp_path, script)
    result = agent.ask("Find the pneumonia passage.")
    assert result.answer["citations"] == [] and result.answer["references"] == []
    assert result.to_json()["evidence"]["G1"]["excerpt"] == PASSAGES["pneumonia"]


def test_a_vision_finding_is_an_id_everywhere_and_resolves_in_the_reports(tmp_path: Path) -> None:
    """``F#`` (the vision model's finding on images, split mode) is cited, resolved and
    linked like any other evidence."""
    ledger = EvidenceLedger()
    image = ledger.cite(
        "image",
        "sha-1",
        label="chest.png (frontal film)",
        citation={"path": str(chest_film(tmp_path / "chest.png")), "width": 480, "height": 420},
    )
    finding = ledger.cite(
        "finding",
        "f-1",
        label=f"Lingshu-7B on {image}: is there an opacity?",
        excerpt="Dense opacity in the right lower zone.",
        citation={"images": [image], "question": "is there an opacity?", "model": "Lingshu-7B"},
    )
    text = f"Right lower zone opacity [{finding}; I1]."
    answer = build_answer({"evidence": ledger.new_records}, text, produced_by="model")
    assert (finding, answer.citations, answer.unknown_citations) == ("F1", ["F1", "I1"], [])
    markdown = to_markdown(answer)
    assert "[F1] Finding of Lingshu-7B on I1: is there an opacity?" in markdown
    html = to_html(answer)
    entry = re.search(r'<li id="ref-F1">(.*?)</li>', html)
    assert entry is not None and "Dense opacity in the right lower zone." in entry.group(1)
    assert 'href="#ref-I1"' in entry.group(1)  # the finding points at the image it is about
    assert "Findings of the vision model" in html
