"""The answer as one self-contained HTML file a clinician can open, print or attach.

Inline CSS, images as data URLs, no script and no external request: the only URLs
are source links in the references list and the red-flag banner, and only http(s)
URLs and DOIs become links (:func:`agent.links.safe_url`). A Content-Security-Policy
meta tag forbids every script and every fetch, so even a planted ``<script>`` that
escaped the escaping would not run. Everything that came from the model, the patient
record or a guideline is escaped; the prose is rendered as Markdown with raw HTML,
links and images switched off. Every cited id links to its entry in the references
list (``#ref-G1``), and every entry resolves the id to its source
(:mod:`agent.report.html_evidence`). Each finding and next step shows its claim check
(``check``), and the header the answer's ``claim_counts``.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from agent.answer import Answer
from agent.links import citation_url
from agent.report.common import (
    MODE_LABELS,
    PRODUCED_BY,
    as_record,
    code_status,
    other_likelihood,
    percent,
    warnings_of,
)
from agent.report.css import CSS
from agent.report.html_evidence import (
    cite_links,
    evidence_section,
    link_citations,
    references_section,
)
from agent.report.markdown import sequential_md
from tools.evidence import EvidenceRecord

_MD = (
    MarkdownIt("commonmark", {"html": False}).enable("table").disable(["image", "link", "autolink"])
)
CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'"
)
"""The report's Content-Security-Policy: no script at all, nothing fetched, data: images."""

_TITLES = {
    "clinical": "Consultation report",
    "education": "Teaching answer",
    "report": "Imaging report",
    "sequential": "Sequential diagnosis",
}


def render_html(answer: Answer | Mapping[str, Any], *, image_root: str | Path | None = None) -> str:
    """Banner, differential, findings, prose, evidence, images, references, warnings."""
    answer = as_record(answer)
    refs: list[EvidenceRecord] = list(answer.get("references") or [])
    mode = str(answer.get("mode") or "clinical")
    body = [
        _header(answer, mode),
        _banner(answer.get("red_flags") or []),
        _differential(answer),
        _prose(answer, mode),
        _panel(answer) if mode == "sequential" else "",
        evidence_section(refs, image_root, answer.get("inspected_images") or []),
        references_section(answer, refs),
        _warnings(warnings_of(answer)),
        f'<footer class="disclaimer"><p>{escape(str(answer.get("disclaimer") or ""))}</p>'
        f"<p>{escape(MODE_LABELS.get(mode, ''))}.</p></footer>",
    ]
    title = escape(_TITLES.get(mode, "Report"))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Lingshu · {title}</title><style>{CSS}</style></head>\n<body><main>\n"
        + "\n".join(part for part in body if part)
        + "\n</main></body></html>\n"
    )


def _text(value: Any) -> str:
    """Escaped text with its inline ``[G1]`` citations linked."""
    return link_citations(escape(str(value or "")))


# --- sections -------------------------------------------------------------------------------
def _header(answer: Mapping[str, Any], mode: str) -> str:
    produced = PRODUCED_BY.get(str(answer.get("produced_by")), str(answer.get("produced_by")))
    turn = answer.get("turn")
    meta = [
        f"Turn {escape(str(turn))}" if turn is not None else "",
        f"Produced by: {escape(produced)}",
    ]
    return (
        f"<header><h1>Lingshu · {escape(_TITLES.get(mode, 'Report'))}</h1>"
        f'<p class="mode mode-{escape(mode, quote=True)}">{escape(MODE_LABELS.get(mode, mode))}</p>'
        f'<p class="meta">{" · ".join(m for m in meta if m)}</p>{_claim_counts(answer)}</header>'
    )


CHECK_MARKS = {
    "checked": ("✓", "checked against its source"),
    "unchecked": ("?", "not checked"),
    "mismatch": ("✗", "does not match its source"),
}
"""The mark and words shown beside a claim for each ``check.status``."""


def _claim_counts(answer: Mapping[str, Any]) -> str:
    counts = answer.get("claim_counts")
    if not isinstance(counts, Mapping) or not any(counts.get(k) for k in CHECK_MARKS):
        return ""
    parts = [
        f'<span class="check check-{k}">{CHECK_MARKS[k][0]} {int(counts.get(k) or 0)} {k}</span>'
        for k in CHECK_MARKS
    ]
    return f'<p class="claims">Claims against their sources: {" · ".join(parts)}</p>'


def check_mark(item: Mapping[str, Any]) -> str:
    """The claim-check mark of a finding or next step (a mismatch with its reason), or ""."""
    check = item.get("check")
    if not isinstance(check, Mapping) or check.get("status") not in CHECK_MARKS:
        return ""
    status = str(check["status"])
    mark, words = CHECK_MARKS[status]
    reason = str(check.get("reason") or "")
    title = f"{words}: {reason}" if reason else words
    shown = f": {escape(reason)}" if status == "mismatch" and reason else ""
    return (
        f' <span class="check check-{status}" title="{escape(title, quote=True)}">'
        f"{mark} {escape(words)}{shown}</span>"
    )


def _banner(flags: list[Mapping[str, Any]]) -> str:
    if not flags:
        return ""
    items = []
    for flag in flags:
        matched = "; ".join(escape(str(m)) for m in flag.get("matched") or [])
        source = flag.get("source") or {}
        head = ", ".join(
            escape(str(source[k])) for k in ("guideline", "publisher", "year") if source.get(k)
        )
        url = citation_url(source)
        link = f' <a href="{escape(url, quote=True)}">{escape(url)}</a>' if url else ""
        items.append(
            f'<div class="flag"><h2>⚠ URGENT: {escape(str(flag.get("title", "")))}</h2>'
            f'<p class="action">{escape(str(flag.get("action", "")))}</p>'
            f'<p class="found">Found: {matched} {cite_links(flag.get("evidence") or [])}</p>'
            f'<p class="rule">Rule follows: {head}{link}</p></div>'
        )
    return '<section class="banner" role="alert">' + "".join(items) + "</section>"


