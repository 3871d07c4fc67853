"""The session store's existence check: fast for a known session, and never stale after a
delete made through another connection (another worker process on the same file)."""

from __future__ import annotations

from pathlib import Path

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import empty_checkpoint

from agent.checkpoints import SESSION_INDEX, open_sqlite_checkpointer


def _save(path: Path, thread_id: str) -> None:
    saver = open_sqlite_checkpointer(path)
    config: RunnableConfig = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    saver.put(config, empty_checkpoint(), {}, {})


def test_a_session_is_found_by_every_worker_and_gone_for_all_after_a_delete(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    first, second = open_sqlite_checkpointer(path), open_sqlite_checkpointer(path)
    _save(path, "s1")
    assert first.has_thread("s1") and second.has_thread("s1")
    assert first.has_thread("s1")  # now answered from the index
    assert not first.has_thread("s2")
    second.delete_thread("s1")
    assert not first.has_thread("s1") and not second.has_thread("s1")
    _save(path, "s1")  # the same id made again
    assert first.has_thread("s1")


def test_a_store_made_before_the_index_still_finds_its_sessions(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    _save(path, "old")
    saver = open_sqlite_checkpointer(path)
    saver.conn.execute(f"DELETE FROM {SESSION_INDEX}")
    assert saver.has_thread("old")
    assert not saver.has_thread("never")
