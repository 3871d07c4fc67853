"""What every format of the answer shares: labels, reference lines, marks, warnings.

The answer is the one record of a turn (:class:`agent.answer.Answer`); the renderers take
an Answer or its stored record and read it back with :meth:`Answer.from_record`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from agent.answer import Answer
from agent.links import citation_url
from tools.evidence import EvidenceRecord

MODE_LABELS = {
    "clinical": "Clinical decision support (demonstration; not for clinical use without review)",
    "education": "Education mode: for teaching, not for patient care",
    "sequential": "Sequential diagnosis: for demonstration and education, not clinical use",
    "report": "Imaging report draft: to be reviewed by a qualified reader",
}
PRODUCED_BY = {
    "model": "reasoning model",
    "evidence_brief": "evidence brief, produced without a reasoning model",
    "none": "no usable answer from the model",
}


# --- shared by every format ---------------------------------------------------------------
def reference_line(record: EvidenceRecord) -> str:
    """One references-list entry that resolves an evidence id to its source."""
    c = record["citation"]
    if record["kind"] == "guideline":
        where = " — ".join(str(p) for p in (c.get("title"), c.get("section")) if p)
        source = ", ".join(str(p) for p in (c.get("publisher"), c.get("year")) if p)
        parts = [where or record["label"], source, citation_url(c) or ""]  # http(s)/DOI only
        if c.get("page"):
            parts.append(f"p. {c['page']}")
        return f"[{record['id']}] " + ". ".join(p for p in parts if p)
    if record["kind"] == "ehr":
        return f"[{record['id']}] {record['label']}"
    if record["kind"] == "finding":  # the vision model's answer about images (split mode)
        return f"[{record['id']}] Finding of {record['label']}: {record['excerpt']}"
    extra = []
    if c.get("parent"):
        extra.append(f"derived from {c['parent']}")
    if c.get("box"):
        extra.append(box_text(c["box"]))
    window = c.get("window") or (c.get("view") or {}).get("window")
    if window:
        extra.append(window_text(window))
    return f"[{record['id']}] {record['label']}" + (f" ({'; '.join(extra)})" if extra else "")


def box_text(box: Any) -> str:
    """``region x 0.20-0.60, y 0.10-0.50 of the image`` from a normalised [x0, y0, x1, y1]."""
    try:
        x0, y0, x1, y1 = (float(v) for v in box)
    except (TypeError, ValueError):
        return f"region {box}"
    return f"region x {x0:.2f}-{x1:.2f}, y {y0:.2f}-{y1:.2f} of the image"


def window_text(window: Any) -> str:
    """``lung window (centre -600, width 1500)`` from a window record (dict or text)."""
    if not isinstance(window, Mapping):
        return f"window {window}"
    name = str(window.get("name") or "").strip()
    parts = []
    for key, label in (("center", "centre"), ("width", "width")):
        if window.get(key) is not None:
            try:
                parts.append(f"{label} {float(window[key]):g}")
            except (TypeError, ValueError):
                parts.append(f"{label} {window[key]}")
    head = f"{name} window" if name else "window"
    return f"{head} ({', '.join(parts)})" if parts else head


_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def readable_passage(text: str) -> str:
    """A passage with its Markdown tables as lines of ``header: value; ...`` (for flat text)."""
    lines = text.splitlines()
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        nxt = lines[index + 1] if index + 1 < len(lines) else ""
        if line.strip().startswith("|") and _TABLE_RULE.match(nxt):
            header = _cells(line)
            index += 2
            while index < len(lines) and lines[index].strip().startswith("|"):
                row = _cells(lines[index])
                pairs = [f"{h}: {v}" if h else v for h, v in zip(header, row, strict=False) if v]
                out.append("; ".join(pairs) + ".")
                index += 1
            continue
        out.append(line)
        index += 1
    return "\n".join(out)


# --- claim verdicts (the shared answer convention) -----------------------------------------
CHECK_MARKS = {"checked": "✓", "unchecked": "?", "mismatch": "✗"}
CHECK_WORDS = {"checked": "checked", "unchecked": "not checked", "mismatch": "mismatch"}


def check_mark(item: Mapping[str, Any]) -> str:
    """The mark beside a claim: ``✓``, ``?`` or ``✗ mismatch: reason`` ('' when absent)."""
    check = item.get("check")
    if not isinstance(check, Mapping) or check.get("status") not in CHECK_MARKS:
        return ""
    status = str(check["status"])
    if status == "mismatch":
        return f"✗ mismatch: {check.get('reason', '')}".rstrip(": ")
    return CHECK_MARKS[status]


def claim_counts_line(answer: Mapping[str, Any]) -> str:
    """``Claims: 5 checked · 1 not checked · 1 mismatch`` ('' when the answer has no counts)."""
    counts = answer.get("claim_counts")
    if not isinstance(counts, Mapping) or not any(counts.get(k) for k in CHECK_MARKS):
        return ""
    return " · ".join(
        f"{CHECK_MARKS[k]} {int(counts.get(k) or 0)} {CHECK_WORDS[k]}" for k in CHECK_MARKS
    )


def code_status(answer: Mapping[str, Any], code: str | None) -> str:
    """``""`` for a valid billable code, else a short warning: not billable, not found."""
    if not code:
        return ""
    checks = answer.get("code_checks") or {}
    check = checks.get(code) or checks.get(code.strip().upper())
    if check is None:
        return ""
    if not check.get("exists", False):
        return "not an ICD-10-CM code"
    if not check.get("billable", True):
        return "category, not billable"
    return ""


def percent(value: float) -> str:
    return f"{round(100 * float(value))}%"


def other_likelihood(differential: Mapping[str, Any]) -> float:
    total = sum(float(d.get("likelihood") or 0) for d in differential.get("diagnoses") or [])
    return max(0.0, 1.0 - total)


def all_cited_ids(answer: Answer | Mapping[str, Any]) -> list[str]:
    """Every evidence id the answer cites anywhere: prose, differential, red-flag banner."""
    return Answer.from_record(answer).all_cited_ids()


def as_record(answer: Answer | Mapping[str, Any]) -> dict[str, Any]:
    """The answer record every renderer reads (read back through :class:`Answer`)."""
    return Answer.from_record(answer).record()


def warnings_of(answer: Mapping[str, Any]) -> list[str]:
    """The answer's warnings, with the model error and unresolved ids when not already said."""
    warnings = [str(w) for w in answer.get("warnings") or []]
    error = answer.get("model_error")
    said = [*warnings, str(answer.get("text") or "")]
    if error and not any(str(error) in w for w in said):
        warnings.append(f"model error: {error}")
    for eid in answer.get("unknown_citations") or []:
        if not any(eid in w for w in warnings):
            warnings.append(f"{eid} is cited but is not in this session's evidence")
    return warnings


def source_line(source: Mapping[str, Any] | None) -> str:
    """``Guideline, Publisher Year, URL`` of a red-flag rule."""
    source = source or {}
    head = ", ".join(
        str(p) for p in (source.get("guideline"), source.get("publisher"), source.get("year")) if p
    )
    return " ".join(p for p in (head, citation_url(source) or "") if p)