def _findings(items: list[Mapping[str, Any]]) -> str:
    rows = [
        f"<li>{_text(i.get('text'))} {cite_links(i.get('evidence') or [])}{check_mark(i)}</li>"
        for i in items
    ]
    return "<ul>" + "".join(rows) + "</ul>"


def _steps(steps: list[Mapping[str, Any]]) -> str:
    rows = []
    for s in steps:
        why = f' <span class="why">— {_text(s.get("why"))}</span>' if s.get("why") else ""
        rows.append(
            f'<li><span class="kind">{escape(str(s.get("kind", "test")))}</span> '
            f"{_text(s.get('action'))}{why} {cite_links(s.get('evidence') or [])}"
            f"{check_mark(s)}</li>"
        )
    return "<ul class=steps>" + "".join(rows) + "</ul>"


def _code_cell(answer: Mapping[str, Any], code: str | None) -> str:
    if not code:
        return '<span class="muted">—</span>'
    status = code_status(answer, code)
    mark = f' <span class="badcode">⚠ {escape(status)}</span>' if status else ""
    check = (answer.get("code_checks") or {}).get(code) or {}
    desc = (
        f'<div class="codedesc">{escape(str(check["description"]))}</div>'
        if check.get("description")
        else ""
    )
    return f"<code>{escape(code)}</code>{mark}{desc}"


def _bar(value: float) -> str:
    width = max(0.0, min(100.0, 100 * float(value)))
    return (
        f'<div class="bar"><span style="width:{width:.0f}%"></span></div>'
        f'<span class="pct">{percent(value)}</span>'
    )


def _table(answer: Mapping[str, Any], dx: Mapping[str, Any]) -> str:
    rows = []
    for rank, d in enumerate(dx.get("diagnoses") or [], start=1):
        rows.append(
            f'<tr><td class="rank">{rank}</td><td><a href="#dx-{rank}">{escape(str(d.get("name")))}'
            f"</a></td><td>{_code_cell(answer, d.get('icd10'))}</td>"
            f'<td class="lik">{_bar(d.get("likelihood") or 0)}</td></tr>'
        )
    rows.append(
        '<tr class="other"><td class="rank">–</td><td>Other / not listed</td><td></td>'
        f'<td class="lik">{_bar(other_likelihood(dx))}</td></tr>'
    )
    return (
        '<table class="ddx"><thead><tr><th>#</th><th>Diagnosis</th><th>ICD-10-CM</th>'
        "<th>Likelihood</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _diagnosis(rank: int, d: Mapping[str, Any]) -> str:
    code = "".join(
        f" <code>{escape(str(d[k]))}</code>" for k in ("icd10", "disease_id") if d.get(k)
    )
    cols = []
    for key, title in (("supporting", "Supporting"), ("against", "Against")):
        items = d.get(key) or []
        inner = _findings(items) if items else '<p class="muted">none given</p>'
        cols.append(f'<div class="{key}"><h4>{title}</h4>{inner}</div>')
    steps = f"<h4>Next steps</h4>{_steps(d['next_steps'])}" if d.get("next_steps") else ""
    return (
        f'<article class="dx" id="dx-{rank}"><h3>{rank}. {escape(str(d.get("name")))}{code} '
        f'<span class="pct">{percent(d.get("likelihood") or 0)}</span></h3>'
        f'<div class="cols">{"".join(cols)}</div>{steps}</article>'
    )


def _differential(answer: Mapping[str, Any]) -> str:
    dx = answer.get("differential")
    if not dx:
        return ""
    parts = [f'<section class="summary"><p>{_text(dx.get("summary"))}</p></section>']
    if dx.get("red_flags"):
        parts.append(
            '<section class="model-flags"><h2>Red flags and urgent actions</h2>'
            f"{_findings(dx['red_flags'])}</section>"
        )
    parts.append(f'<section id="differential"><h2>Differential diagnosis</h2>{_table(answer, dx)}')
    parts.extend(_diagnosis(n, d) for n, d in enumerate(dx.get("diagnoses") or [], start=1))
    parts.append("</section>")
    if dx.get("missing"):
        missing = "".join(f"<li>{_text(m)}</li>" for m in dx["missing"])
        parts.append(f'<section class="missing"><h2>Not available</h2><ul>{missing}</ul></section>')
    return "\n".join(parts)


def _prose(answer: Mapping[str, Any], mode: str) -> str:
    text = str(answer.get("text") or "").strip()
    if not text:
        return "" if answer.get("differential") else '<p class="muted">No answer this turn.</p>'
    title = {"education": "Teaching notes", "report": "Report"}.get(mode, "Discussion")
    if not answer.get("differential") and mode == "clinical":
        title = "Answer"
    return (
        f'<section class="prose"><h2>{title}</h2>'
        f'<div class="md">{link_citations(_MD.render(text))}</div></section>'
    )


def _panel(answer: Mapping[str, Any]) -> str:
    """The panel's section (sequential mode), from its Markdown: raw HTML and links off."""
    text = "\n\n".join(sequential_md(answer))
    if not text:
        return ""
    return f'<section id="panel" class="panel"><div class="md">{_MD.render(text)}</div></section>'


def _warnings(warnings: list[str]) -> str:
    if not warnings:
        return ""
    items = "".join(f"<li>{_text(w)}</li>" for w in warnings)
    return f'<section class="warnings"><h2>Warnings</h2><ul>{items}</ul></section>'
