"""What the routes share: the agent, keys, session owners, locks and the turn runner.

Turns run in a thread pool (the graph is synchronous); a streamed turn runs to its
end even when the client goes away, so a session is never left half-written.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from fastapi import HTTPException

from agent.checkpoints import sqlite_file
from agent.server.auth import ApiKey, KeyRing
from agent.server.locks import SessionBusy, SessionLocks
from agent.server.registry import SessionRegistry
from agent.server.uploads import Upload, written
from agent.session import InputError, Lingshu, UnknownSession
from agent.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
Event = dict[str, Any]
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://"))


@dataclass
class Service:
    settings: Settings
    agent: Lingshu
    keys: KeyRing
    registry: SessionRegistry
    locks: SessionLocks
    executor: ThreadPoolExecutor
    _closers: list[Callable[[], Any]] = field(default_factory=list)

    @classmethod
    def open(cls, settings: Settings, *, agent: Lingshu | None = None) -> Service:
        """Open the agent and the session stores named by settings."""
        url = settings.sessions_path
        closers: list[Callable[[], Any]] = []
        if is_postgres(url):
            from psycopg_pool import ConnectionPool

            pool: ConnectionPool[Any] = ConnectionPool(
                url,
                min_size=1,
                max_size=settings.server_pool_size,
                kwargs={"autocommit": True},
                open=True,
                name="lingshu-server",
            )
            closers.append(pool.close)
            registry = SessionRegistry.postgres(pool)
            locks = SessionLocks(url)
        else:
            registry = SessionRegistry.sqlite(url)
            locks = SessionLocks(lock_file=sqlite_file(url).with_suffix(".locks"))
        closers.append(locks.close)
        service = cls(
            settings=settings,
            agent=agent if agent is not None else Lingshu(settings),
            keys=KeyRing.from_settings(settings),
            registry=registry,
            locks=locks,
            executor=ThreadPoolExecutor(settings.server_threads, thread_name_prefix="turn"),
            _closers=closers,
        )
        if service.keys.open:
            log.warning("no API keys configured: every caller may open every patient")
        return service

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        for close in self._closers:
            close()

    async def acreate_session(
        self, key: ApiKey, patient_id: str | None, mode: str | None, user: str | None = None
    ) -> dict[str, Any]:
        """``create_session`` from a route: on the event loop itself when it only writes to a
        local session store (a thread would cost more than the work), else on a thread (a
        patient is looked up in the EHR, which may be a remote server)."""
        one_patient = key.patients is not None and len(key.patients) == 1
        binds_patient = patient_id is not None or one_patient
        if self.agent.runs_on_loop and not binds_patient:
            return self.create_session(key, patient_id, mode, user)
        return await self.call(self.create_session, key, patient_id, mode, user)

    async def aclose_model(self) -> None:
        """Close the model's connections that belong to this event loop."""
        close = getattr(self.agent.graph.deps.model, "aclose_loop_client", None)
        if close is not None:
            await close()

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking work (the graph, the stores) on the turn threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, partial(fn, *args, **kwargs))

    # --- sessions ---------------------------------------------------------------------
    def create_session(
        self, key: ApiKey, patient_id: str | None, mode: str | None, user: str | None = None
    ) -> dict[str, Any]:
        """A new session owned by ``key``; its patient is bound now, from the key's grant.

        With ``user`` (the OpenAI field), that user's existing session when there is one.
        Returns the session's id, patient and mode.
        """
        patient_id = self._granted_patient(key, patient_id)
        if user:
            found = self.registry.by_user(key.name, user)
            if found and self.agent.exists(found):
                return _described(found, self.agent.state(found))
        mode = mode or self.settings.mode
        session_id = self.agent.new_session(patient_id=patient_id, mode=mode)
        kept = self.registry.add(session_id, key.name, patient_id, user)
        if kept != session_id:  # another request made this user's session first
            self.agent.delete(session_id)
            return _described(kept, self.agent.state(kept))
        return {"session_id": session_id, "patient_id": patient_id, "mode": mode}

    def _granted_patient(self, key: ApiKey, patient_id: str | None) -> str | None:
        if patient_id is None and key.patients is not None and len(key.patients) == 1:
            (patient_id,) = key.patients
        if patient_id is None:
            return None
        if not key.may_open(patient_id):
            raise HTTPException(403, f"this API key may not open patient {patient_id!r}")
        ehr = self.agent.resources.ehr
        if ehr is not None and ehr.patient(patient_id) is None:
            raise HTTPException(404, f"no patient {patient_id!r} in the EHR")
        return patient_id

    def authorize(self, key: ApiKey, session_id: str) -> None:
        """404 unless the session exists and belongs to this key (open mode: exists)."""
        missing = HTTPException(404, f"no session {session_id!r}")
        if not _SESSION_ID.match(session_id):
            raise missing
        row = self.registry.owner(session_id)
        if row is None:
            if self.keys.open and self.agent.exists(session_id):
                return  # made by another face (the CLI) on the same store
            raise missing
        if row[0] != key.name:
            raise missing

    def delete_session(self, key: ApiKey, session_id: str) -> None:
        self.authorize(key, session_id)
        with self.locks.hold(session_id, self.settings.server_lock_wait_s):
            self.agent.delete(session_id)
            self.registry.remove(session_id)

    def patients(self, key: ApiKey) -> list[dict[str, Any]]:
        """Patients this key may open (from the EHR when it can list them)."""
        ehr = self.agent.resources.ehr
        listed = ehr.patients() if ehr is not None and hasattr(ehr, "patients") else []
        out = [
            {"id": p["id"], "gender": p.get("gender"), "birth_year": _year(p.get("birthDate"))}
            for p in listed
            if key.may_open(p["id"])
        ]
        if not listed and key.patients is not None:
            out = [{"id": pid, "gender": None, "birth_year": None} for pid in sorted(key.patients)]
        return out

    # --- turns ------------------------------------------------------------------------
    def turn(
        self,
        key: ApiKey,
        session_id: str,
        text: str,
        uploads: list[Upload],
        mode: str | None,
        emit: Callable[[Event], None] | None = None,
    ) -> dict[str, Any]:
        """Run one turn under the session's lock; with ``emit``, stream its events."""
        self.authorize(key, session_id)
        with self.locks.hold(session_id, self.settings.server_lock_wait_s), written(uploads) as p:
            if emit is None:
                return self.agent.ask(text, session_id=session_id, images=p, mode=mode).to_json()
            last: Event = {}
            for event in self.agent.stream(text, session_id=session_id, images=p, mode=mode):
                emit(event)
                last = event
            return last

    async def aturn(
        self, key: ApiKey, session_id: str, text: str, uploads: list[Upload], mode: str | None
    ) -> dict[str, Any]:
        """``turn`` without a thread, when the agent's turns can run on the event loop."""
        if not self.agent.runs_on_loop:
            return await self.call(self.turn, key, session_id, text, uploads, mode)
        self.authorize(key, session_id)
        async with self.locks.ahold(session_id, self.settings.server_lock_wait_s):
            with written(uploads) as paths:
                result = await self.agent.aask(text, session_id=session_id, images=paths, mode=mode)
        return result.to_json()

    async def stream_turn(
        self,
        key: ApiKey,
        session_id: str,
        text: str,
        uploads: list[Upload],
        mode: str | None,
    ) -> AsyncIterator[Event]:
        """The turn's events as they happen; an error event (with its status) if it fails."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Event | None] = asyncio.Queue()

        def emit(event: Event | None) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, event)

        def work() -> None:
            try:
                self.turn(key, session_id, text, uploads, mode, emit=emit)
            except Exception as exc:
                status, message = error_status(exc)
                emit({"type": "error", "status": status, "message": message})
            finally:
                emit(None)

        self.executor.submit(work)
        while (event := await queue.get()) is not None:
            yield event


def error_status(exc: BaseException) -> tuple[int, str]:
    """The HTTP status and message for an error of a turn (5xx only for our own faults)."""
    if isinstance(exc, HTTPException):
        return exc.status_code, str(exc.detail)
    if isinstance(exc, SessionBusy):
        return 409, str(exc)
    if isinstance(exc, InputError):
        return 400, str(exc)
    if isinstance(exc, UnknownSession):
        return 404, "no such session"
    log.error("turn failed", exc_info=exc)
    return 500, "the turn failed inside the service; the session keeps what was committed"


def _described(session_id: str, state: dict[str, Any]) -> dict[str, Any]:
    return {"session_id": session_id, "patient_id": state.get("patient_id"), "mode": state["mode"]}


def _year(date: Any) -> int | None:
    return int(str(date)[:4]) if date and str(date)[:4].isdigit() else None
