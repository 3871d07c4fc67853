"""A ``lingshu serve`` process killed (SIGKILL) while a question to the clinician is
pending; a new process on the same data directory takes the answer and ends the turn."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx

from testing.openai_server import serving
from testing.serve import ServeProcess
from tests.questions.conftest import QUESTION, asking
from tests.server.conftest import KEY_A, serve_env


def test_a_pending_question_survives_a_killed_service(tmp_path: Path) -> None:
    replies = [{"content": asking()}, {"content": "No travel, so ACS comes first."}]
    auth = {"Authorization": f"Bearer {KEY_A}"}
    with serving(replies) as model:
        env = serve_env(tmp_path, base_url=model.base_url)
        first = ServeProcess(env, tmp_path / "first.log")
        try:
            sid = httpx.post(first.url + "/v1/sessions", json={}, headers=auth, timeout=30).json()[
                "session_id"
            ]
            asked = httpx.post(
                f"{first.url}/v1/sessions/{sid}/turns",
                json={"text": "Chest pain, what first?"},
                headers=auth,
                timeout=60,
            )
            assert asked.json()["question"]["question"] == QUESTION, asked.text
            os.kill(first.proc.pid, signal.SIGKILL)
            first.proc.wait(10)
        finally:
            if first.proc.poll() is None:
                first.proc.kill()
            first.stop()

        second = ServeProcess(env, tmp_path / "second.log")
        try:
            got = httpx.get(f"{second.url}/v1/sessions/{sid}", headers=auth, timeout=30).json()
            assert got["question"]["question"] == QUESTION
            done = httpx.post(
                f"{second.url}/v1/sessions/{sid}/answer",
                json={"text": "He has not travelled."},
                headers=auth,
                timeout=60,
            )
            assert done.status_code == 200, done.text
            assert done.json()["text"] == "No travel, so ACS comes first."
        finally:
            second.stop()
    said = [m for m in model.requests[-1]["messages"] if m["role"] != "system"]
    assert [m["content"] for m in said][-2:] == [QUESTION, "He has not travelled."]
