"""`langgraph dev` (LangGraph Studio's server) runs the agent with its stores and tools.

langgraph-api calls the graph factory on its event loop and refuses blocking calls
there; the stores used to be dropped with a log line and the run "succeeded" with no
evidence. Here a real ``langgraph dev`` (the ``studio`` extra, offline, in-memory)
serves langgraph.json; a run for a patient gets the EHR and guideline tools, calls one
through a real loopback model server, and answers citing what it found.

The ``studio`` extra cannot share an environment with the ``dev`` extra (jsonschema-rs:
see pyproject.toml), so the end-to-end test is skipped where ``langgraph_api`` is not
installed; the test below it (an unavailable store is a warning in the answer) always runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from agent.session import Lingshu
from agent.settings import Settings
from tests.loopback import free_port
from tests.openai_server import serving

ROOT = Path(__file__).resolve().parents[2]

GUIDELINE = """---
title: 'Chest pain assessment (test summary)'
publisher: 'Lingshu test suite'
year: 2026
url: 'https://example.org/chest-pain'
tags: [cardiology]
---
# Chest pain assessment

## First steps

In acute chest pain, record a 12-lead ECG within 10 minutes and measure
high-sensitivity troponin at presentation and again at one to three hours.
"""


def _stores(data: Path) -> None:
    from knowledge.ehr import ensure_demo_patients
    from knowledge.guidelines import GuidelineStore, ingest_paths

    source = data / "docs" / "chest-pain.md"
    source.parent.mkdir(parents=True)
    source.write_text(GUIDELINE, encoding="utf-8")
    report = ingest_paths(GuidelineStore.open(data / "guidelines"), [source])
    assert not report.failed
    ensure_demo_patients(data / "ehr.sqlite").close()


def _wait_ok(url: str, proc: subprocess.Popen[str], limit_s: float = 150) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"langgraph dev exited {proc.returncode}")
        try:
            if httpx.get(url + "/ok", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError("langgraph dev did not start")


def test_langgraph_dev_runs_the_agent_with_its_stores_and_tools(tmp_path: Path) -> None:
    pytest.importorskip("langgraph_api", reason="the studio extra is not installed")
    cli = shutil.which("langgraph", path=str(Path(sys.executable).parent))
    if cli is None:
        pytest.skip("the langgraph CLI is not installed")
    data = tmp_path / "data"
    _stores(data)
    search = '<tool_call>{"name": "search_guidelines", "arguments": {"query": "chest pain"}}'
    replies = [
        {"content": search + "</tool_call>"},
        {"content": "Record an ECG within 10 minutes and measure troponin [G1]."},
    ]
    port = free_port()
    log = tmp_path / "langgraph-dev.log"
    with serving(replies) as model, log.open("w") as out:
        env = {
            **os.environ,
            "LINGSHU_DATA_DIR": str(data),
            "LINGSHU_BASE_URL": model.base_url,
            "LANGSMITH_TRACING": "false",
            "LANGGRAPH_NO_ANALYTICS": "1",
        }
        args = [cli, "dev", "--no-browser", "--no-reload", "--port", str(port)]
        # langgraph.json's paths are read from the working directory; the server's state
        # (.langgraph_api/) lands there too, and is git-ignored.
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_ok(url, proc)
            body = {
                "assistant_id": "lingshu",
                "input": {
                    "messages": [{"role": "user", "content": "Chest pain since 8 am. Next?"}],
                    "patient_id": "chest-pain",
                },
            }
            state = httpx.post(url + "/runs/wait", json=body, timeout=240).json()
        finally:
            proc.terminate()
            proc.wait(30)
    answer = state["answer"]
    assert answer["produced_by"] == "model", (answer.get("model_error"), answer["warnings"])
    assert "G1" in answer["citations"]
    assert "12-lead ECG" in state["evidence"]["G1"]["excerpt"]
    assert any(e.startswith("E") for e in state["evidence"])  # the record's synopsis
    assert not [w for w in answer["warnings"] if "unavailable" in w]
    system = model.requests[0]["messages"][0]["content"]
    for tool in ("search_guidelines", "get_labs"):
        assert f'"name": "{tool}"' in system, tool
    assert "Blocking call" not in log.read_text()


def test_a_store_that_cannot_be_opened_is_a_warning_in_every_answer(tmp_path: Path) -> None:
    """Never dropped in silence: the answer, /readyz and `lingshu doctor` all say it."""
    from typer.testing import CliRunner

    from agent.cli import app
    from agent.server import create_app
    from tests.loopback import ThreadedUvicorn

    data = tmp_path / "data"
    data.mkdir()
    (data / "ehr.sqlite").write_bytes(b"not a database " * 20)
    with serving([{"content": "An answer without the record."}]) as model:
        settings = Settings(data_dir=data, base_url=model.base_url)
        agent = Lingshu(settings)
        result = agent.ask("Chest pain?")
        with ThreadedUvicorn(create_app(settings), lifespan="on") as service:
            ready = httpx.get(service.url + "/readyz", timeout=30).json()
    assert result.answer["produced_by"] == "model"
    (warning,) = [w for w in result.answer["warnings"] if "unavailable" in w]
    assert warning.startswith("store unavailable, its tools not offered: ehr:")
    assert "not a database" in warning
    assert json.dumps(agent.resources.problems).count("ehr") == 1
    assert ready["stores"]["ehr"] is False
    assert any("not a database" in p for p in ready["stores"]["problems"])
    doctor = CliRunner().invoke(app, ["doctor", "--data-dir", str(data)])
    assert "not a database" in " ".join(doctor.stdout.split()), doctor.stdout
