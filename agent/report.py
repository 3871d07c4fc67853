"""Rendering an answer for people: Markdown for the terminal, one HTML file, or JSON.

An answer is the plain dict a turn returns (:func:`agent.answer.build_answer`, plus the
differential, the program's red-flag screen and the ICD-10-CM checks). Every face
renders it the same way: urgent banner first, then the differential, the findings
with their evidence ids, the prose, the references list resolving every id, what
could not be done, and the disclaimer. The HTML report lives in
:mod:`agent.report_html`; this module holds what all formats share.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from agent.citations import cited_ids
from agent.links import citation_url
from tools.evidence import EvidenceRecord

MODE_LABELS = {
    "clinical": "Clinical decision support (demonstration; not for clinical use without review)",
    "education": "Education mode: for teaching, not for patient care",
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


def all_cited_ids(answer: Mapping[str, Any]) -> list[str]:
    """Every evidence id the answer cites anywhere: prose, differential, red-flag banner."""
    seen: dict[str, None] = dict.fromkeys(answer.get("citations") or [])
    seen.update(dict.fromkeys(cited_ids(str(answer.get("text") or ""))))
    for flag in answer.get("red_flags") or []:
        seen.update(dict.fromkeys(flag.get("evidence") or []))
    dx = answer.get("differential") or {}
    for finding in dx.get("red_flags") or []:
        seen.update(dict.fromkeys(finding.get("evidence") or []))
    for diagnosis in dx.get("diagnoses") or []:
        for key in ("supporting", "against", "next_steps"):
            for item in diagnosis.get(key) or []:
                seen.update(dict.fromkeys(item.get("evidence") or []))
    seen.update(dict.fromkeys(answer.get("unknown_citations") or []))
    return list(seen)


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


# --- Markdown -------------------------------------------------------------------------------
def _ids(ids: Iterable[str]) -> str:
    return " ".join(f"[{i}]" for i in ids)


def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _banner_md(answer: Mapping[str, Any]) -> list[str]:
    lines = []
    for flag in answer.get("red_flags") or []:
        quote = [f"> 🚨 **URGENT: {flag.get('title', '')}** — {flag.get('action', '')}"]
        matched = "; ".join(str(m) for m in flag.get("matched") or [])
        if matched or flag.get("evidence"):
            quote.append(f"> Found: {matched} {_ids(flag.get('evidence') or [])}".rstrip())
        if flag.get("source"):
            quote.append(f"> Rule follows: {source_line(flag.get('source'))}")
        lines.append(">\n".join(q + "\n" for q in quote).rstrip("\n"))
    return lines


def _mark_md(item: Mapping[str, Any]) -> str:
    mark = check_mark(item)
    if mark.startswith("✗"):
        return f" **{mark.split(':', 1)[0]}**:{mark.split(':', 1)[1]}" if ":" in mark else " **✗**"
    if mark == CHECK_MARKS["unchecked"]:
        return " (? not checked)"
    return f" {mark}" if mark else ""


def _findings_md(title: str, items: list[Mapping[str, Any]]) -> str:
    rows = [
        f"- {item.get('text', '')} {_ids(item.get('evidence') or [])}".rstrip() + _mark_md(item)
        for item in items
    ]
    return f"**{title}**\n" + "\n".join(rows)


def _steps_md(steps: list[Mapping[str, Any]]) -> str:
    rows = []
    for step in steps:
        why = f" — {step['why']}" if step.get("why") else ""
        ids = _ids(step.get("evidence") or [])
        row = f"- *{step.get('kind', 'test')}*: {step.get('action', '')}{why} {ids}".rstrip()
        rows.append(row + _mark_md(step))
    return "**Next steps**\n" + "\n".join(rows)


def differential_table_md(answer: Mapping[str, Any], differential: Mapping[str, Any]) -> str:
    """The ranked differential as a Markdown table, with the "other" remainder."""
    rows = ["| # | Diagnosis | ICD-10-CM | Likelihood |", "|---|---|---|---|"]
    for rank, dx in enumerate(differential.get("diagnoses") or [], start=1):
        code = dx.get("icd10") or "—"
        status = code_status(answer, dx.get("icd10"))
        code_cell = f"{code} ⚠ {status}" if status else code
        rows.append(
            f"| {rank} | {_cell(dx.get('name', ''))} | {_cell(code_cell)} "
            f"| {percent(dx.get('likelihood') or 0)} |"
        )
    rows.append(f"| – | Other / not listed | | {percent(other_likelihood(differential))} |")
    return "\n".join(rows)


def _differential_md(answer: Mapping[str, Any], dx: Mapping[str, Any]) -> list[str]:
    parts = [f"**Summary:** {dx.get('summary', '')}"]
    if dx.get("red_flags"):
        parts.append(_findings_md("Red flags and urgent actions", dx["red_flags"]))
    parts.append(differential_table_md(answer, dx))
    for rank, diagnosis in enumerate(dx.get("diagnoses") or [], start=1):
        codes = [str(diagnosis[k]) for k in ("icd10", "disease_id") if diagnosis.get(k)]
        code = f" ({', '.join(codes)})" if codes else ""
        block = [
            f"### {rank}. {diagnosis.get('name', '')}{code} — "
            f"{percent(diagnosis.get('likelihood') or 0)}"
        ]
        if diagnosis.get("supporting"):
            block.append(_findings_md("Supporting", diagnosis["supporting"]))
        if diagnosis.get("against"):
            block.append(_findings_md("Against", diagnosis["against"]))
        if diagnosis.get("next_steps"):
            block.append(_steps_md(diagnosis["next_steps"]))
        parts.append("\n\n".join(block))
    if dx.get("missing"):
        parts.append("**Not available**\n" + "\n".join(f"- {m}" for m in dx["missing"]))
    return parts


def marked_prose(answer: Mapping[str, Any]) -> str:
    """The answer's prose with each checked statement's mark after it."""
    text = str(answer.get("text") or "").strip()
    for statement in answer.get("statements") or []:
        sentence = str(statement.get("text") or "")
        mark = _mark_md(statement)
        if sentence and mark and sentence in text:
            text = text.replace(sentence, sentence + mark, 1)
    return text


def to_markdown(answer: Mapping[str, Any]) -> str:
    """Banner, mode, claim counts, differential, prose, references, warnings, disclaimer."""
    parts = _banner_md(answer)
    if answer.get("mode") == "education":
        parts.append(f"_{MODE_LABELS['education']}._")
    counts = claim_counts_line(answer)
    if counts:
        parts.append(f"**Claims:** {counts}")
    differential = answer.get("differential")
    text = marked_prose(answer)
    if differential:
        parts.extend(_differential_md(answer, differential))
        if text:
            parts.append(text)
    else:
        parts.append(text or "_No answer this turn._")
    refs = answer.get("references") or []
    if refs:
        parts.append("**References**\n" + "\n".join(f"- {_reference_md(r)}" for r in refs))
    warnings = warnings_of(answer)
    if warnings:
        parts.append("**Warnings**\n" + "\n".join(f"- {w}" for w in warnings))
    if answer.get("disclaimer"):
        parts.append(f"_{answer['disclaimer']}_")
    return _no_raw_html("\n\n".join(parts))


# "<" that would open a tag, a comment or a declaration in a Markdown viewer ("<5 mmol/L" stays).
_HTML_OPENER = re.compile(r"<(?=\s*[/A-Za-z!?])")


def _no_raw_html(markdown: str) -> str:
    """Markdown whose text cannot carry live HTML: the model's prose and findings, a
    record's or a guideline's words are shown as written, never rendered as a tag
    (``<script>``, ``<img onerror=...>``) by a chatbot's or a notebook's Markdown viewer."""
    return _HTML_OPENER.sub("&lt;", markdown)


def _reference_md(record: EvidenceRecord) -> str:
    """A references-list entry with its source's text inert in Markdown: a guideline title,
    a record label or a file name holding ``[x](https://...)`` or ``<img onerror=...>``
    is shown as text, never rendered as a link or as HTML by a Markdown viewer."""
    line = reference_line(record)
    prefix = f"[{record['id']}] "
    rest = line[len(prefix) :] if line.startswith(prefix) else line
    inert = rest.replace("<", "&lt;").replace("[", "\\[").replace("]", "\\]")
    return (prefix if line.startswith(prefix) else "") + inert


# --- JSON and files --------------------------------------------------------------------------
def to_json(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, indent=2, default=str)


def to_html(answer: Mapping[str, Any], *, image_root: str | Path | None = None) -> str:
    """One self-contained HTML report (see :func:`agent.report_html.render_html`)."""
    from agent.report_html import render_html  # the HTML module builds on the helpers above

    return render_html(answer, image_root=image_root)


_WRITERS = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md", ".json": "json"}


def write_report(
    path: str | Path, answer: Mapping[str, Any], *, image_root: str | Path | None = None
) -> Path:
    """Write the answer as HTML, Markdown or JSON, chosen by the file suffix; return the path.

    Raises:
        ValueError: the suffix is none of .html, .htm, .md, .markdown, .json.
    """
    target = Path(path).expanduser()
    kind = _WRITERS.get(target.suffix.lower())
    if kind is None:
        raise ValueError(
            f"cannot write a report to {target.name}: use a .html, .md or .json file name"
        )
    if kind == "html":
        content = to_html(answer, image_root=image_root)
    elif kind == "md":
        content = to_markdown(answer) + "\n"
    else:
        content = to_json(answer) + "\n"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content, encoding="utf-8")
    return target
