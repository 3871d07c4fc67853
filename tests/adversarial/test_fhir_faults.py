"""Fault injection: the FHIR server down, slow or failing. The model gets an error it can act
on, the turn is answered, and the session works again once the server is back.

A real FHIR server on loopback (tests/ehr/fhir_server.py), the real remote client opened
from settings, the real graph with the scripted model.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from agent.session import Lingshu
from agent.settings import Settings
from knowledge.patients import bundle_paths
from tests.ehr.fhir_server import FhirTestServer, ServerConfig
from tests.fakes import ScriptedChatModel
from tools.ehr import EHR_TOOLS

LABS = '<tool_call>{"name": "get_labs", "arguments": {"name_or_loinc": "troponin"}}</tool_call>'
CHEST_PAIN = [p for p in bundle_paths() if p.stem == "chest-pain"]


def _agent(tmp_path: Path, url: str, model: ScriptedChatModel) -> Lingshu:
    settings = Settings(
        data_dir=tmp_path / "data", fhir_base_url=url, fhir_timeout_s=0.3, fhir_retries=1
    )
    return Lingshu(settings, model=model, tools=EHR_TOOLS)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _check_failed_turn(agent: Lingshu, model: ScriptedChatModel, reason: str) -> str:
    started = time.perf_counter()
    result = agent.ask("How is the troponin?", patient_id="chest-pain")
    elapsed = time.perf_counter() - started
    assert elapsed < 15, f"the turn took {elapsed:.1f} s"
    assert result.answer["produced_by"] == "model"
    told = model.prompts[1][-1].text
    assert "Error: get_labs: The EHR could not be read" in told and reason in told
    assert "Continue without it and say that the record was unavailable" in told
    audit = agent.state(result.session_id)["audit"]
    labs = next(e for e in audit if e["tool"] == "get_labs")
    assert labs["status"] == "error" and reason in labs["error"]
    return result.session_id


def test_fhir_server_down(tmp_path: Path) -> None:
    model = ScriptedChatModel(script=[LABS, "The record was unavailable; no troponin to judge."])
    agent = _agent(tmp_path, f"http://127.0.0.1:{_closed_port()}/fhir", model)
    _check_failed_turn(agent, model, "cannot connect")


@pytest.mark.parametrize(
    ("config", "reason", "recover"),
    [
        (ServerConfig(delay_s=1.5), "timed out", {"delay_s": 0.0}),
        (ServerConfig(fail_times=10_000), "HTTP 503", {"fail_times": 0}),
    ],
    ids=["slow", "failing"],
)
def test_fhir_server_slow_or_failing_then_back(
    tmp_path: Path, config: ServerConfig, reason: str, recover: dict[str, float]
) -> None:
    model = ScriptedChatModel(
        script=[LABS, "The record was unavailable.", LABS, "Troponin rose to 96 ng/L [E1]."]
    )
    with FhirTestServer(CHEST_PAIN, config) as server:
        agent = _agent(tmp_path, server.base_url, model)
        session = _check_failed_turn(agent, model, reason)
        for key, value in recover.items():
            setattr(server.config, key, value)
        again = agent.ask("And now?", session_id=session)
    assert again.answer["produced_by"] == "model"
    shown = model.prompts[3][-1].text
    assert "96 ng/L" in shown and "Error" not in shown
    # the session kept both turns, and the second one read the record
    state = agent.state(session)
    assert state["turn"] == 2
    labs = [e for e in state["audit"] if e["tool"] == "get_labs"]
    assert [e["status"] for e in labs] == ["error", "ok"] and labs[1]["resources"]
