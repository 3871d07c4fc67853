"""Class 2, grants: a session belongs to the key that made it (its identity, not its name),
key names are unique, every access to an existing session re-checks the caller's patient
grant, ``lingshu serve`` reads the keys file ``lingshu api-key`` writes (under the
``--data-dir`` it is given), and an open service says so and keeps to loopback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from agent.cli import app as cli
from agent.server.auth import KeyRing, key_entry
from agent.settings import Settings
from tests.loopback import ThreadedUvicorn
from tests.server.conftest import ehr_path, make_service
from tests.server.test_api import auth, data_url, png_bytes

__all__ = ["ehr_path"]  # the fixture, shared with the service tests
OLD, NEW = "lsk-grants-old", "lsk-grants-new"


def _app(tmp_path: Path, ehr: Path, entries: list[dict[str, object]]) -> object:
    app, _ = make_service(tmp_path, ["Troponin first."] * 4, ehr, server_api_keys=entries)
    return app


def test_ownership_is_the_key_and_grants_are_rechecked(tmp_path: Path, ehr_path: Path) -> None:
    first = _app(tmp_path, ehr_path, [key_entry("ward-a", OLD, None)])
    with ThreadedUvicorn(first) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        made = http.post("/v1/sessions", json={"patient_id": "chest-pain"}, headers=auth(OLD))
        sid = made.json()["session_id"]
        body = {"text": "Chest pain?", "images": [data_url(png_bytes(64, 64))]}
        assert http.post(f"/v1/sessions/{sid}/turns", json=body, headers=auth(OLD)).is_success

    # The same name on another key (the old key retired): none of the old key's sessions.
    renamed = _app(tmp_path, ehr_path, [key_entry("ward-a", NEW, None)])
    with ThreadedUvicorn(renamed) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.get("/v1/sessions", headers=auth(NEW)).json() == []
        assert http.get(f"/v1/sessions/{sid}", headers=auth(NEW)).status_code == 404

    # The old key, its grant narrowed to sepsis: every access to the chest-pain session is
    # refused (and it is not listed), while the session itself is kept.
    narrowed = _app(tmp_path, ehr_path, [key_entry("ward-a", OLD, ["sepsis"])])
    with ThreadedUvicorn(narrowed) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        h = auth(OLD)
        assert http.get("/v1/sessions", headers=h).json() == []
        attempts = [
            ("GET", f"/v1/sessions/{sid}", None, {}),
            ("GET", f"/v1/sessions/{sid}/images/I1", None, {}),
            ("POST", f"/v1/sessions/{sid}/turns", {"text": "More?"}, {}),
            (
                "POST",
                f"/v1/sessions/{sid}/turns",
                {"text": "More?"},
                {"Accept": "text/event-stream"},
            ),
            ("DELETE", f"/v1/sessions/{sid}", None, {}),
        ]
        for method, path, payload, extra in attempts:
            res = http.request(method, path, json=payload, headers={**h, **extra})
            assert res.status_code == 403, (method, path, res.status_code, res.text)
            assert "chest-pain" in res.json()["detail"]
        chat = http.post(
            "/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "More?"}]},
            headers={**h, "X-Lingshu-Session": sid},
        )
        assert chat.status_code == 403, chat.text

    restored = _app(tmp_path, ehr_path, [key_entry("ward-a", OLD, None)])
    with ThreadedUvicorn(restored) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        got = http.get(f"/v1/sessions/{sid}", headers=auth(OLD)).json()
        assert [t["role"] for t in got["turns"]] == ["user", "assistant"]


def test_duplicate_key_names_are_refused_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="two API keys are named 'ward'"):
        KeyRing([key_entry("ward", OLD, ["sepsis"]), key_entry("ward", NEW, None)])
    with pytest.raises(ValueError, match="listed twice"):
        KeyRing([key_entry("a", OLD, None), key_entry("b", OLD, None)])
    data = tmp_path / "data"
    data.mkdir()
    (data / "api-keys.json").write_text(json.dumps({"keys": [key_entry("ward", OLD, None)]}))
    env = _env(tmp_path) | {"LINGSHU_SERVER_API_KEYS": json.dumps([key_entry("ward", NEW, None)])}
    result = CliRunner().invoke(cli, ["serve"], env=env)
    assert result.exit_code == 2
    assert "two API keys are named 'ward'" in result.output


def test_an_open_service_refuses_a_public_address_and_api_key_writes_the_default_file(
    tmp_path: Path,
) -> None:
    data = tmp_path / "elsewhere"
    env = _env(tmp_path)
    refused = CliRunner().invoke(
        cli, ["serve", "--data-dir", str(data), "--host", "0.0.0.0"], env=env
    )
    assert refused.exit_code == 2 and "--insecure" in refused.output
    assert "OPEN SERVICE" in refused.output
    made = CliRunner().invoke(
        cli, ["api-key", "--name", "ward-9"], env=env | {"LINGSHU_DATA_DIR": str(data)}
    )
    assert made.exit_code == 0, made.output
    assert KeyRing.from_settings(Settings(data_dir=data)).identify(made.stdout.split()[0])


def test_an_open_service_says_so_in_readyz(tmp_path: Path) -> None:
    app, _ = make_service(tmp_path, ["ok"], server_api_keys=[])
    with ThreadedUvicorn(app) as server:
        ready = httpx.get(server.url + "/readyz", timeout=10).json()
    assert ready["access"]["open"] is True and "OPEN SERVICE" in ready["access"]["warning"]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINGSHU_")}
    return env | {
        "LINGSHU_CONFIG": str(tmp_path / "none.toml"),
        "LINGSHU_DATA_DIR": str(tmp_path / "data"),
    }
