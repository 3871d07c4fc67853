"""One turn at a time per session, across threads and (with Postgres) across workers.

Within a worker a ``threading.Lock`` per session serialises turns. With Postgres a
session-level advisory lock on one dedicated connection per worker extends that
across workers: the lock is the database's, and it goes away with the connection
if the worker dies. A turn waits up to ``wait_s`` and then gets :class:`SessionBusy`.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

POLL_S = 0.05


class SessionBusy(RuntimeError):
    """Another turn of the same session is running."""


class SessionLocks:
    """Per-session mutual exclusion; ``pg_conninfo`` adds the cross-worker advisory lock."""

    def __init__(self, pg_conninfo: str | None = None) -> None:
        self._guard = threading.Lock()
        self._local: dict[str, threading.Lock] = {}
        self._pg_conninfo = pg_conninfo
        self._pg: Any = None
        self._pg_guard = threading.Lock()

    @contextmanager
    def hold(self, session_id: str, wait_s: float) -> Iterator[None]:
        """Hold the session's lock for the body, or raise SessionBusy after ``wait_s``."""
        deadline = time.monotonic() + wait_s
        local = self._local_lock(session_id)
        if not local.acquire(timeout=max(0.0, wait_s)):
            raise SessionBusy(_busy(session_id, wait_s))
        try:
            key = _key(session_id)
            if self._pg_conninfo is not None:
                self._pg_acquire(key, session_id, deadline, wait_s)
            try:
                yield
            finally:
                if self._pg_conninfo is not None:
                    self._pg_release(key)
        finally:
            local.release()

    def _local_lock(self, session_id: str) -> threading.Lock:
        with self._guard:
            return self._local.setdefault(session_id, threading.Lock())

    def _connection(self) -> Any:
        import psycopg

        with self._pg_guard:
            if self._pg is None or self._pg.closed:
                self._pg = psycopg.connect(str(self._pg_conninfo), autocommit=True)
            return self._pg

    def _pg_acquire(self, key: int, session_id: str, deadline: float, wait_s: float) -> None:
        while True:
            row = self._connection().execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            if row and row[0]:
                return
            if time.monotonic() >= deadline:
                raise SessionBusy(_busy(session_id, wait_s))
            time.sleep(POLL_S)

    def _pg_release(self, key: int) -> None:
        conn = self._pg
        if conn is not None and not conn.closed:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def close(self) -> None:
        if self._pg is not None and not self._pg.closed:
            self._pg.close()


def _key(session_id: str) -> int:
    """A signed 64-bit advisory-lock key for a session id."""
    return int.from_bytes(hashlib.sha256(session_id.encode()).digest()[:8], "big", signed=True)


def _busy(session_id: str, wait_s: float) -> str:
    return (
        f"session {session_id} is busy with another turn (waited {wait_s:g} s); "
        "turns of one session run one at a time: retry when the current turn has finished"
    )
