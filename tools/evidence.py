"""The evidence ledger: what a session gathered, under ids that never change.

Ids are handed out by :class:`EvidenceLedger`: ``G#`` for guideline passages,
``E#`` for EHR resources, ``I#`` for images and derived images (one letter per kind in
:data:`PREFIX`). The same source (same ``key``) always keeps the id it got first in a
session. The state schema, the tools and the answer all import these types from here.

It also holds the one evidence-id grammar (derived from :data:`PREFIX`, so a new kind's
ids are ids everywhere): :data:`EVIDENCE_ID` for one id, :data:`CITATION_GROUP` for a
bracketed group in text (``[G1, E2]``, ``[G1; 3]``: a bare number takes the letter before
it), :func:`cited_ids` for the ids a text cites, :func:`is_evidence_id`, :func:`parse_id`
for an id a caller typed, and :func:`collect_ids` for the ids of a nested answer or
differential. Nobody else writes an id regex.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from typing import Any, Literal, TypedDict

from knowledge.untrusted import untrusted

EvidenceKind = Literal["guideline", "ehr", "image", "finding"]

PREFIX: dict[EvidenceKind, str] = {"guideline": "G", "ehr": "E", "image": "I", "finding": "F"}
KIND_OF_PREFIX: dict[str, EvidenceKind] = {v: k for k, v in PREFIX.items()}

# --- the one evidence-id grammar ------------------------------------------------------------
_LETTERS = "".join(sorted(KIND_OF_PREFIX))
_PART = rf"[{_LETTERS}]?\d+"
_ALONE = r"(?<![A-Za-z0-9_])"
EVIDENCE_ID = re.compile(rf"{_ALONE}[{_LETTERS}][1-9]\d*(?![A-Za-z0-9_])")
"""One well-formed id standing alone (``G3``, ``I12``; not ``G01``, not the ``R1`` of ``EGFR1``)."""
CITATION_GROUP = re.compile(rf"\[\s*([{_LETTERS}]\d+(?:\s*[,;]\s*{_PART})*)\s*\]")
"""A bracketed citation in text: ``[G1]``, ``[G1, E2]``, ``[ G1 ; 3 ]`` (group 1: its inside).

Digits are taken as written, so a malformed ``[G01]`` is still a citation (of ``G01``, which
no ledger hands out: it is reported, not silently ignored)."""
_SEPARATOR = re.compile(r"\s*[,;]\s*")
_CITED_PART = re.compile(rf"([{_LETTERS}])?(\d+)")


def is_evidence_id(value: object) -> bool:
    """Whether ``value`` is exactly one well-formed evidence id (``G1``, not ``g1``/``G01``)."""
    return isinstance(value, str) and EVIDENCE_ID.fullmatch(value) is not None


def parse_id(value: object) -> str | None:
    """An id as a caller may type it (``" [i2] "``) in its one spelling (``I2``), or None."""
    cleaned = str(value).strip().strip("[]").strip().upper()
    return cleaned if is_evidence_id(cleaned) else None


def group_parts(inside: str) -> list[tuple[str, str]]:
    """Each part of one citation group's inside as written, with the id it names
    (``"G1, 3"`` -> ``[("G1", "G1"), ("3", "G3")]``); empty when it is no citation."""
    prefix, parts = "", []
    for part in _SEPARATOR.split(inside.strip()):
        m = _CITED_PART.fullmatch(part)
        if m is None:
            return []
        prefix = m.group(1) or prefix
        parts.append((part, f"{prefix}{m.group(2)}"))
    return parts


def group_ids(inside: str) -> list[str]:
    """The ids of one citation group's inside (``"G1, 3"`` -> ``["G1", "G3"]``)."""
    return [eid for _, eid in group_parts(inside)]


def citation_groups(text: str) -> Iterator[tuple[re.Match[str], list[str]]]:
    """Each bracketed citation group in ``text`` with the ids it names, in order."""
    for match in CITATION_GROUP.finditer(text):
        yield match, group_ids(match.group(1))


def cited_ids(text: str) -> list[str]:
    """Evidence ids cited in ``text``, in order of first appearance, each once."""
    seen: dict[str, None] = {}
    for _, ids in citation_groups(text):
        seen.update(dict.fromkeys(ids))
    return list(seen)


def strip_citations(text: str, replacement: str = "") -> str:
    """``text`` with every citation group (and the spaces before it) replaced."""
    return re.sub(rf"\s*{CITATION_GROUP.pattern}", replacement, text)


_ID_LISTS = ("evidence",)


def collect_ids(obj: object) -> list[str]:
    """Every id cited in a nested answer or differential (record or model), in order, once.

    Reads every ``evidence`` list at any depth (red flags, findings, next steps); prose is
    read with :func:`cited_ids`. A pydantic model is read through ``model_dump``."""
    seen: dict[str, None] = {}
    _walk(obj, seen)
    return list(seen)


def _walk(obj: object, seen: dict[str, None]) -> None:
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        obj = dump()
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            if key in _ID_LISTS and isinstance(value, list | tuple):
                seen.update(dict.fromkeys(str(v) for v in value if isinstance(v, str)))
            elif isinstance(value, Mapping | list | tuple):
                _walk(value, seen)
    elif isinstance(obj, list | tuple):
        for item in obj:
            _walk(item, seen)


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
