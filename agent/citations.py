"""Citations in answer text: find them, check them against the session's evidence.

The grammar of ids and citations is :mod:`tools.evidence`'s (``cited_ids`` is its own).
The check is mechanical and strict: an id that is not in the session's evidence is
an error with a precise message, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from tools.evidence import KIND_OF_PREFIX, PREFIX, EvidenceRecord, cited_ids

__all__ = ["cited_ids", "describe_ids", "references", "unknown_citations"]


def describe_ids(ids: Iterable[str]) -> str:
    """Compact ranges per kind: ``G1-G4, E1-E2, I1``."""
    by_prefix: dict[str, list[int]] = {}
    for eid in ids:
        by_prefix.setdefault(eid[0], []).append(int(eid[1:]))
    parts = []
    for prefix in PREFIX.values():
        numbers = sorted(by_prefix.get(prefix, []))
        if not numbers:
            continue
        if numbers == list(range(numbers[0], numbers[-1] + 1)) and len(numbers) > 1:
            parts.append(f"{prefix}{numbers[0]}-{prefix}{numbers[-1]}")
        else:
            parts.append(", ".join(f"{prefix}{n}" for n in numbers))
    return "; ".join(parts)


def unknown_citations(text: str, evidence: Mapping[str, EvidenceRecord]) -> list[str]:
    """One problem sentence per cited id that the session does not have."""
    problems = []
    for eid in cited_ids(text):
        if eid in evidence:
            continue
        kind = KIND_OF_PREFIX[eid[0]]
        same_kind = [i for i, r in evidence.items() if r["kind"] == kind]
        have = (
            f"the {kind} evidence in this session is {describe_ids(same_kind)}"
            if same_kind
            else f"this session has no {kind} evidence"
        )
        problems.append(f"{eid} does not exist; {have}")
    return problems


def references(text: str, evidence: Mapping[str, EvidenceRecord]) -> list[EvidenceRecord]:
    """The evidence records cited in ``text`` that exist, in citation order."""
    return [evidence[eid] for eid in cited_ids(text) if eid in evidence]
