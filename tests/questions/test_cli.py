"""Questions back to the clinician in the terminal: ``lingshu chat`` and ``lingshu consult``
as processes, against a loopback OpenAI-wire model server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from testing.openai_server import serving
from tests.questions.conftest import QUESTION, asking

ROOT = Path(__file__).resolve().parents[2]


def lingshu(*args: str, base_url: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "LINGSHU_BASE_URL": base_url, "COLUMNS": "200", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "agent.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_chat_shows_the_question_and_the_typed_reply_resumes() -> None:
    replies = [{"content": asking()}, {"content": "No travel, so ACS comes first."}]
    with serving(replies) as server:
        proc = lingshu(
            "chat", base_url=server.base_url, stdin="Chest pain, what first?\nNo travel.\n/quit\n"
        )
    assert proc.returncode == 0, proc.stderr
    assert f"The agent asks: {QUESTION}" in proc.stdout
    assert "answer>" in proc.stdout and "No travel, so ACS comes first." in proc.stdout
    sent = server.requests[-1]["messages"]
    said = [(m["role"], m["content"]) for m in sent if m["role"] != "system"]
    assert said[-2:] == [("assistant", QUESTION), ("user", "No travel.")]


def test_consult_exits_4_at_a_question_and_session_resumes() -> None:
    replies = [{"content": asking()}, {"content": "No travel, so ACS comes first."}]
    with serving(replies) as server:
        asked = lingshu("consult", "--json", "Chest pain, what first?", base_url=server.base_url)
        assert asked.returncode == 4, asked.stderr
        body = json.loads(asked.stdout)
        assert body["question"]["question"] == QUESTION and body["produced_by"] == "question"
        sid = body["session_id"]
        done = lingshu("consult", "--session", sid, "No travel.", base_url=server.base_url)
    assert done.returncode == 0, done.stderr
    assert "No travel, so ACS comes first." in done.stdout
