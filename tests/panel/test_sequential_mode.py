"""Sequential mode through the real graph: the panel's nodes between verify and respond,
the kept differential in a SQLite-checkpointed session, the cost in the answer and reports."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from langchain_core.tools import tool
from langgraph.prebuilt import ToolRuntime

from agent.graph import build_graph
from agent.report import render_html, to_markdown
from agent.session import InputError, Lingshu
from agent.settings import Settings
from testing.fakes import ScriptedChatModel, call
from testing.openai_server import faulty, serving
from tests.panel.cases import price_file
from tools.runtime import ToolArtifact, ToolContext

PASSAGE = "High-sensitivity troponin is the preferred biomarker for myocardial injury."
ROLES = ["keeper", "chooser", "challenger", "stewardship", "checklist"]


@tool(parse_docstring=True, response_format="content_and_artifact")
def lookup_guideline(
    topic: str, runtime: ToolRuntime[ToolContext, Any]
) -> tuple[str, ToolArtifact]:
    """Look up the guideline passage on a topic.

    Args:
        topic: The clinical topic, e.g. "chest pain".
    """
    eid = runtime.context.ledger.cite(
        "guideline", f"chunk-{topic}", label=f"Test guideline: {topic}", excerpt=PASSAGE
    )
    return f'<guideline id="{eid}">{PASSAGE}</guideline>', {"evidence": [eid]}


def dx(name: str, code: str, p: float, step: str, kind: str = "test") -> dict[str, Any]:
    return {
        "name": name,
        "icd10": code,
        "likelihood": p,
        "supporting": [{"text": PASSAGE, "evidence": ["G1"]}],
        "against": [],
        "next_steps": [{"action": step, "kind": kind, "why": "separates", "evidence": ["G1"]}],
    }


def differential(*diagnoses: dict[str, Any]) -> str:
    body = {"summary": "chest pain", "red_flags": [], "diagnoses": list(diagnoses), "missing": []}
    return f"```json\n{json.dumps(body)}\n```\nThe panel weighs the next test."


CHALLENGE = json.dumps(
    {
        "alternative": "Pulmonary embolism",
        "icd10": "I26.99",
        "argument": "Pleuritic pain and tachycardia fit an embolus as well.",
        "falsifying_test": "CTPA",
        "kind": "imaging",
    }
)
WEAK = differential(
    dx("NSTEMI", "I21.4", 0.45, "troponin"), dx("Pulmonary embolism", "I26.99", 0.35, "D-dimer")
)
STRONG = differential(
    dx("NSTEMI", "I21.4", 0.7, "troponin"),
    dx("Pulmonary embolism", "I26.99", 0.2, "CTPA", "imaging"),
)


def agent_for(tmp_path: Path, script: list[Any], **overrides: Any) -> Lingshu:
    settings = Settings(
        data_dir=tmp_path / "data", price_table=price_file(tmp_path), mode="sequential", **overrides
    )
    return Lingshu(settings, model=ScriptedChatModel(script=script), tools=[lookup_guideline])


def test_the_kept_differential_persists_across_turns_and_processes(tmp_path: Path) -> None:
    first = agent_for(tmp_path, [call("lookup_guideline", topic="chest pain"), WEAK, CHALLENGE])
    one = first.ask("62-year-old with chest pain and tachycardia. Differential?")
    assert [(h["name"], h["probability"]) for h in one.answer["hypotheses"]] == [
        ("NSTEMI", 0.45),
        ("Pulmonary embolism", 0.35),
    ]
    # a second Lingshu over the same SQLite session store: nothing is kept in memory
    second = agent_for(tmp_path, [STRONG, CHALLENGE])
    two = second.ask("Troponin is rising. Update?", session_id=one.session_id)
    kept = {h["name"]: [s["probability"] for s in h["history"]] for h in two.answer["hypotheses"]}
    assert kept == {"NSTEMI": [0.45, 0.7], "Pulmonary embolism": [0.35, 0.2]}
    state = second.state(one.session_id)
    assert [h["probability"] for h in state["hypotheses"]] == [0.7, 0.2]
    assert [(a["turn"], a["action"]) for a in state["actions"]] == [(1, "CTPA"), (2, "troponin")]


def test_each_role_is_audited_and_reported_and_cost_is_totalled(tmp_path: Path) -> None:
    agent = agent_for(
        tmp_path, [call("lookup_guideline", topic="chest pain"), WEAK, CHALLENGE, STRONG, CHALLENGE]
    )
    one = agent.ask("Chest pain, differential?")
    two = agent.ask("Troponin is rising. Update?", session_id=one.session_id)
    audit = agent.state(one.session_id)["audit"]
    for turn in (1, 2):
        roles = [e["tool"] for e in audit if e["turn"] == turn and e["tool"].startswith("panel:")]
        assert roles == [f"panel:{r}" for r in ROLES]
    answer = two.answer
    assert set(answer["panel"]) >= {"turn", *ROLES} and answer["panel"]["turn"] == 2
    # turn 1's test (the CTPA, $350 in the fixture table) is spent; troponin ($12) proposed
    costs = answer["costs"]
    assert costs["spent_usd"] == 350.0 and costs["proposed"]["action"] == "troponin"
    assert costs["with_proposed_usd"] == 362.0
    assert answer["next_action"]["price_usd"] == 12.0
    line = "Tests so far: $350.00; proposed next: troponin ($12.00)."
    markdown = to_markdown(answer)
    assert line in markdown and "| NSTEMI | I21.4 | 0.70 | 0.45 -> 0.70 |" in markdown
    assert "**Checklist:** passed" in markdown and "falsifying test: CTPA" in markdown
    page = render_html(answer)
    assert '<section id="panel"' in page and "Tests so far: $350.00" in page
    assert "<td>0.45 -&gt; 0.70</td>" in page


def test_the_challenger_replaces_the_test_when_the_leader_is_weak(tmp_path: Path) -> None:
    agent = agent_for(
        tmp_path, [call("lookup_guideline", topic="chest pain"), WEAK, CHALLENGE, STRONG, CHALLENGE]
    )
    first = agent.ask("Chest pain, differential?")
    weak = first.answer
    assert weak["next_action"]["action"] == "CTPA"
    assert weak["next_action"]["chosen_by"] == "challenger"
    displaced = weak["panel"]["challenger"]["displaced"]
    assert displaced["action"] in {"troponin", "D-dimer"} and "chosen_by" not in displaced
    assert displaced["action"] in weak["panel"]["challenger"]["decision"]
    strong = agent.ask("Troponin is rising. Update?", session_id=first.session_id).answer
    assert strong["next_action"].get("chosen_by", "chooser") == "chooser"
    assert "the chooser's pick stands" in strong["panel"]["challenger"]["decision"]


def test_a_turn_without_a_model_keeps_the_differential_and_proposes_nothing(
    tmp_path: Path,
) -> None:
    agent = agent_for(
        tmp_path,
        [call("lookup_guideline", topic="chest pain"), WEAK, CHALLENGE, ConnectionError("down")],
    )
    one = agent.ask("Chest pain, differential?")
    down = agent.ask("And now?", session_id=one.session_id).answer
    assert down["produced_by"] == "evidence_brief"
    assert [h["probability"] for h in down["hypotheses"]] == [0.45, 0.35]
    assert down["next_action"] is None and down["panel"] == {}
    assert down["costs"]["spent_usd"] == 350.0 and down["costs"]["proposed"] is None
    assert "Tests so far: $350.00." in to_markdown(down)


def test_other_modes_never_reach_the_panel(tmp_path: Path) -> None:
    script = [call("lookup_guideline", topic="chest pain"), WEAK]
    settings = Settings(data_dir=tmp_path / "data", price_table=price_file(tmp_path))
    model = ScriptedChatModel(script=script)
    agent = Lingshu(settings, model=model, tools=[lookup_guideline])
    result = agent.ask("Chest pain, differential?")
    answer = result.answer
    assert answer["mode"] == "clinical" and answer["differential"]["diagnoses"]
    assert answer["hypotheses"] == [] and answer["next_action"] is None
    assert answer["costs"] is None and answer["panel"] == {}
    state = agent.state(result.session_id)
    assert not [e for e in state["audit"] if e["tool"].startswith("panel:")]
    assert "hypotheses" not in state and "## Panel" not in to_markdown(answer)
    assert "sequential" not in model.prompt_text(0).lower()  # the clinical prompt as it was


def test_the_panel_nodes_are_in_the_graph_after_verify(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    compiled = build_graph(settings, model=ScriptedChatModel(), tools=[lookup_guideline])
    graph = compiled.get_graph()
    edges = {(e.source, e.target) for e in graph.edges}
    chain = ["verify", *(f"panel_{r}" for r in ROLES), "respond"]
    assert set(pairwise(chain)) <= edges
    assert ("verify", "respond") in edges and ("verify", "reason") in edges


def test_the_challenger_runs_on_its_own_endpoint_when_one_is_set(tmp_path: Path) -> None:
    with serving([{"content": CHALLENGE}]) as critic:
        roles = {"challenger": {"base_url": critic.base_url, "model": "critic"}}
        # the session's model has no challenge scripted: only the critic can give it
        agent = agent_for(
            tmp_path, [call("lookup_guideline", topic="chest pain"), WEAK], panel_roles=roles
        )
        answer = agent.ask("Chest pain, differential?").answer
    assert [r["model"] for r in critic.requests] == ["critic"]
    assert answer["next_action"]["action"] == "CTPA"
    assert answer["panel"]["challenger"]["challenge"]["alternative"] == "Pulmonary embolism"


def test_an_unknown_mode_is_refused_before_the_session_is_touched(tmp_path: Path) -> None:
    agent = agent_for(tmp_path, [call("lookup_guideline", topic="chest pain"), WEAK, CHALLENGE])
    one = agent.ask("Chest pain, differential?")
    before = agent.state(one.session_id)
    with pytest.raises(InputError, match=r"unknown mode 'sequentail'; modes: .*sequential"):
        agent.ask("Again?", session_id=one.session_id, mode="sequentail")
    after = agent.state(one.session_id)
    assert after["messages"] == before["messages"] and after["turn"] == 1


def test_the_challengers_words_stay_text_in_every_report(tmp_path: Path) -> None:
    hostile = json.loads(CHALLENGE) | {
        "argument": "<script>window.pwned=1</script> see [this](javascript:alert(1)) | x"
    }
    agent = agent_for(
        tmp_path, [call("lookup_guideline", topic="chest pain"), WEAK, json.dumps(hostile)]
    )
    answer = agent.ask("Chest pain, differential?").answer
    assert "javascript:alert(1)" in answer["panel"]["challenger"]["challenge"]["argument"]
    page = render_html(answer)
    assert "<script>window.pwned" not in page and 'href="javascript:' not in page
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in page
    markdown = to_markdown(answer)
    assert "<script>" not in markdown and "&lt;script>window.pwned=1&lt;/script>" in markdown
    assert "[this](javascript:" not in markdown and "\\[this\\](javascript:" in markdown


def test_the_panel_commits_when_the_leader_is_certain_enough(tmp_path: Path) -> None:
    certain = differential(
        dx("NSTEMI", "I21.4", 0.92, "coronary angiography"),
        dx("Pulmonary embolism", "I26.99", 0.03, "CTPA", "imaging"),
    )
    agent = agent_for(
        tmp_path,
        [call("lookup_guideline", topic="chest pain"), WEAK, CHALLENGE, certain, CHALLENGE],
    )
    one = agent.ask("Chest pain, differential?")
    done = agent.ask("Troponin 2,000 ng/L, ST depression. Update?", session_id=one.session_id)
    answer = done.answer
    assert answer["next_action"] is None and answer["panel"]["chooser"]["committed"] == "NSTEMI"
    assert answer["costs"]["proposed"] is None and answer["costs"]["spent_usd"] == 350.0
    assert answer["panel"]["stewardship"]["final"] is None
    markdown = to_markdown(answer)
    assert "**Next action:** none (committed to NSTEMI (p=0.92 >= 0.90)" in markdown
    assert "Tests so far: $350.00." in markdown
    assert [a["turn"] for a in agent.state(one.session_id)["actions"]] == [1]


def test_a_failing_challenger_endpoint_is_recorded_and_the_turn_still_answers(
    tmp_path: Path,
) -> None:
    with faulty(["status_500", "status_500", "status_500"]) as critic:
        roles = {"challenger": {"base_url": critic.base_url, "model": "critic"}}
        agent = agent_for(
            tmp_path,
            [call("lookup_guideline", topic="chest pain"), WEAK],
            panel_roles=roles,
            connect_retries=0,
        )
        result = agent.ask("Chest pain, differential?")
    answer = result.answer
    assert answer["produced_by"] == "model" and answer["hypotheses"]
    assert answer["panel"]["challenger"]["note"] == "model call failed"
    assert "500" in answer["panel"]["challenger"]["error"]
    assert answer["next_action"]["action"] != "CTPA"  # no challenge: the chooser's pick stands
    entry = next(
        e for e in agent.state(result.session_id)["audit"] if e["tool"] == "panel:challenger"
    )
    assert entry["status"] == "error" and "500" in entry["error"]
    assert "**Challenger:**" in to_markdown(answer) and "500" in to_markdown(answer)
