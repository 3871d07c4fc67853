"""Class 10, two writers on one session: real ``lingshu consult --session X`` processes, and
the service, on one SQLite session store and a slow loopback model server. Every face
takes the same per-session lock, so the turns run one after the other: both answers are
stored, and the later turn's model call saw the earlier turn (a writer that did not wait
would have read the session before the other's answer and overwritten it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from agent.cli import app as cli
from agent.server import create_app
from agent.session import Lingshu
from agent.settings import Settings
from tests.loopback import ThreadedUvicorn
from tests.server.model_server import DelayedModelServer, user_texts

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path, model: DelayedModelServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINGSHU_")}
    return env | {
        "LINGSHU_DATA_DIR": str(tmp_path / "data"),
        "LINGSHU_CONFIG": str(tmp_path / "none.toml"),
        "LINGSHU_BASE_URL": model.base_url,
        "LINGSHU_CONNECT_RETRIES": "0",
        "LINGSHU_SERVER_LOCK_WAIT_S": "90",
        "PYTHONPATH": str(ROOT),
    }


def _consult(env: dict[str, str], sid: str, text: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "agent.cli", "consult", "--json", "--session", sid, text]
    return subprocess.Popen(
        argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _questions_seen(model: DelayedModelServer) -> list[list[str]]:
    return [[t for t in user_texts(r) if not t.startswith("<")] for r in model.requests]


def test_two_cli_writers_on_one_session_both_keep_their_answer(tmp_path: Path) -> None:
    with DelayedModelServer(delay_s=4.0) as model:
        env = _env(tmp_path, model)
        sid = Lingshu(Settings(data_dir=tmp_path / "data")).new_session()
        procs = [_consult(env, sid, f"Question {name}") for name in ("A", "B")]
        outputs = [p.communicate(timeout=240) for p in procs]
        codes = [p.returncode for p in procs]
        seen = _questions_seen(model)
    assert codes == [0, 0], outputs
    answers = [json.loads(out.strip().splitlines()[-1])["text"] for out, _ in outputs]
    # One ran first; the other's model call carried the first question: serialised.
    assert sorted(len(s) for s in seen) == [1, 2], seen
    first, second = sorted(seen, key=len)
    assert second[0] == first[0] and second[1] != first[0]
    turns = Lingshu(Settings(data_dir=tmp_path / "data")).turns(sid)
    assert [t["role"] for t in turns] == ["user", "assistant"] * 2
    assert sorted(t["text"] for t in turns if t["role"] == "assistant") == sorted(answers)


def test_the_service_lock_holds_against_a_cli_on_the_same_store(tmp_path: Path) -> None:
    with DelayedModelServer(delay_s=0.0) as model:
        env = _env(tmp_path, model)
        settings = Settings(
            data_dir=tmp_path / "data",
            base_url=model.base_url,
            connect_retries=0,
            server_api_keys=[],
        )
        with (
            ThreadedUvicorn(create_app(settings)) as server,
            httpx.Client(base_url=server.url, timeout=120) as http,
        ):
            sid = http.post("/v1/sessions", json={}).json()["session_id"]
            # The CLI starts first (its imports take seconds); the service's turn then holds
            # the session while the model thinks, and the CLI arrives during that turn.
            model.delay_s = 8.0
            cli_proc = _consult(env, sid, "CLI turn")
            done: dict[str, Any] = {}
            turn = threading.Thread(
                target=lambda: done.update(
                    res=http.post(f"/v1/sessions/{sid}/turns", json={"text": "Service turn"})
                )
            )
            turn.start()
            deadline = time.monotonic() + 30
            while not model.requests and time.monotonic() < deadline:
                time.sleep(0.02)
            assert model.requests, "the service's turn never reached the model"
            model.delay_s = 0.0
            _, errs = cli_proc.communicate(timeout=240)
            turn.join(60)
            assert done["res"].status_code == 200, done["res"].text
            stored = http.get(f"/v1/sessions/{sid}").json()["turns"]
        seen = _questions_seen(model)
    assert cli_proc.returncode == 0, errs
    assert seen == [["Service turn"], ["Service turn", "CLI turn"]], seen
    assert [t["text"] for t in stored if t["role"] == "user"] == ["Service turn", "CLI turn"]
    assert len([t for t in stored if t["role"] == "assistant"]) == 2


def test_a_busy_session_is_refused_clearly_with_exit_code_2(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", server_lock_wait_s=0.2)
    agent = Lingshu(settings)
    sid = agent.new_session()
    with agent.hold(sid):  # another writer holds the session (a thread here: same lock)
        result = CliRunner().invoke(
            cli,
            ["consult", "--session", sid, "Anything?"],
            env={"LINGSHU_DATA_DIR": str(tmp_path / "data"), "LINGSHU_SERVER_LOCK_WAIT_S": "0.2"},
        )
    assert result.exit_code == 2, result.output
    assert f"session {sid} is busy" in result.stderr
    assert agent.turns(sid) == []


def test_the_lock_table_holds_only_turns_in_progress(tmp_path: Path) -> None:
    from agent.locks import SessionLocks

    locks = SessionLocks(lock_file=tmp_path / "sessions.locks")
    for i in range(200):
        with locks.hold(f"s{i}", 1.0):
            assert locks.in_use == 1
    assert locks.in_use == 0
    order: list[str] = []
    with locks.hold("same", 1.0):
        waiter = threading.Thread(target=lambda: _hold_then(locks, order))
        waiter.start()
        time.sleep(0.2)
        assert locks.in_use == 1 and order == []  # one session: one entry, held and waited on
        order.append("first")
    waiter.join(5)
    assert order == ["first", "second"] and locks.in_use == 0
    locks.close()


def _hold_then(locks: Any, order: list[str]) -> None:
    with locks.hold("same", 5.0):
        order.append("second")
