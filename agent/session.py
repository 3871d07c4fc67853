"""The Python API: consultation sessions over the graph, as the CLI and server use them.

>>> agent = Lingshu(Settings())
>>> result = agent.ask("62-year-old with chest pain ...", patient_id="demo-chest-pain")
>>> result.final.text, result.session_id
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import Checkpointer, Command, Durability

from agent.checkpoints import SessionSqliteSaver, open_checkpointer
from agent.graph import build_graph, make_deps
from agent.locks import SessionBusy, SessionLocks, store_locks
from agent.prompting import is_user_turn, marker
from agent.questions import CLINICIAN_ANSWER, QUESTION, pending_question, question_answer
from agent.resources import Resources, open_resources
from agent.settings import Settings
from agent.state import MODES
from agent.turn import Collected, TurnResult, events
from knowledge.imaging import ImageError
from knowledge.untrusted import protocol_safe

__all__ = [
    "InputError",
    "Lingshu",
    "PatientMismatch",
    "SessionBusy",
    "TurnResult",
    "UnknownSession",
]


class InputError(ValueError):
    """The caller's input cannot start a turn; nothing was written to the session."""


class UnknownSession(LookupError):
    """No session with that id exists in the session store."""


class PatientMismatch(InputError):
    """A request names a patient other than the one its session is bound to."""

    def __init__(self, session_id: str, bound: str, asked: str) -> None:
        super().__init__(
            f"session {session_id} is about patient {bound}, not patient {asked}; "
            f"start a new session for patient {asked}"
        )
        self.session_id, self.bound, self.asked = session_id, bound, asked


