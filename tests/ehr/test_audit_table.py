"""``lingshu audit``: model calls, repairs and tool calls with their arguments and real durations,
laid out within 80 columns."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agent.cli import app
from knowledge.ehr import ensure_demo_patients
from tests.openai_server import serving

BAD_CALL = '<tool_call>{"name": "get_labs", "arguments": {}}</tool_call>'
GOOD_CALL = (
    '<tool_call>{"name": "get_labs", "arguments": {"name_or_loinc": "troponin"}}</tool_call>'
)


def test_audit_lists_model_calls_repairs_arguments_and_durations(tmp_path: Path) -> None:
    data = tmp_path / "lingshu-data"
    ensure_demo_patients(data / "ehr.sqlite").close()
    runner = CliRunner()
    replies = [{"content": BAD_CALL}, {"content": GOOD_CALL}, {"content": "Troponin rose [E17]."}]
    with serving(replies) as server:
        done = runner.invoke(
            app,
            [
                "consult",
                "--json",
                "--data-dir",
                str(data),
                "--base-url",
                server.base_url,
                "--patient",
                "chest-pain",
                "How is the troponin?",
            ],
        )
    assert done.exit_code in (0, 1), done.output
    session = json.loads(done.stdout.strip().splitlines()[-1])["session_id"]

    trail = runner.invoke(app, ["audit", session, "--json", "--data-dir", str(data)])
    entries = [json.loads(line) for line in trail.stdout.splitlines()]
    tools = [e["tool"] for e in entries]
    assert tools.count("model") == 3 and tools.count("repair") == 1
    assert tools.index("repair") > tools.index("model")
    labs = entries[tools.index("get_labs")]
    assert labs["args"] == {"name_or_loinc": "troponin"} and labs["ms"] > 0
    timed = {"model", "get_labs", "patient_summary", "red_flag_screen"}
    assert all(e["ms"] > 0 for e in entries if e["tool"] in timed)
    repair = entries[tools.index("repair")]
    assert any("name_or_loinc" in p for p in repair["args"]["problems"])

    table = runner.invoke(
        app, ["audit", session, "--data-dir", str(data)], env={"COLUMNS": "80"}, terminal_width=80
    )
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, "\n".join(lines)
    text = table.stdout
    assert 'get_labs(name_or_loinc="troponin")' in text
    assert "model call" in text and "repair sent to the model" in text
    assert "read 3: Observation/" in text
    rows = [line for line in lines if "get_labs(" in line]
    assert rows and not rows[0].rstrip().endswith(" 0.0")
