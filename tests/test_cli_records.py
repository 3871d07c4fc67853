"""``lingshu patients`` and ``lingshu audit``: what was read, when, for whom."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agent.cli import app
from knowledge.ehr import ensure_demo_patients
from tests.openai_server import serving


def test_patients_and_audit_trail(tmp_path: Path) -> None:
    data = tmp_path / "lingshu-data"
    ensure_demo_patients(data / "ehr.sqlite")
    runner = CliRunner()
    listing = runner.invoke(app, ["patients", "--data-dir", str(data)])
    assert listing.exit_code == 0 and "chest-pain" in listing.stdout and "sepsis" in listing.stdout

    replies = [
        {
            "content": '<tool_call>{"name": "get_labs", "arguments": {"name_or_loinc": "troponin"}}</tool_call>'
        },
        {"content": "The troponin is rising [E1]."},
    ]
    with serving(replies) as server:
        result = runner.invoke(
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
    assert result.exit_code == 0, result.output
    session = json.loads(result.stdout.strip().splitlines()[-1])["session_id"]
    trail = runner.invoke(app, ["audit", session, "--json", "--data-dir", str(data)])
    entries = [json.loads(line) for line in trail.stdout.splitlines()]
    tools = [e["tool"] for e in entries]
    assert tools[:2] == ["patient_summary", "red_flag_screen"] and "get_labs" in tools
    labs = entries[tools.index("get_labs")]
    assert (
        labs["patient_id"] == "chest-pain" and labs["turn"] == 1 and labs["time"].startswith("20")
    )
    assert labs["resources"] and all(r.startswith("Observation/") for r in labs["resources"])
    assert all(e["patient_id"] == "chest-pain" for e in entries)
    table = runner.invoke(app, ["audit", session, "--data-dir", str(data)])
    assert "get_labs" in table.stdout
    missing = runner.invoke(app, ["audit", "nope", "--data-dir", str(data)])
    assert missing.exit_code == 2 and "no session 'nope'" in missing.stderr
