"""The evidence ledger: what a session gathered, under ids that never change.

Ids are handed out by :class:`EvidenceLedger`: ``G#`` for guideline passages,
``E#`` for EHR resources, ``I#`` for images and derived images. The same source
(same ``key``) always keeps the id it got first in a session. The state schema,
the tools and the answer all import these types from here.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Literal, TypedDict

from knowledge.untrusted import untrusted

EvidenceKind = Literal["guideline", "ehr", "image"]

PREFIX: dict[EvidenceKind, str] = {"guideline": "G", "ehr": "E", "image": "I"}
KIND_OF_PREFIX: dict[str, EvidenceKind] = {v: k for k, v in PREFIX.items()}


class EvidenceRecord(TypedDict):
    """One piece of evidence gathered in a session (plain data: it is checkpointed)."""

    id: str
    """Stable id within the session: ``G3``, ``E12``, ``I2``."""
    kind: EvidenceKind
    key: str
    """What makes two retrievals the same source: chunk id, ``Observation/abc``, image sha + box."""
    label: str
    """One line for the references list: title and section, resource and date, image and region.

    Escaped with :func:`knowledge.untrusted.untrusted` (it may reach a prompt)."""
    excerpt: str
    """The short text the model was shown for it (escaped the same way)."""
    citation: dict[str, Any]
    """Everything needed to resolve it to its source (publisher, year, URL, FHIR type/date...);
    its strings escaped like the label."""


_PROGRAM_PATHS = {"path", "source_path"}
"""Citation keys holding the store's own file paths (read by the program, never shown)."""


def _escaped(value: Any) -> Any:
    """Every string in a citation through the one escaping function (keys and numbers kept)."""
    if isinstance(value, str):
        return untrusted(value)
    if isinstance(value, dict):
        return {k: v if k in _PROGRAM_PATHS else _escaped(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_escaped(v) for v in value]
    return value


class EvidenceLedger:
    """Assigns stable evidence ids; safe to use from tools running concurrently."""

    def __init__(self, existing: Mapping[str, EvidenceRecord] | None = None) -> None:
        self._records: dict[str, EvidenceRecord] = dict(existing or {})
        self._by_key: dict[tuple[str, str], str] = {
            (r["kind"], r["key"]): r["id"] for r in self._records.values()
        }
        self._new: dict[str, EvidenceRecord] = {}
        self._lock = threading.Lock()

    def cite(
        self,
        kind: EvidenceKind,
        key: str,
        *,
        label: str,
        excerpt: str = "",
        citation: Mapping[str, Any] | None = None,
    ) -> str:
        """Return the id of this source, creating it the first time it is seen."""
        with self._lock:
            found = self._by_key.get((kind, key))
            if found is not None:
                return found
            prefix = PREFIX[kind]
            number = 1 + sum(1 for r in self._records.values() if r["kind"] == kind)
            eid = f"{prefix}{number}"
            record = EvidenceRecord(
                id=eid,
                kind=kind,
                key=key,
                label=untrusted(label),
                excerpt=untrusted(excerpt),
                citation=_escaped(dict(citation or {})),
            )
            self._records[eid] = record
            self._by_key[(kind, key)] = eid
            self._new[eid] = record
            return eid

    def get(self, eid: str) -> EvidenceRecord | None:
        with self._lock:
            return self._records.get(eid)

    def ids(self, kind: EvidenceKind | None = None) -> list[str]:
        with self._lock:
            return [r["id"] for r in self._records.values() if kind is None or r["kind"] == kind]

    @property
    def new_records(self) -> dict[str, EvidenceRecord]:
        """Records created through this ledger (to be merged into the session state)."""
        with self._lock:
            return dict(self._new)
