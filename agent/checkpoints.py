"""Where sessions live (SQLite by default) and how a session recovers from a dead turn."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, RemoveMessage, ToolMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph.message import REMOVE_ALL_MESSAGES

from agent.settings import Settings
from agent.state import INTERRUPTED

BUSY_TIMEOUT_MS = 10_000
SETUP_LOCK_KEY = 0x4C696E67  # pg advisory lock held while the checkpoint schema is set up


def open_sqlite_checkpointer(path: str | Path) -> SqliteSaver:
    """A SQLite checkpointer two processes can share: WAL journal and a busy timeout."""
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        str(target), check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
    )
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA synchronous=NORMAL")
    saver = SqliteSaver(conn)
    saver.setup()
    return saver


def close_orphaned_calls(
    messages: Sequence[AnyMessage],
) -> tuple[list[AnyMessage], list[AnyMessage] | None]:
    """Give every tool call that never got a result an error result, right after its call.

    Returns the repaired history and, when something changed, the update for the
    ``messages`` channel (replace everything) — else None.
    """
    answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    repaired: list[AnyMessage] = []
    changed = False
    for msg in messages:
        repaired.append(msg)
        if isinstance(msg, AIMessage):
            for call in msg.tool_calls:
                if call["id"] in answered:
                    continue
                changed = True
                repaired.append(
                    ToolMessage(
                        content=(
                            f"Error: {call['name']} did not complete: the turn that called it "
                            "was interrupted. Call it again if you still need it."
                        ),
                        tool_call_id=call["id"] or "",
                        name=call["name"],
                        status="error",
                        additional_kwargs={"lingshu": INTERRUPTED},
                    )
                )
    if not changed:
        return list(messages), None
    remove_all: AnyMessage = RemoveMessage(id=REMOVE_ALL_MESSAGES)  # type: ignore[assignment]
    return repaired, [remove_all, *repaired]


def open_postgres_checkpointer(url: str, *, max_size: int = 20) -> BaseCheckpointSaver[Any]:
    """A Postgres checkpointer over a connection pool; several workers can share it.

    The schema set-up runs under an advisory lock, so workers starting together do
    not race on ``CREATE TABLE``.
    """
    try:
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise RuntimeError(
            "a Postgres checkpoint URL needs langgraph-checkpoint-postgres and psycopg[pool]; "
            "pip install langgraph-checkpoint-postgres 'psycopg[binary,pool]'"
        ) from exc
    pool: ConnectionPool[Any] = ConnectionPool(
        url,
        min_size=1,
        max_size=max_size,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        open=True,
        name="lingshu-checkpoints",
    )
    saver = PostgresSaver(pool)
    with pool.connection() as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SETUP_LOCK_KEY,))
        try:
            saver.setup()
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK_KEY,))
    return saver


def open_checkpointer(settings: Settings) -> BaseCheckpointSaver[Any]:
    """The session store named by settings: a SQLite file, or Postgres for a postgres:// URL."""
    url = settings.sessions_path
    if url.startswith(("postgres://", "postgresql://")):
        return open_postgres_checkpointer(url)
    if url.startswith("sqlite:///"):
        url = url.removeprefix("sqlite:///")
    return open_sqlite_checkpointer(url)
