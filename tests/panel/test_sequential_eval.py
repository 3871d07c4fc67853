"""``lingshu eval Consult --arms agent,sequential``: the sequential arm plays the doctor in
sequential mode (its system prompt, the panel's nodes) beside the default agent."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agent.cli import app
from testing.model_server import DelayedModelServer
from tests.evals import datasets
from tests.evals.test_eval_command import clinic, lines


def test_the_sequential_arm_runs_the_consultations_in_sequential_mode(tmp_path: Path) -> None:
    datasets.consult(tmp_path / "data")
    out = tmp_path / "out"
    with DelayedModelServer(clinic) as server:
        result = CliRunner().invoke(
            app,
            ["eval", "Consult", "--data", str(tmp_path / "data"), "--out", str(out),
             "--base-url", server.base_url, "--arms", "agent,sequential"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        systems = [str(r["messages"][0]["content"]) for r in server.requests]
    summary = json.loads((out / "summary.json").read_text())["benchmarks"]["Consult"]["arms"]
    assert summary["sequential"]["score"] == summary["agent"]["score"] == 0.5
    sequential = {r["id"]: r for r in lines(out / "Consult" / "sequential.jsonl")}
    agent = {r["id"]: r for r in lines(out / "Consult" / "agent.jsonl")}
    first = sequential["agentclinic_medqa-1"]
    assert first["correct"] is True and first["metrics"]["questions"] == 1.0
    # the sequential doctor's answers carry the session's cost; the default agent's do not
    assert first["extra"]["costs"]["spent_usd"] == 0.0
    assert agent["agentclinic_medqa-1"]["extra"]["costs"] is None
    assert sum("# Task: sequential diagnosis" in s for s in systems) >= 2
    refused = CliRunner().invoke(
        app,
        ["eval", "Consult", "--data", str(tmp_path / "data"), "--out", str(out),
         "--arms", "sequentail"],
    )  # fmt: skip
    assert refused.exit_code != 0
    assert "arms must be among bare, agent, sequential" in refused.output