class Lingshu:
    """Consultation sessions: one thread of the checkpointed graph per session id."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        model: BaseChatModel | None = None,
        tools: Sequence[BaseTool] | None = None,
        checkpointer: Checkpointer = None,
        resources: Resources | None = None,
        locks: SessionLocks | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self._locks = locks
        self.resources = resources if resources is not None else open_resources(self.settings)
        self.checkpointer = (
            checkpointer if checkpointer is not None else open_checkpointer(self.settings)
        )
        self.deps = make_deps(self.settings, model=model, tools=tools, resources=self.resources)
        """The graph's dependencies: its model, tools, stores and prompts."""
        # typed loosely here: the calls below pass run options as plain strings
        self.graph: Any = build_graph(deps=self.deps, checkpointer=self.checkpointer)

    @property
    def locks(self) -> SessionLocks:
        """The per-session locks of this session store: the same lock every face takes (a
        record lock beside the SQLite file, or a Postgres advisory lock), so two writers on
        one session, in one process or several, take turns."""
        if self._locks is None:
            self._locks = store_locks(self.settings.sessions_path)
        return self._locks

    @contextmanager
    def hold(self, session_id: str | None) -> Iterator[None]:
        """Hold a session's lock (waits ``server_lock_wait_s``, then SessionBusy)."""
        if session_id is None:  # a new session: nobody else knows it yet
            yield
            return
        with self.locks.hold(session_id, self.settings.server_lock_wait_s):
            yield

    @asynccontextmanager
    async def ahold(self, session_id: str | None) -> AsyncIterator[None]:
        """``hold`` for an event loop (waits without blocking it)."""
        if session_id is None:
            yield
            return
        async with self.locks.ahold(session_id, self.settings.server_lock_wait_s):
            yield

    @property
    def _durability(self) -> Durability:
        return "sync" if self.settings.checkpoint_every == "step" else "exit"

    # --- sessions ---------------------------------------------------------------------
    def new_session(
        self,
        *,
        patient_id: str | None = None,
        mode: str | None = None,
        history: Sequence[tuple[str, str]] = (),
    ) -> str:
        """Create a session bound to a patient (or none) and return its id.

        ``history``: earlier turns of the conversation held elsewhere (a chatbot that
        resends it), as ``("user" | "assistant", text)`` pairs: they open the session, so
        the model sees them as the turns before the next question.
        """
        session_id = uuid.uuid4().hex[:12]
        carried: list[Any] = []
        for role, text in history:
            if role == "user":
                carried.append(HumanMessage(content=text))
            elif role == "assistant":  # the client's word, not the model's: no token in it
                carried.append(AIMessage(content=protocol_safe(text)))
            else:
                raise InputError(f"a carried turn must be 'user' or 'assistant', not {role!r}")
        values: dict[str, Any] = {
            "patient_id": patient_id,
            "mode": mode or self.settings.mode,
            "messages": carried,
        }
        self.graph.update_state(_config(session_id), values, as_node="respond")
        return session_id

    def exists(self, session_id: str) -> bool:
        checkpointer = self.graph.checkpointer
        if isinstance(checkpointer, SessionSqliteSaver):  # one indexed row, nothing decoded
            return checkpointer.has_thread(session_id)
        return checkpointer.get_tuple(_config(session_id)) is not None

    def delete(self, session_id: str) -> None:
        """Remove every checkpoint of a session (raises UnknownSession; waits for a turn of
        it that is running, up to ``server_lock_wait_s``, then SessionBusy)."""
        with self.hold(session_id):
            if not self.exists(session_id):
                raise UnknownSession(f"no session {session_id!r} in {self.settings.sessions_path}")
            self.graph.checkpointer.delete_thread(session_id)
            self.resources.images.release_session(session_id)  # images no other session holds

    def state(self, session_id: str) -> dict[str, Any]:
        """The whole checkpointed state of a session (raises UnknownSession)."""
        snapshot = self.graph.get_state(_config(session_id))
        if snapshot.created_at is None:  # no checkpoint: no such session
            raise UnknownSession(f"no session {session_id!r} in {self.settings.sessions_path}")
        return dict(snapshot.values)

    def _stored(self, session_id: str) -> dict[str, Any]:
        """The session's last committed values, read straight from the store (raises
        UnknownSession): cheaper than ``state``, which also works out the next steps."""
        saved = self.graph.checkpointer.get_tuple(_config(session_id))
        if saved is None:
            raise UnknownSession(f"no session {session_id!r} in {self.settings.sessions_path}")
        return dict(saved.checkpoint.get("channel_values") or {})

    def turns(self, session_id: str) -> list[dict[str, str]]:
        """The conversation as the user saw it: user questions and final answers."""
        out = []
        for msg in self.state(session_id).get("messages", []):
            if is_user_turn(msg) or marker(msg) == CLINICIAN_ANSWER:
                out.append({"role": "user", "text": msg.text})
            elif (
                isinstance(msg, AIMessage)
                and not msg.tool_calls
                and msg.text
                and msg.additional_kwargs.get("lingshu") in (None, "brief", QUESTION)
            ):
                out.append({"role": "assistant", "text": msg.text})
        return out

    def pending(self, session_id: str) -> dict[str, str] | None:
        """The question the session waits on (``{"question", "why"}``), or None: the next
        text sent to the session answers it (``ask``/``stream`` resume the turn)."""
        return pending_question(self.graph.get_state(_config(session_id)).interrupts)

    # --- turns ------------------------------------------------------------------------
    def ask(
        self,
        text: str,
        *,
        session_id: str | None = None,
        images: Sequence[str | Path] = (),
        patient_id: str | None = None,
        mode: str | None = None,
    ) -> TurnResult:
        """Run one turn to its answer, holding the session's lock (SessionBusy when another
        turn of it does not end within ``server_lock_wait_s``)."""
        with self.hold(session_id):
            session_id, payload = self._prepare(text, session_id, images, patient_id, mode)
            seen = Collected()
            for update in self.graph.stream(
                payload, _config(session_id), stream_mode="updates", durability=self._durability
            ):
                seen.add(update)
            return self._finish(session_id, seen)

    async def aask(
        self,
        text: str,
        *,
        session_id: str | None = None,
        images: Sequence[str | Path] = (),
        patient_id: str | None = None,
        mode: str | None = None,
    ) -> TurnResult:
        """``ask`` on an event loop (needs ``runs_on_loop``): the graph's steps are awaited,
        and only work that may block (tools, record reads, images) takes a thread."""
        async with self.ahold(session_id):
            if images:
                sid, payload = await asyncio.to_thread(
                    self._prepare, text, session_id, images, patient_id, mode
                )
            else:  # a read of the session store
                sid, payload = self._prepare(text, session_id, images, patient_id, mode)
            seen = Collected()
            async for update in self.graph.astream(
                payload, _config(sid), stream_mode="updates", durability=self._durability
            ):
                seen.add(update)
            return self._finish(sid, seen)

    @property
    def runs_on_loop(self) -> bool:
        """Whether ``aask`` may be used: the session store has an async face that does not
        block an event loop for long (the SQLite store here; not the stock sync savers)."""
        saver = self.graph.checkpointer
        if saver is None:
            return True
        return type(saver).aget_tuple not in (
            BaseCheckpointSaver.aget_tuple,
            SqliteSaver.aget_tuple,
        )

    def stream(
        self,
        text: str,
        *,
        session_id: str | None = None,
        images: Sequence[str | Path] = (),
        patient_id: str | None = None,
        mode: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Run one turn, yielding its steps: tool calls, tool results, tokens, and last the
        answer: ``result.event()`` (the record as plain data, ``type`` "answer") with the
        :class:`TurnResult` itself under ``"result"``, built from the answer the respond
        node sent in the stream (no second read of the state). The session's lock is held
        until the answer (or until the generator is closed)."""
        with self.hold(session_id):
            session_id, payload = self._prepare(text, session_id, images, patient_id, mode)
            yield {"type": "session", "session_id": session_id}
            chunks = self.graph.stream(
                payload,
                _config(session_id),
                stream_mode=["updates", "messages"],
                durability=self._durability,
            )
            seen = Collected()
            for mode_name, data in chunks:
                if mode_name == "updates":
                    seen.add(data)
                yield from events(mode_name, data)
            result = self._finish(session_id, seen)
            yield {**result.event(), "result": result}  # a question: its record is the question

    def _finish(self, session_id: str, seen: Collected) -> TurnResult:
        """The turn's result from the answer its respond node sent. A turn that ends without
        one (the graph stopped before respond) gets the session's stored answer, if any."""
        if seen.question is not None:  # the turn stopped at a question to the clinician
            return TurnResult.of(
                session_id, question_answer(self._stored(session_id), seen.question)
            )
        answer = seen.answer
        if answer is None:
            answer = self._stored(session_id).get("answer")
        return TurnResult.of(session_id, answer, seen.gathered)

    def _prepare(
        self,
        text: str,
        session_id: str | None,
        images: Sequence[str | Path],
        patient_id: str | None,
        mode: str | None,
    ) -> tuple[str, dict[str, Any] | Command[Any]]:
        """Validate everything before anything is written to the session (a session that
        waits on a question gets the text as its answer: a resume command)."""
        if mode is not None and mode not in MODES:
            raise InputError(f"unknown mode {mode!r}; modes: {', '.join(MODES)}")
        if session_id is not None and self.exists(session_id) and self.pending(session_id):
            return session_id, self._resume(session_id, (text or "").strip(), images, patient_id)
        return self._new_turn(text, session_id, images, patient_id, mode)

    def _new_turn(
        self,
        text: str,
        session_id: str | None,
        images: Sequence[str | Path],
        patient_id: str | None,
        mode: str | None,
    ) -> tuple[str, dict[str, Any]]:
        """The input of a new turn, validated before anything is written to the session."""
        text = (text or "").strip()
        if not text and not images:
            raise InputError("the question is empty: type what you want to ask")
        if len(images) > self.settings.max_images_per_turn:
            raise InputError(
                f"{len(images)} images in one turn; at most {self.settings.max_images_per_turn}"
            )
        stored: list[dict[str, Any]] = []
        for image in images:
            try:
                info = self.resources.images.add(image)
            except ImageError as exc:
                raise InputError(f"image {image}: {exc}") from exc
            stored.append(
                {"citation": info.citation(), "label": info.label(), "excerpt": info.summary()}
            )
        if session_id is None:
            session_id = self.new_session(patient_id=patient_id, mode=mode)
            bound = patient_id
        elif patient_id is None:  # nothing to compare with the session's patient
            if not self.exists(session_id):
                raise UnknownSession(f"no session {session_id!r} in {self.settings.sessions_path}")
            bound = None
        else:
            bound = self._stored(session_id).get("patient_id")
            if patient_id and bound and patient_id != bound:
                raise PatientMismatch(session_id, bound, patient_id)
        if stored:  # the session holds its images: they go when it is deleted
            try:
                self.resources.images.claim(session_id, [s["citation"]["path"] for s in stored])
            except ImageError as exc:
                raise InputError(str(exc)) from exc
        payload: dict[str, Any] = {
            "messages": [HumanMessage(content=text or "Please look at the image(s).")],
            "incoming_images": stored,
        }
        if mode:
            payload["mode"] = mode
        if patient_id and not bound:
            payload["patient_id"] = patient_id
        return session_id, payload

    def _resume(
        self, session_id: str, text: str, images: Sequence[Any], patient_id: str | None
    ) -> Command[Any]:
        """The clinician's answer to the session's pending question, as a resume command."""
        if images:
            raise InputError(
                "the session waits for the answer to its question; send the answer as text "
                "alone, and the images in the next turn"
            )
        bound = self._stored(session_id).get("patient_id")
        if patient_id and bound and patient_id != bound:
            raise PatientMismatch(session_id, bound, patient_id)
        if not text:
            raise InputError("the answer is empty: type the answer to the agent's question")
        return Command(resume=text)


def _config(session_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": session_id}}
