"""Settings precedence, the SQLite session store, and the graph's wiring snapshot."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest

from agent.checkpoints import open_sqlite_checkpointer
from agent.graph import build_graph
from agent.settings import Settings
from tests.fakes import ScriptedChatModel

SNAPSHOT = Path(__file__).parent / "snapshots" / "graph.mmd"


def test_precedence_argument_env_toml_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "lingshu.toml"
    toml.write_text(
        'model = "from-toml"\nbase_url = "http://toml:1/v1"\nmax_tool_rounds = 3\n'
        'tool_calling = "native"\n'
    )
    monkeypatch.setenv("LINGSHU_CONFIG", str(toml))
    monkeypatch.setenv("LINGSHU_BASE_URL", "http://env:2/v1")
    monkeypatch.setenv("LINGSHU_MODEL", "from-env")
    settings = Settings(model="from-argument")
    assert settings.model == "from-argument"  # argument beats environment
    assert settings.base_url == "http://env:2/v1"  # environment beats toml
    assert settings.max_tool_rounds == 3 and settings.tool_calling == "native"  # toml beats default
    assert settings.max_repairs == 2  # default
    assert Settings().backend == "openai"


def test_defaults_point_at_local_vllm() -> None:
    s = Settings()
    assert (s.backend, s.base_url, s.model, s.tool_calling) == (
        "openai",
        "http://127.0.0.1:8000/v1",
        "lingshu-medical-mllm/Lingshu-7B",
        "prompted",
    )
    assert s.sessions_path.endswith("lingshu-data/sessions.sqlite")


def test_bad_setting_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINGSHU_TOOL_CALLING", "telepathic")
    with pytest.raises(ValueError, match="tool_calling"):
        Settings()


def test_sqlite_store_uses_wal_and_busy_timeout(tmp_path: Path) -> None:
    saver = open_sqlite_checkpointer(tmp_path / "s" / "sessions.sqlite")
    mode = saver.conn.execute("PRAGMA journal_mode").fetchone()[0]
    timeout = saver.conn.execute("PRAGMA busy_timeout").fetchone()[0]
    assert mode == "wal" and timeout >= 5000
    # A second connection (another process) can read while the first holds the file.
    other = sqlite3.connect(tmp_path / "s" / "sessions.sqlite")
    assert other.execute("SELECT COUNT(*) FROM checkpoints").fetchone() == (0,)


def _open_at_once(path: Path, openers: int) -> list[Exception]:
    barrier = threading.Barrier(openers)
    errors: list[Exception] = []

    def open_it() -> None:
        barrier.wait()
        try:
            open_sqlite_checkpointer(path)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(openers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_a_new_store_opened_by_many_at_once_opens_for_all(tmp_path: Path) -> None:
    # Two `lingshu consult` processes on a fresh data dir: switching the new file to WAL
    # used to fail with "database is locked" for whoever came second (2 in 30 trials here).
    for trial in range(10):
        path = tmp_path / f"{trial}" / "sessions.sqlite"
        assert _open_at_once(path, 8) == []
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_sqlite_store_serves_threads_reading_while_others_write(tmp_path: Path) -> None:
    saver = open_sqlite_checkpointer(tmp_path / "sessions.sqlite")
    graph = build_graph(Settings(data_dir=tmp_path), model=ScriptedChatModel(), tools=[])
    graph = graph.copy(update={"checkpointer": saver})
    problems: list[BaseException] = []

    def session(n: int) -> None:
        config = {"configurable": {"thread_id": f"s{n}"}}
        try:
            for k in range(20):
                graph.update_state(config, {"patient_id": f"p{n}-{k}"}, as_node="respond")
                values = graph.get_state(config).values
                assert values["patient_id"] == f"p{n}-{k}"  # its own last write, never another's
        except BaseException as exc:  # reported below
            problems.append(exc)

    threads = [threading.Thread(target=session, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert problems == []
    rows = saver.conn.execute("SELECT COUNT(DISTINCT thread_id) FROM checkpoints").fetchone()
    assert rows == (8,)


def test_graph_wiring_matches_snapshot() -> None:
    graph = build_graph(Settings(), model=ScriptedChatModel(), tools=[])
    drawn = graph.get_graph().draw_mermaid()
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":  # after an intended change: review the diff
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(drawn)
    assert drawn == SNAPSHOT.read_text(), "graph wiring changed: review and update the snapshot"
