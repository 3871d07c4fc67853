"""Who owns which session: one row per session made through the service.

The row lives next to the checkpoints (the same SQLite file, or the same Postgres
database), so every worker sees the same owners. It holds the owning key's name,
the bound patient and, for sessions chosen by the OpenAI ``user`` field, a hash of
that value (never the value itself). A second table maps a hash of the conversation a
session holds (as a chatbot that resends it would send it back) to the session.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol

from agent.checkpoints import connect_sqlite, sqlite_file, use_wal

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS lingshu_server_sessions (
        session_id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        patient_id TEXT,
        user_ref TEXT,
        created_at DOUBLE PRECISION NOT NULL
    )""",
    """CREATE UNIQUE INDEX IF NOT EXISTS lingshu_server_sessions_user
        ON lingshu_server_sessions (owner, user_ref)""",
    """CREATE TABLE IF NOT EXISTS lingshu_server_conversations (
        conversation_ref TEXT PRIMARY KEY,
        session_id TEXT NOT NULL
    )""",
    """CREATE INDEX IF NOT EXISTS lingshu_server_conversations_session
        ON lingshu_server_conversations (session_id)""",
)
REGISTRY_SETUP_LOCK = 0x4C696E68


class _Backend(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...


class _Sqlite:
    def __init__(self, path: str) -> None:
        target = sqlite_file(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        self._conn = connect_sqlite(target)
        use_wal(self._conn)
        self._lock = threading.Lock()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._conn.execute(sql, tuple(params)).fetchall())


class _Postgres:
    def __init__(self, pool: Any) -> None:
        self._pool = pool

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._pool.connection() as conn:
            cur = conn.execute(sql.replace("?", "%s"), tuple(params))
            return list(cur.fetchall()) if cur.description else []


class SessionRegistry:
    """Owners, patients and chatbot-user aliases of the service's sessions."""

    def __init__(self, backend: _Backend) -> None:
        self._db = backend

    @classmethod
    def sqlite(cls, path: str) -> SessionRegistry:
        registry = cls(_Sqlite(path))
        for statement in SCHEMA:
            registry._db.execute(statement)
        return registry

    @classmethod
    def postgres(cls, pool: Any) -> SessionRegistry:
        registry = cls(_Postgres(pool))
        with pool.connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (REGISTRY_SETUP_LOCK,))
            try:
                for statement in SCHEMA:
                    conn.execute(statement)
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (REGISTRY_SETUP_LOCK,))
        return registry

    def add(
        self, session_id: str, owner: str, patient_id: str | None, user: str | None = None
    ) -> str:
        """Record a new session; with ``user``, return the session that alias already has."""
        ref = _user_ref(owner, user)
        self._db.execute(
            "INSERT INTO lingshu_server_sessions (session_id, owner, patient_id, user_ref, "
            "created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (session_id, owner, patient_id, ref, time.time()),
        )
        if ref is None:
            return session_id
        found = self.by_user(owner, user)
        return found or session_id

    def by_user(self, owner: str, user: str | None) -> str | None:
        """The session a chatbot user (the OpenAI ``user`` field) has with this key."""
        rows = self._db.execute(
            "SELECT session_id FROM lingshu_server_sessions WHERE owner = ? AND user_ref = ?",
            (owner, _user_ref(owner, user)),
        )
        return str(rows[0][0]) if rows else None

    def owner(self, session_id: str) -> tuple[str, str | None] | None:
        """(owner, patient id) of a session, or None when the service did not make it."""
        rows = self._db.execute(
            "SELECT owner, patient_id FROM lingshu_server_sessions WHERE session_id = ?",
            (session_id,),
        )
        return (str(rows[0][0]), rows[0][1]) if rows else None

    def sessions(self, owner: str) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT session_id, patient_id, created_at FROM lingshu_server_sessions "
            "WHERE owner = ? ORDER BY created_at DESC LIMIT 200",
            (owner,),
        )
        return [{"session_id": r[0], "patient_id": r[1], "created_at": r[2]} for r in rows]

    def by_conversation(self, ref: str) -> str | None:
        """The session whose conversation so far hashes to ``ref`` (``conversation_ref``)."""
        rows = self._db.execute(
            "SELECT session_id FROM lingshu_server_conversations WHERE conversation_ref = ?",
            (ref,),
        )
        return str(rows[0][0]) if rows else None

    def set_conversation(self, session_id: str, ref: str) -> None:
        """The conversation a session holds now (its earlier states no longer match)."""
        self._db.execute(
            "DELETE FROM lingshu_server_conversations WHERE session_id = ?", (session_id,)
        )
        self._db.execute(
            "INSERT INTO lingshu_server_conversations (conversation_ref, session_id) "
            "VALUES (?, ?) ON CONFLICT (conversation_ref) DO UPDATE SET session_id = "
            "excluded.session_id",
            (ref, session_id),
        )

    def remove(self, session_id: str) -> None:
        self._db.execute("DELETE FROM lingshu_server_sessions WHERE session_id = ?", (session_id,))
        self._db.execute(
            "DELETE FROM lingshu_server_conversations WHERE session_id = ?", (session_id,)
        )

    def ping(self) -> None:
        self._db.execute("SELECT 1")


def conversation_ref(owner: str, turns: Sequence[tuple[str, str, str]]) -> str:
    """A hash of a conversation as one key's chatbot sends it: the roles and the texts
    (whitespace collapsed, as front ends reflow it) of its user and assistant messages."""
    digest = hashlib.sha256(f"lingshu-conversation\x00{owner}".encode())
    for role, _, text in turns:
        normal = " ".join(text.split())
        digest.update(f"\x00{role}\x00{len(normal)}\x00{normal}".encode("utf-8", "replace"))
    return digest.hexdigest()


def _user_ref(owner: str, user: str | None) -> str | None:
    if not user:
        return None
    return hashlib.sha256(f"{owner}\x00{user}".encode()).hexdigest()
