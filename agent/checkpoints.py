"""Where sessions live (SQLite by default) and how a session recovers from a dead turn."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, RemoveMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph.message import REMOVE_ALL_MESSAGES

from agent.settings import Settings
from agent.state import INTERRUPTED

BUSY_TIMEOUT_MS = 10_000
SESSION_INDEX = "lingshu_sessions"
"""This store's own table (not the library's): the ids of the sessions known to exist."""
SETUP_LOCK_KEY = 0x4C696E67  # pg advisory lock held while the checkpoint schema is set up


class SessionSqliteSaver(BaseCheckpointSaver[str]):
    """A SQLite session store for many threads, over the public API of ``SqliteSaver``.

    The stock saver runs every read and write through one connection under one lock, so
    concurrent turns queue behind each other. Here writes go through one ``SqliteSaver``
    on the shared connection (its lock serialises them), and reads through a
    ``SqliteSaver`` on the calling thread's own connection (WAL readers never block).
    Only the savers' public methods are used: no SQL of the library is copied.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.writer = SqliteSaver(conn)
        super().__init__(serde=self.writer.serde)
        self.path = path
        self._readers = threading.local()

    @property
    def conn(self) -> sqlite3.Connection:
        """The shared (writing) connection."""
        return self.writer.conn

    def setup(self) -> None:
        """Create the checkpoint tables (once; the stock saver's own set-up) and this
        store's own index of the sessions known to exist."""
        self.writer.setup()
        self.conn.execute(
            f"CREATE TABLE IF NOT EXISTS {SESSION_INDEX} (thread_id TEXT PRIMARY KEY)"
        )

    def reader(self) -> SqliteSaver:
        """The calling thread's saver, on its own connection to the file."""
        saver: SqliteSaver | None = getattr(self._readers, "saver", None)
        if saver is None:
            self.writer.setup()
            saver = SqliteSaver(connect_sqlite(self.path), serde=self.serde)
            saver.is_setup = True  # the writer made the tables; a reader only reads
            self._readers.saver = saver
        return saver

    def has_thread(self, thread_id: str) -> bool:
        """Whether a thread has a checkpoint.

        A session found once is written into this store's own index (one row, one
        indexed lookup: microseconds); a session missing from it is looked for by the
        stock saver's public ``list(limit=1)`` (which reads its latest checkpoint) and
        indexed when found. ``delete_thread`` removes the row (after the checkpoints), in
        whichever worker process deletes, so every process then sees the session as gone.
        """
        reader = self.reader()
        query = f"SELECT 1 FROM {SESSION_INDEX} WHERE thread_id = ?"
        if reader.conn.execute(query, (thread_id,)).fetchone() is not None:
            return True
        config: RunnableConfig = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
        if next(iter(reader.list(config, limit=1)), None) is None:
            return False
        with self.writer.lock:
            self.conn.execute(f"INSERT OR IGNORE INTO {SESSION_INDEX} VALUES (?)", (thread_id,))
        return True

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self.reader().get_tuple(config)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        return self.reader().list(config, filter=filter, before=before, limit=limit)

    def get_delta_channel_history(self, *, config: RunnableConfig, channels: Sequence[str]) -> Any:
        return self.reader().get_delta_channel_history(config=config, channels=channels)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self.writer.put(config, checkpoint, metadata, new_versions)

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self.writer.put_writes(config, writes, task_id, task_path)

    def delete_thread(self, thread_id: str) -> None:
        self.writer.delete_thread(thread_id)
        with self.writer.lock:  # the shared connection's lock
            self.conn.execute(f"DELETE FROM {SESSION_INDEX} WHERE thread_id = ?", (thread_id,))

    def get_next_version(self, current: str | None, channel: None) -> str:
        return self.writer.get_next_version(current, channel)

    # The async face, for graphs run on an event loop (the service's turns). A local SQLite
    # read or write takes well under a millisecond, so these run on the loop itself
    # rather than paying for a thread each time.
    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self.get_tuple(config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        for item in self.list(config, filter=filter, before=before, limit=limit):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        self.delete_thread(thread_id)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Any:
        return self.get_delta_channel_history(config=config, channels=channels)


def connect_sqlite(path: Path) -> sqlite3.Connection:
    """A connection to a store file shared by threads and processes: autocommit, a busy
    timeout, no fsync per commit (WAL, set once by whoever creates the file)."""
    conn = sqlite3.connect(
        str(path), check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
    )
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def use_wal(conn: sqlite3.Connection) -> None:
    """Put the file in WAL mode (a no-op once it is). Switching needs the file to itself,
    and SQLite answers "database is locked" at once, without its busy timeout, while
    another process that opens a new store at the same moment holds it: so retry."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL").fetchall()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(0.02)


def open_sqlite_checkpointer(path: str | Path) -> SessionSqliteSaver:
    """A SQLite checkpointer threads and processes can share: WAL journal, busy timeout."""
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    conn = connect_sqlite(target)
    use_wal(conn)
    saver = SessionSqliteSaver(conn, target)
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


def sqlite_file(url: str) -> Path:
    """The file of a SQLite session store given as a path or a ``sqlite:///`` URL."""
    return Path(url.removeprefix("sqlite:///")).expanduser()


def open_checkpointer(settings: Settings) -> BaseCheckpointSaver[Any]:
    """The session store named by settings: a SQLite file, or Postgres for a postgres:// URL."""
    url = settings.sessions_path
    if url.startswith(("postgres://", "postgresql://")):
        return open_postgres_checkpointer(url)
    return open_sqlite_checkpointer(sqlite_file(url))
