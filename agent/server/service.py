"""What the routes share: the agent, keys, session owners, locks and the turn runner.

Turns run in a thread pool (the graph is synchronous); a streamed turn runs to its
end even when the client goes away, so a session is never left half-written.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from fastapi import HTTPException

from agent.locks import SessionBusy, SessionLocks
from agent.server.auth import OPEN_WARNING, ApiKey, KeyRing
from agent.server.registry import SessionRegistry, conversation_ref
from agent.server.uploads import Upload, written
from agent.session import InputError, Lingshu, PatientMismatch, UnknownSession
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
        keys = KeyRing.from_settings(settings)  # a bad keys file stops start-up here
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
        else:
            registry = SessionRegistry.sqlite(url)
        agent = agent if agent is not None else Lingshu(settings)
        service = cls(
            settings=settings,
            agent=agent,
            keys=keys,
            registry=registry,
            # The agent's own locks: the CLI and the Python API take the same ones.
            locks=agent.locks,
            executor=ThreadPoolExecutor(settings.server_threads, thread_name_prefix="turn"),
            _closers=closers,
        )
        if service.keys.open:
            log.warning(OPEN_WARNING)
        return service

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        for close in self._closers:
            close()

    async def acreate_session(
        self,
        key: ApiKey,
        patient_id: str | None,
        mode: str | None,
        user: str | None = None,
        history: Sequence[tuple[str, str]] = (),
    ) -> dict[str, Any]:
        """``create_session`` from a route: on the event loop itself when it only writes to a
        local session store (a thread would cost more than the work), else on a thread (a
        patient is looked up in the EHR, which may be a remote server)."""
        one_patient = key.patients is not None and len(key.patients) == 1
        binds_patient = patient_id is not None or one_patient
        if self.agent.runs_on_loop and not binds_patient:
            return self.create_session(key, patient_id, mode, user, history)
        return await self.call(self.create_session, key, patient_id, mode, user, history)

    async def aclose_model(self) -> None:
        """Close the model's connections that belong to this event loop."""
        close = getattr(self.agent.deps.model, "aclose_loop_client", None)
        if close is not None:
            await close()

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking work (the graph, the stores) on the turn threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, partial(fn, *args, **kwargs))

    # --- sessions ---------------------------------------------------------------------
    def create_session(
        self,
        key: ApiKey,
        patient_id: str | None,
        mode: str | None,
        user: str | None = None,
        history: Sequence[tuple[str, str]] = (),
    ) -> dict[str, Any]:
        """A new session owned by ``key``; its patient is bound now, from the key's grant.

        With ``user`` (the OpenAI field), that user's existing session when there is one
        (409 when it is bound to another patient than ``patient_id``). ``history``: the
        earlier turns a chatbot resent, carried into a new session.
        Returns the session's id, patient and mode.
        """
        asked = patient_id
        patient_id = self._granted_patient(key, patient_id)
        if user:
            found = self.registry.by_user(key.owner, user)
            if found and self.agent.exists(found):
                self.authorize(key, found, asked)
                return _described(found, self.agent.state(found))
        mode = mode or self.settings.mode
        try:
            session_id = self.agent.new_session(patient_id=patient_id, mode=mode, history=history)
        except InputError as exc:
            raise HTTPException(400, str(exc)) from exc
        kept = self.registry.add(session_id, key.owner, patient_id, user)
        if kept != session_id:  # another request made this user's session first
            self.agent.delete(session_id)
            self.authorize(key, kept, asked)
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

    def authorize(self, key: ApiKey, session_id: str, patient_id: str | None = None) -> None:
        """The one gate of every access to an existing session (read, turn, stream, delete,
        images): 404 unless it exists and belongs to this key (open mode: exists); 403 when
        the key's grant no longer covers the session's patient; 409, naming both ids, when
        the request names another patient than the session's."""
        missing = HTTPException(404, f"no session {session_id!r}")
        if not _SESSION_ID.match(session_id):
            raise missing
        row = self.registry.owner(session_id)
        if row is None:
            if self.keys.open and self.agent.exists(session_id):
                if patient_id is not None:  # made by another face (the CLI) on the same store
                    bound = self.agent.state(session_id).get("patient_id")
                    _same_patient(session_id, bound, patient_id)
                return
            raise missing
        owner, bound = row
        if owner != key.owner:
            raise missing
        if bound is not None and not key.may_open(bound):
            raise HTTPException(
                403, f"this API key may no longer open patient {bound!r} (session {session_id})"
            )
        if patient_id is not None:
            _same_patient(session_id, bound, patient_id)

    def continued(self, key: ApiKey, turns: Sequence[tuple[str, str, str]]) -> str | None:
        """The key's session whose conversation so far is exactly ``turns`` (a chatbot that
        resends the history and names no session), or None."""
        found = self.registry.by_conversation(conversation_ref(key.owner, turns))
        if found is None or not self.agent.exists(found):
            return None
        row = self.registry.owner(found)
        return found if row is not None and row[0] == key.owner else None

    def remember_conversation(
        self, key: ApiKey, session_id: str, turns: Sequence[tuple[str, str, str]]
    ) -> None:
        """Record the conversation a session now holds, for ``continued``."""
        self.registry.set_conversation(session_id, conversation_ref(key.owner, turns))

    def sessions(self, key: ApiKey) -> list[dict[str, Any]]:
        """This key's sessions whose patient its grant still covers, newest first."""
        return [
            row
            for row in self.registry.sessions(key.owner)
            if row["patient_id"] is None or key.may_open(row["patient_id"])
        ]

    def delete_session(self, key: ApiKey, session_id: str, patient_id: str | None = None) -> None:
        self.authorize(key, session_id, patient_id)
        self.agent.delete(session_id)  # under the session's lock
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
        patient_id: str | None = None,
    ) -> dict[str, Any]:
        """Run one turn under the session's lock (the agent takes it); with ``emit``,
        stream its events."""
        self.authorize(key, session_id, patient_id)
        with written(uploads) as p:
            if emit is None:
                return self.agent.ask(text, session_id=session_id, images=p, mode=mode).to_json()
            last: Event = {}
            for event in self.agent.stream(text, session_id=session_id, images=p, mode=mode):
                if event["type"] == "answer":  # the turn's one record, as plain data
                    event = event["result"].event()
                emit(event)
                last = event
            return last

    async def aturn(
        self,
        key: ApiKey,
        session_id: str,
        text: str,
        uploads: list[Upload],
        mode: str | None,
        patient_id: str | None = None,
    ) -> dict[str, Any]:
        """``turn`` without a thread, when the agent's turns can run on the event loop."""
        if not self.agent.runs_on_loop:
            return await self.call(
                self.turn, key, session_id, text, uploads, mode, None, patient_id
            )
        self.authorize(key, session_id, patient_id)
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
        patient_id: str | None = None,
    ) -> AsyncIterator[Event]:
        """The turn's events as they happen; an error event (with its status) if it fails."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Event | None] = asyncio.Queue()

        def emit(event: Event | None) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, event)

        def work() -> None:
            try:
                self.turn(key, session_id, text, uploads, mode, emit, patient_id)
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
    if isinstance(exc, (SessionBusy, PatientMismatch)):
        return 409, str(exc)
    if isinstance(exc, InputError):
        return 400, str(exc)
    if isinstance(exc, UnknownSession):
        return 404, "no such session"
    log.error("turn failed", exc_info=exc)
    return 500, "the turn failed inside the service; the session keeps what was committed"


def _same_patient(session_id: str, bound: str | None, asked: str) -> None:
    """409 naming both ids when a request names another patient than the session's."""
    if bound is not None and asked != bound:
        raise HTTPException(409, str(PatientMismatch(session_id, bound, asked)))


def _described(session_id: str, state: dict[str, Any]) -> dict[str, Any]:
    return {"session_id": session_id, "patient_id": state.get("patient_id"), "mode": state["mode"]}


def _year(date: Any) -> int | None:
    return int(str(date)[:4]) if date and str(date)[:4].isdigit() else None
