"""Two ``lingshu serve`` processes on one session store (Postgres, or one SQLite file) serve
the same sessions, one turn at a time."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from agent.checkpoints import open_checkpointer
from agent.settings import Settings
from tests.server.conftest import KEY_A, KEY_B, ServeProcess, serve_env
from tests.server.model_server import DelayedModelServer


def test_postgres_checkpointer_round_trip(pg_url: str, tmp_path: Path) -> None:
    from langgraph.checkpoint.postgres import PostgresSaver

    saver = open_checkpointer(Settings(data_dir=tmp_path, checkpoint_url=pg_url))
    assert isinstance(saver, PostgresSaver)
    again = open_checkpointer(Settings(data_dir=tmp_path, checkpoint_url=pg_url))  # set-up twice
    assert again.get_tuple({"configurable": {"thread_id": "none"}}) is None


@pytest.mark.parametrize("store", ["postgres", "sqlite"])
def test_two_workers_share_sessions_and_serialise_turns(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    shared = {"checkpoint_url": request.getfixturevalue("pg_url")} if store == "postgres" else {}
    with DelayedModelServer() as model:
        env = serve_env(tmp_path, base_url=model.base_url, server_lock_wait_s="0", **shared)
        a = ServeProcess(env, tmp_path / "a.log")
        b = ServeProcess(env, tmp_path / "b.log")
        try:
            ha = {"Authorization": f"Bearer {KEY_A}"}
            with httpx.Client(timeout=60, headers=ha) as http:
                sid = http.post(a.url + "/v1/sessions", json={}).json()["session_id"]
                one = http.post(f"{a.url}/v1/sessions/{sid}/turns", json={"text": "first question"})
                assert one.status_code == 200, one.text
                assert one.json()["text"] == "Seen 1 questions: first question"
                # The next turn on the other worker continues the same session.
                two = http.post(f"{b.url}/v1/sessions/{sid}/turns", json={"text": "second one"})
                assert two.status_code == 200, two.text
                assert two.json()["text"] == "Seen 2 questions: first question | second one"
                turns = http.get(f"{a.url}/v1/sessions/{sid}").json()["turns"]
                assert [t["text"] for t in turns][::2] == ["first question", "second one"]

                other = httpx.get(
                    f"{b.url}/v1/sessions/{sid}", headers={"Authorization": f"Bearer {KEY_B}"}
                )
                assert other.status_code == 404

                # Concurrent turns on two workers: one runs, the other gets 409 at once.
                model.delay_s = 1.5
                results: list[httpx.Response] = []

                def ask(url: str, text: str) -> None:
                    results.append(http.post(f"{url}/v1/sessions/{sid}/turns", json={"text": text}))

                threads = [
                    threading.Thread(target=ask, args=(a.url, "third on A")),
                    threading.Thread(target=ask, args=(b.url, "third on B")),
                ]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                model.delay_s = 0.0
                codes = sorted(r.status_code for r in results)
                assert codes == [200, 409], [r.text for r in results]
                busy = next(r for r in results if r.status_code == 409).json()["detail"]
                assert "busy with another turn" in busy
                turns = http.get(f"{b.url}/v1/sessions/{sid}").json()["turns"]
                assert len(turns) == 6
                assert http.delete(f"{b.url}/v1/sessions/{sid}").status_code == 204
                assert http.get(f"{a.url}/v1/sessions/{sid}").status_code == 404
        finally:
            logs = a.stop() + b.stop()
    assert "POST /v1/sessions/{session_id}/turns 200" in logs
    assert sid not in logs


def _workers_answering(url: str, connections: int = 24) -> set[int]:
    """The worker pids that answer ``connections`` fresh connections (one request each)."""
    pids = set()
    for _ in range(connections):
        with httpx.Client(timeout=10) as fresh:
            pids.add(fresh.get(url + "/healthz").json()["worker"])
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_serve_with_two_worker_processes_on_sqlite(tmp_path: Path) -> None:
    with DelayedModelServer() as model:
        env = serve_env(tmp_path, base_url=model.base_url)
        server = ServeProcess(env, tmp_path / "serve.log", "--workers", "2")
        try:
            ha = {"Authorization": f"Bearer {KEY_A}"}
            with httpx.Client(timeout=60, headers=ha) as http:
                sids = [http.post(server.url + "/v1/sessions", json={}).json()["session_id"]]
                sids.append(http.post(server.url + "/v1/sessions", json={}).json()["session_id"])
                for sid in sids:
                    for text in ("first", "second"):
                        res = http.post(
                            f"{server.url}/v1/sessions/{sid}/turns", json={"text": text}
                        )
                        assert res.status_code == 200, res.text
                    assert res.json()["text"] == "Seen 2 questions: first | second"

            # New connections are spread over both workers (each has its own socket),
            # not all taken by whichever worker woke first.
            workers = _workers_answering(server.url)
            assert len(workers) == 2

            # A worker that dies is replaced; the sessions live on in the store.
            gone = workers.pop()
            os.kill(gone, signal.SIGKILL)
            deadline = time.monotonic() + 60
            while True:
                now = _workers_answering(server.url, 8)
                if len(now) == 2 and gone not in now:
                    break
                assert time.monotonic() < deadline, f"no replacement worker: {now}"
                time.sleep(0.5)
            with httpx.Client(timeout=60, headers=ha) as http:
                res = http.post(f"{server.url}/v1/sessions/{sids[0]}/turns", json={"text": "third"})
            assert res.json()["text"] == "Seen 3 questions: first | second | third"
            serving = _workers_answering(server.url)
        finally:
            logs = server.stop()
    assert gone not in serving and len(serving) == 2
    assert not any(_alive(pid) for pid in serving)  # stopping the service stops its workers
    assert logs.count("Application startup complete") == 3, logs[-2000:]
    assert "restarting it" in logs


@pytest.mark.parametrize("patients", [["sepsis"], None])
def test_api_key_command_stores_only_the_hash(tmp_path: Path, patients: list[str] | None) -> None:
    import json

    from typer.testing import CliRunner

    from agent.cli import app
    from agent.server.auth import KeyRing

    target = tmp_path / "keys.json"
    args = ["api-key", "--name", "ward-c", "--keys-file", str(target)]
    for p in patients or []:
        args += ["--patient", p]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("lsk-") and key not in target.read_text()
    ring = KeyRing(json.loads(target.read_text())["keys"])
    found = ring.identify(key)
    assert found is not None and found.name == "ward-c"
    assert found.may_open("sepsis") and found.may_open("chest-pain") is (patients is None)
    assert ring.identify(key + "x") is None


def test_langgraph_json_names_a_graph_factory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import importlib.util
    import inspect
    import json

    from tests.server.conftest import ROOT

    config = json.loads((ROOT / "langgraph.json").read_text())
    path, _, name = config["graphs"]["lingshu"].partition(":")
    spec = importlib.util.spec_from_file_location("lingshu_langgraph_app", ROOT / path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setenv("LINGSHU_DATA_DIR", str(tmp_path / "data"))
    graph = getattr(module, name)()
    if inspect.isawaitable(graph):  # an async factory: langgraph-api awaits it
        graph = asyncio.run(graph)
    assert {"intake", "reason", "act", "verify", "respond"} <= set(graph.get_graph().nodes)


def test_workers_on_a_port_already_taken_fail_clearly(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = [sys.executable, "-m", "agent.cli", "serve", "--port", str(port), "--workers", "2"]
        done = subprocess.run(
            argv, env=serve_env(tmp_path), capture_output=True, text=True, timeout=120
        )
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
