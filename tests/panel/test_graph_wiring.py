"""The roles as LangGraph nodes: real reducers, a real checkpointer, two turns of a thread."""

from __future__ import annotations

import json
import operator
from pathlib import Path
from typing import Annotated, Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

from agent.panel import PanelState, panel_nodes, session_costs
from testing.fakes import ScriptedChatModel
from tests.panel.cases import context, dx, turn_state


class State(PanelState, total=False):
    turn: int
    patient_id: str
    answer: dict[str, Any] | None
    audit: Annotated[list[dict[str, Any]], operator.add]


def test_the_panel_runs_as_nodes_and_its_state_survives_the_checkpointer(tmp_path: Path) -> None:
    reply = json.dumps({"alternative": "Pulmonary embolism", "falsifying_test": "D-dimer"})
    ctx = context(tmp_path, ScriptedChatModel(script=[reply, reply]))
    builder = StateGraph(State)
    names = []
    for name, node in panel_nodes(ctx):
        builder.add_node(name, node)
        builder.add_edge(names[-1] if names else START, name)
        names.append(name)
    builder.add_edge(names[-1], END)
    graph = builder.compile(checkpointer=InMemorySaver())
    thread = {"configurable": {"thread_id": "t1"}}
    graph.invoke(
        turn_state(
            1,
            dx("NSTEMI", "I21.4", 0.45, (("troponin", "test"),)),
            dx("Pulmonary embolism", "I26.99", 0.35, (("D-dimer", "test"),)),
        ),
        thread,
    )
    state = graph.invoke(
        turn_state(
            2,
            dx("NSTEMI", "I21.4", 0.6, (("troponin", "test"),)),
            dx("Pulmonary embolism", "I26.99", 0.2, (("CTPA", "imaging"),)),
        ),
        thread,
    )
    nstemi = next(h for h in state["hypotheses"] if h["name"] == "NSTEMI")
    assert [s["probability"] for s in nstemi["history"]] == [0.45, 0.6]
    assert [(a["turn"], a["code"]) for a in state["actions"]] == [(1, "85379"), (2, "84484")]
    assert state["panel"]["turn"] == 2 and set(state["panel"]) >= {
        "keeper",
        "chooser",
        "challenger",
        "stewardship",
        "checklist",
    }
    assert len(state["audit"]) == 10 and state["audit"][-1]["tool"] == "panel:checklist"
    assert session_costs(state)["spent_usd"] == 14.0
