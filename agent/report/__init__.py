"""Rendering the one answer record for people: Markdown, one HTML file, or JSON.

An answer is the record a turn returns (:class:`agent.answer.Answer`, built once in the
respond node; renderers also take its stored plain-data record). Every face renders it the
same way: urgent banner first, then the differential, the findings with their evidence ids,
the prose, the references list resolving every id, what could not be done, and the
disclaimer.

Modules, each building only on those before it (no cycle): ``common`` (what every format
shares), ``markdown``, ``css``, ``images`` (pictures and outlined regions), ``html_evidence``
(evidence, references, citation links), ``html``, ``files`` (JSON and writing a file).
"""

from agent.report.common import (
    MODE_LABELS,
    PRODUCED_BY,
    all_cited_ids,
    as_record,
    readable_passage,
    reference_line,
    warnings_of,
)
from agent.report.files import to_html, to_json, write_report
from agent.report.html import CSP, render_html
from agent.report.markdown import to_markdown

__all__ = [
    "CSP",
    "MODE_LABELS",
    "PRODUCED_BY",
    "all_cited_ids",
    "as_record",
    "readable_passage",
    "reference_line",
    "render_html",
    "to_html",
    "to_json",
    "to_markdown",
    "warnings_of",
    "write_report",
]
