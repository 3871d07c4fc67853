"""What a tool receives at run time, and how it records evidence.

Tools never import the agent. The act node builds one :class:`ToolContext` per
tool round and injects it into every call through an ``InjectedToolArg``
parameter named ``ctx``, so the model never sees it and cannot set it.

Evidence is recorded through the :class:`tools.evidence.EvidenceLedger` in the context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypedDict

from tools.evidence import EvidenceLedger


class ToolError(Exception):
    """A failure the model can act on: bad argument, nothing found, store unavailable.

    The act node turns it into an error tool result with exactly this message.
    """


@dataclass
class ToolContext:
    """Dependencies of one tool round. Stores are ``None`` when not configured."""

    ledger: EvidenceLedger
    patient_id: str | None = None
    """The session's patient, bound at session start; tools read this patient only."""
    ehr: Any = None
    """A ``knowledge.ehr`` FHIR source, or None."""
    guidelines: Any = None
    """A ``knowledge.guidelines`` store, or None."""
    images: Any = None
    """The session's ``knowledge.imaging`` registry, or None."""
    max_output_chars: int = 4000
    extras: dict[str, Any] = field(default_factory=dict)


class ToolArtifact(TypedDict, total=False):
    """What a tool keeps for the program (the model sees only the content string)."""

    evidence: list[str]
    """Evidence ids this result cites."""
    images: list[str]
    """Derived image ids to show the model as a new user image message."""
    data: Any
    """Structured payload for renderers and the audit log."""


def requires(*needs: str) -> dict[str, Any]:
    """Tool metadata saying which context parts a tool needs (``ehr``, ``patient``, ...).

    The graph offers a tool only when every part it needs is present, so the model
    is never shown a tool that cannot run.
    """
    return {"requires": list(needs)}
