"""Rendering an answer for people: Markdown with a references list, or JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tools.runtime import EvidenceRecord


def reference_line(record: EvidenceRecord) -> str:
    """One references-list entry that resolves an evidence id to its source."""
    c = record["citation"]
    if record["kind"] == "guideline":
        where = " — ".join(str(p) for p in (c.get("title"), c.get("section")) if p)
        source = ", ".join(str(p) for p in (c.get("publisher"), c.get("year")) if p)
        parts = [where or record["label"], source, str(c.get("url") or "")]
        if c.get("page"):
            parts.append(f"p. {c['page']}")
        return f"[{record['id']}] " + ". ".join(p for p in parts if p)
    if record["kind"] == "ehr":
        return f"[{record['id']}] {record['label']}"
    extra = []
    if c.get("parent"):
        extra.append(f"derived from {c['parent']}")
    if c.get("box"):
        extra.append("region " + ", ".join(f"{v:.2f}" for v in c["box"]))
    if c.get("window"):
        extra.append(f"window {c['window']}")
    return f"[{record['id']}] {record['label']}" + (f" ({'; '.join(extra)})" if extra else "")


def to_markdown(answer: Mapping[str, Any]) -> str:
    """The answer text, its references, what could not be done, and the disclaimer."""
    parts = [str(answer.get("text") or "_No answer this turn._")]
    refs = answer.get("references") or []
    if refs:
        parts.append("**References**\n" + "\n".join(f"- {reference_line(r)}" for r in refs))
    warnings = answer.get("warnings") or []
    if warnings:
        parts.append("**Warnings**\n" + "\n".join(f"- {w}" for w in warnings))
    if answer.get("disclaimer"):
        parts.append(f"_{answer['disclaimer']}_")
    return "\n\n".join(parts)


def to_json(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, indent=2, default=str)
