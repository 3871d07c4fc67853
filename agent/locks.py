"""One turn at a time per session, across threads, workers and faces.

Every face takes the same lock: the Python API (``agent.session.Lingshu``), hence the
CLI and the HTTP service, whichever process they run in. Within a process a
``threading.Lock`` per session serialises turns. Across processes: with Postgres, a
session-level advisory lock on one dedicated connection per process; with SQLite
(processes on one machine), a POSIX record lock on one byte of a lock file beside the
session store, at the session's offset. Either lock goes away with its process if the
process dies. A turn waits up to ``wait_s`` and then gets
:class:`SessionBusy`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import threading
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import fcntl  # POSIX record locks: workers sharing a SQLite store on one machine
except ImportError:  # pragma: no cover - Windows: `lingshu serve` keeps to one worker there
    fcntl = None  # type: ignore[assignment]

POLL_S = 0.05


class SessionBusy(RuntimeError):
    """Another turn of the same session is running."""


@dataclass
class _Local:
    lock: threading.Lock
    users: int = 0
    """Turns holding or waiting for ``lock``."""


class SessionLocks:
    """Per-session mutual exclusion; across workers with ``pg_conninfo`` or ``lock_file``."""

    def __init__(self, pg_conninfo: str | None = None, *, lock_file: Path | None = None) -> None:
        self._guard = threading.Lock()
        self._local: dict[str, _Local] = {}
        self._pg_conninfo = pg_conninfo
        self._pg: Any = None
        self._pg_guard = threading.Lock()
        self._fd: int | None = None
        if lock_file is not None and pg_conninfo is None and fcntl is not None:
            lock_file.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)

    @property
    def across_workers(self) -> bool:
        return self._pg_conninfo is not None or self._fd is not None

    @contextmanager
    def hold(self, session_id: str, wait_s: float) -> Iterator[None]:
        """Hold the session's lock for the body, or raise SessionBusy after ``wait_s``."""
        deadline = time.monotonic() + wait_s
        local = self._local_lock(session_id)
        try:
            if not local.acquire(timeout=max(0.0, wait_s)):
                raise SessionBusy(_busy(session_id, wait_s))
            try:
                key = _key(session_id)
                self._shared_acquire(key, session_id, deadline, wait_s)
                try:
                    yield
                finally:
                    self._shared_release(key)
            finally:
                local.release()
        finally:
            self._local_done(session_id)

    @asynccontextmanager
    async def ahold(self, session_id: str, wait_s: float) -> AsyncIterator[None]:
        """``hold`` for an event loop: waits by polling, never blocking the loop."""
        deadline = time.monotonic() + wait_s
        local = self._local_lock(session_id)
        try:
            while not local.acquire(blocking=False):
                if time.monotonic() >= deadline:
                    raise SessionBusy(_busy(session_id, wait_s))
                await asyncio.sleep(POLL_S)
            try:
                key = _key(session_id)
                while not await self._atry_shared(key):
                    if time.monotonic() >= deadline:
                        raise SessionBusy(_busy(session_id, wait_s))
                    await asyncio.sleep(POLL_S)
                try:
                    yield
                finally:
                    if self._pg_conninfo is not None:
                        await asyncio.to_thread(self._shared_release, key)
                    else:
                        self._shared_release(key)
            finally:
                local.release()
        finally:
            self._local_done(session_id)

    async def _atry_shared(self, key: int) -> bool:
        if self._pg_conninfo is not None:  # a round trip to the database
            return await asyncio.to_thread(self._try_shared, key)
        return not self.across_workers or self._try_shared(key)

    def _shared_acquire(self, key: int, session_id: str, deadline: float, wait_s: float) -> None:
        if not self.across_workers:
            return
        while not self._try_shared(key):
            if time.monotonic() >= deadline:
                raise SessionBusy(_busy(session_id, wait_s))
            time.sleep(POLL_S)

    def _try_shared(self, key: int) -> bool:
        if self._fd is not None:
            try:
                fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _offset(key))
            except OSError:
                return False
            return True
        row = self._connection().execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
        return bool(row and row[0])

    def _shared_release(self, key: int) -> None:
        if self._fd is not None:
            fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, _offset(key))
            return
        conn = self._pg
        if conn is not None and not conn.closed:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def _local_lock(self, session_id: str) -> threading.Lock:
        """The session's in-process lock, counted: it is dropped when nobody holds it or
        waits for it, so the table stays as small as the turns in progress."""
        with self._guard:
            entry = self._local.get(session_id)
            if entry is None:
                entry = self._local[session_id] = _Local(threading.Lock())
            entry.users += 1
            return entry.lock

    def _local_done(self, session_id: str) -> None:
        with self._guard:
            entry = self._local.get(session_id)
            if entry is not None:
                entry.users -= 1
                if entry.users <= 0:
                    del self._local[session_id]

    @property
    def in_use(self) -> int:
        """How many sessions have a turn holding or waiting for their lock here."""
        with self._guard:
            return len(self._local)

    def _connection(self) -> Any:
        import psycopg

        with self._pg_guard:
            if self._pg is None or self._pg.closed:
                self._pg = psycopg.connect(str(self._pg_conninfo), autocommit=True)
            return self._pg

    def close(self) -> None:
        if self._pg is not None and not self._pg.closed:
            self._pg.close()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:  # the last user of a shared store's locks is gone
        with contextlib.suppress(Exception):  # interpreter shutdown: nothing left to release
            self.close()


_SHARED: weakref.WeakValueDictionary[str, SessionLocks] = weakref.WeakValueDictionary()
_SHARED_GUARD = threading.Lock()


def store_locks(sessions_path: str) -> SessionLocks:
    """The one ``SessionLocks`` of this process for a session store (a SQLite path or a
    Postgres URL). One per store, because closing any descriptor of a POSIX-locked file
    drops every lock the process holds on it."""
    from agent.checkpoints import sqlite_file

    with _SHARED_GUARD:
        found = _SHARED.get(sessions_path)
        if found is None:
            if sessions_path.startswith(("postgres://", "postgresql://")):
                found = SessionLocks(sessions_path)
            else:
                found = SessionLocks(lock_file=sqlite_file(sessions_path).with_suffix(".locks"))
            _SHARED[sessions_path] = found
        return found


def _key(session_id: str) -> int:
    """A signed 64-bit advisory-lock key for a session id."""
    return int.from_bytes(hashlib.sha256(session_id.encode()).digest()[:8], "big", signed=True)


def _offset(key: int) -> int:
    """The byte of the lock file that stands for a session (a non-negative 62-bit offset)."""
    return key & (2**62 - 1)


def _busy(session_id: str, wait_s: float) -> str:
    return (
        f"session {session_id} is busy with another turn (waited {wait_s:g} s); "
        "turns of one session run one at a time: retry when the current turn has finished"
    )
