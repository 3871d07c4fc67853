"""The answer as Markdown: for the terminal, chatbots and notebooks (no live HTML in it)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from agent.answer import Answer
from agent.panel import costs_line, panel_markdown
from agent.report.common import (
    CHECK_MARKS,
    MODE_LABELS,
    as_record,
    check_mark,
    claim_counts_line,
    code_status,
    other_likelihood,
    percent,
    reference_line,
    source_line,
    warnings_of,
)
from tools.evidence import EvidenceRecord


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


def sequential_md(answer: Mapping[str, Any]) -> list[str]:
    """Sequential mode: the panel's section (kept differential, next action, each role,
    cost), or the cost line alone when the panel did not run this turn."""
    section = panel_markdown(answer).strip()
    if section:
        return [section]
    costs = answer.get("costs")
    return [costs_line(costs)] if costs else []


def to_markdown(answer: Answer | Mapping[str, Any]) -> str:
    """Banner, mode, claim counts, differential, prose, references, warnings, disclaimer."""
    answer = as_record(answer)
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
    if answer.get("mode") == "sequential":
        parts.extend(sequential_md(answer))
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
