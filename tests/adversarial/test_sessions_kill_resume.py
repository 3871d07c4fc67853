"""A service killed (SIGKILL) in the middle of a turn, and started again on the same store:
the session is there, its lock went with the dead process, and the next turn is answered
with the earlier question in the model's context. Both runs are real ``lingshu serve``
processes reading the keys file ``lingshu api-key`` wrote, the second told its data
directory by ``--data-dir`` alone."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from agent.cli import app as cli
from tests.server.conftest import ServeProcess, serve_env
from tests.server.model_server import DelayedModelServer, user_texts
from tests.server.test_api import auth


def test_a_service_killed_mid_turn_resumes_the_session(tmp_path: Path) -> None:
    with DelayedModelServer(delay_s=0.0) as model:
        env = serve_env(tmp_path, base_url=model.base_url, server_lock_wait_s="5")
        del env["LINGSHU_SERVER_API_KEYS_FILE"]  # the default: DATA_DIR/api-keys.json
        data = Path(env["LINGSHU_DATA_DIR"])
        made = CliRunner().invoke(cli, ["api-key", "--name", "ward-a"], env=env)
        assert made.exit_code == 0, made.output
        key = made.stdout.split()[0]
        assert (data / "api-keys.json").exists()
        first = ServeProcess(env, tmp_path / "first.log")
        try:
            made = httpx.post(first.url + "/v1/sessions", json={}, headers=auth(key), timeout=30)
            sid = made.json()["session_id"]
            model.delay_s = 30.0  # the turn is in the model's hands when the service dies
            with httpx.Client(timeout=60) as http:
                pending = http.build_request(
                    "POST",
                    f"{first.url}/v1/sessions/{sid}/turns",
                    json={"text": "Killed mid-turn?"},
                    headers=auth(key),
                )
                stream = http.send(pending, stream=True)
                deadline = time.monotonic() + 30
                while not model.requests and time.monotonic() < deadline:
                    time.sleep(0.02)
                assert model.requests, "the turn never reached the model"
                os.kill(first.proc.pid, signal.SIGKILL)
                first.proc.wait(10)
                stream.close()
        finally:
            if first.proc.poll() is None:
                first.proc.kill()
            first.stop()
        model.delay_s = 0.0

        elsewhere = env | {"LINGSHU_DATA_DIR": str(tmp_path / "not-this-one")}
        second = ServeProcess(elsewhere, tmp_path / "second.log", "--data-dir", str(data))
        try:
            ready = httpx.get(second.url + "/readyz", timeout=10).json()
            assert ready["access"] == {"open": False, "keys": 1}
            assert httpx.get(second.url + "/v1/sessions", timeout=10).status_code == 401
            res = httpx.post(
                f"{second.url}/v1/sessions/{sid}/turns",
                json={"text": "Back again?"},
                headers=auth(key),
                timeout=60,
            )
            assert res.status_code == 200, res.text  # not 409: the dead worker's lock is gone
            seen = [t for t in user_texts(model.requests[-1]) if not t.startswith("<")]
            assert seen == ["Killed mid-turn?", "Back again?"], seen
            turns = httpx.get(f"{second.url}/v1/sessions/{sid}", headers=auth(key)).json()
            asked = [t["text"] for t in turns["turns"] if t["role"] == "user"]
            assert asked == ["Killed mid-turn?", "Back again?"], json.dumps(turns)[:500]
        finally:
            log = second.stop()
        assert f"1 API key(s) from {data / 'api-keys.json'}" in " ".join(log.split())
        assert not (tmp_path / "not-this-one" / "sessions.sqlite").exists()
