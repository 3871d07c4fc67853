"""The one state schema of a consultation, and its reducers.

Everything here is plain data (messages, dicts, strings): it is checkpointed after
every step. Images and evidence are ids and small records, never raw bytes.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict, get_args

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

from agent.panel.state import PanelState
from tools.evidence import EvidenceRecord

Mode = Literal["clinical", "education", "report", "sequential"]
MODES: tuple[str, ...] = get_args(Mode)
"""Every mode, for checking a caller's choice before a turn starts."""

# Markers in ``additional_kwargs["lingshu"]`` for messages the framework adds.
REPAIR = "repair"
"""A message to the model naming what was wrong with its last reply."""
REJECTED = "rejected"
"""A model reply that failed the checks (kept for the record, hidden from later turns)."""
TOOL_IMAGES = "tool_images"
"""Images a tool derived, shown to the model as a user image message."""
BUDGET = "budget"
"""Tells the model the tool budget of the turn is spent."""
BRIEF = "brief"
"""An evidence brief produced without a reasoning model."""
INTERRUPTED = "interrupted"
"""An error result closing a tool call whose turn died before it finished."""


def merge_evidence(
    left: dict[str, EvidenceRecord] | None, right: dict[str, EvidenceRecord] | None
) -> dict[str, EvidenceRecord]:
    """Union of evidence; an id, once given, never changes what it points at."""
    merged = dict(left or {})
    for eid, record in (right or {}).items():
        merged.setdefault(eid, record)
    return merged


class InputState(TypedDict, total=False):
    """What a caller sends for one turn."""

    messages: Annotated[list[AnyMessage], add_messages]
    """The conversation: the new user message is appended by the caller."""
    patient_id: str | None
    """The session's patient; bound at the first turn and never changed after."""
    mode: Mode
    """clinical | education | report | sequential; a session may switch between turns."""
    incoming_images: list[dict[str, Any]]
    """Images the caller stored for this turn: citation, label, excerpt (intake gives ids)."""


class ConsultState(InputState, PanelState, total=False):
    """The full state of a consultation thread (the sequential panel's keys from PanelState)."""

    evidence: Annotated[dict[str, EvidenceRecord], merge_evidence]
    """All evidence of the session by id (G#, E#, I#); ids are stable across turns."""
    synopsis: str
    """Short patient synopsis (from the EHR) shown to the model in the system prompt."""
    turn: int
    """Number of the current turn, from 1."""
    turn_start: int
    """Index in ``messages`` of the current turn's user message."""
    rounds: int
    """Tool rounds used in the current turn."""
    repairs: int
    """Repair messages sent in the current turn."""
    notes: list[str]
    """What this turn could not do or had to cut short (shown with the answer)."""
    rejected: list[str]
    """Tool calls of the last reply that were refused (told to the model after the results)."""
    model_error: str | None
    """Why the model could not be reached this turn, or None."""
    deadline: float
    """When this turn must end (epoch seconds): intake's time plus ``turn_deadline_s``."""
    red_flags: list[dict[str, Any]]
    """The program's red-flag screen of this turn (question + record), shown above the answer."""
    checked: dict[str, Any]
    """What verify found in the final reply: differential, code checks, support scores."""
    answer: dict[str, Any] | None
    """The last turn's answer: text, citations, references, warnings."""
    audit: Annotated[list[dict[str, Any]], operator.add]
    """One entry per tool call: turn, tool, arguments, status, milliseconds."""
