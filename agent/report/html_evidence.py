"""The evidence and references sections of the HTML report, and citation links.

Every cited id links to its entry in the references list (``#ref-G1``); every entry
resolves the id to its source; every image region the session inspected is outlined,
cited or not. Citations in text are found by the one grammar of :mod:`tools.evidence`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from html import escape
from pathlib import Path
from typing import Any

from agent.links import citation_url
from agent.report.common import all_cited_ids
from agent.report.images import Picture, pictures, region_text, view_facts
from tools.evidence import CITATION_GROUP, EvidenceRecord, group_parts

_TAG = re.compile(r"(<[^>]*>)")


# --- citations ------------------------------------------------------------------------------
def cite_links(ids: Iterable[str]) -> str:
    """``[G1] [E2]`` as links to the references list."""
    return " ".join(
        f'<a class="cite" href="#ref-{escape(i, quote=True)}">[{escape(i)}]</a>' for i in ids
    )


def _link_group(match: re.Match[str]) -> str:
    links = [
        f'<a class="cite" href="#ref-{escape(eid, quote=True)}">{escape(part)}</a>'
        for part, eid in group_parts(match.group(1))
    ]
    return "[" + ", ".join(links) + "]"


def link_citations(html_text: str) -> str:
    """Turn ``[G1, E2]`` in already-escaped HTML text (not inside tags) into links."""
    parts = _TAG.split(html_text)
    return "".join(p if p.startswith("<") else CITATION_GROUP.sub(_link_group, p) for p in parts)


def evidence_section(
    refs: list[EvidenceRecord], image_root: str | Path | None, inspected: list[EvidenceRecord]
) -> str:
    ehr = [r for r in refs if r["kind"] == "ehr"]
    guide = [r for r in refs if r["kind"] == "guideline"]
    findings = [r for r in refs if r["kind"] == "finding"]
    cited = {r["id"] for r in refs}
    images = [r for r in refs if r["kind"] == "image"]
    images += [r for r in inspected if r.get("kind") == "image" and r["id"] not in cited]
    parts = []
    if ehr:
        parts.append("<h3>Patient record</h3>" + _ehr_table(ehr))
    if guide:
        parts.append("<h3>Guideline passages</h3>" + _quotes(guide))
    if findings:
        parts.append("<h3>Findings of the vision model</h3>" + _quotes(findings))
    if images:
        uncited = {r["id"] for r in images} - cited
        parts.append("<h3>Images</h3>" + _images(pictures(images, image_root), uncited))
    if not parts:
        return ""
    return '<section id="evidence"><h2>Evidence</h2>' + "".join(parts) + "</section>"


def _ehr_table(records: list[EvidenceRecord]) -> str:
    rows = []
    for r in records:
        c = r["citation"]
        value = " ".join(str(c[k]) for k in ("value_text", "unit") if c.get(k))
        if not value and c.get("value") is not None:
            value = f"{c['value']} {c.get('unit') or ''}".strip()
        flag = (
            f' <span class="badcode">{escape(str(c["interpretation"]))}</span>'
            if c.get("interpretation") not in (None, "", "N")
            else ""
        )
        rows.append(
            f'<tr id="ev-{escape(r["id"], quote=True)}"><td>{cite_links([r["id"]])}</td>'
            f"<td>{escape(str(c.get('resource_type', '')))}</td>"
            f"<td>{escape(str(c.get('date') or 'undated')[:16].replace('T', ' '))}</td>"
            f"<td>{escape(str(c.get('display') or r['label']))}</td>"
            f"<td>{escape(value)}{flag}</td></tr>"
        )
    return (
        '<table class="ehr"><thead><tr><th>Id</th><th>Resource</th><th>Date</th><th>What</th>'
        "<th>Value</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _images(pics: list[Picture], uncited: set[str]) -> str:
    """Each original with its derived views beside it (views inspected but not cited too)."""
    sets = []
    for pic in pics:
        if not pic.root:
            views = "".join(_figure(v, v.eid in uncited) for v in pics if v.root == pic.eid)
            sets.append(
                f'<div class="imgset">{_figure(pic, pic.eid in uncited)}'
                f'<div class="views">{views}</div></div>'
            )
    return "".join(sets)


def _figure(p: Picture, uncited: bool = False) -> str:
    eid = escape(p.eid, quote=True)
    if p.data_url:
        img = f'<img src="{p.data_url}" alt="{escape(p.title, quote=True)}">'
    else:
        img = f'<div class="noimg">{escape(p.missing)}</div>'
    regions = "".join(f"<li>{cite_links([rid])} {escape(where)}</li>" for rid, where in p.regions)
    regions_html = f"<p>Regions inspected (outlined):</p><ul>{regions}</ul>" if regions else ""
    note = '<br><span class="uncited">inspected, not cited in the answer</span>' if uncited else ""
    return (
        f'<figure class="{"view" if p.root else "original"}" id="ev-{eid}">{img}<figcaption>'
        f"{cite_links([p.eid])} {escape(p.title)}<br><span class=muted>{escape(p.facts)}</span>"
        f"{note}{regions_html}</figcaption></figure>"
    )


def _reference(r: EvidenceRecord) -> str:
    c = r["citation"]
    if r["kind"] == "guideline":
        where = " — ".join(escape(str(c[k])) for k in ("title", "section") if c.get(k))
        src = ", ".join(escape(str(c[k])) for k in ("publisher", "year") if c.get(k))
        page = f", p. {escape(str(c['page']))}" if c.get("page") else ""
        url = citation_url(c)
        link = f' <a href="{escape(url, quote=True)}">{escape(url)}</a>' if url else ""
        return f"Guideline: <cite>{where or escape(r['label'])}</cite>. {src}{page}.{link}"
    if r["kind"] == "ehr":
        rtype = escape(str(c.get("resource_type", "")))
        rid = escape(str(c.get("id", "")))
        date = escape(str(c.get("date") or "undated")[:10])
        what = " ".join(str(c[k]) for k in ("display", "value_text", "unit") if c.get(k))
        return f"Patient record: {rtype}/{rid}, {date}: {escape(what or r['label'])}."
    if r["kind"] == "image":
        return _image_reference(r)
    if r["kind"] == "finding":
        return _finding_reference(r)
    return f"{escape(str(r['kind']).capitalize())}: {escape(r['label'])}."


def _image_reference(r: EvidenceRecord) -> str:
    c = r["citation"]
    size = f"{c.get('width')}x{c.get('height')} px" if c.get("width") else ""
    name = escape(", ".join(str(p) for p in (c.get("source_name"), size) if p))
    if c.get("parent"):
        root = escape(str(c.get("root") or c["parent"]))
        return (
            f"Image view: {escape(view_facts(c))}; region {escape(region_text(c))} "
            f"of the original {root}; {name}."
        )
    return f"Image: {escape(r['label'])}, original as given."


def _finding_reference(r: EvidenceRecord) -> str:
    """The vision model's finding on images, with links to the images it looked at."""
    c = r["citation"]
    images = [str(i) for i in c.get("images") or []]
    on = f" on {cite_links(images)}" if images else ""
    model = escape(str(c.get("model") or "the vision model"))
    question = escape(str(c.get("question") or ""))
    asked = f", asked: <q>{question}</q>" if question else ""
    return f"Finding of {model}{on}{asked}: {escape(r['excerpt'])}"


def references_section(answer: Mapping[str, Any], refs: list[EvidenceRecord]) -> str:
    by_id = {r["id"]: r for r in refs}
    order = [r["id"] for r in refs] + [i for i in all_cited_ids(answer) if i not in by_id]
    if not order:
        return ""
    items = []
    for eid in order:
        record = by_id.get(eid)
        body = (
            _reference(record)
            if record
            else '<span class="badcode">not in this session\'s evidence</span>'
        )
        items.append(
            f'<li id="ref-{escape(eid, quote=True)}"><span class="rid">[{escape(eid)}]</span> '
            f"{body}</li>"
        )
    refs_list = "".join(items)
    return (
        f'<section id="references"><h2>References</h2><ul class="refs">{refs_list}</ul></section>'
    )


def _quotes(records: list[EvidenceRecord]) -> str:
    return "".join(
        f'<blockquote id="ev-{escape(r["id"], quote=True)}">'
        f'<p class="src">{cite_links([r["id"]])} '
        f"{escape(r['label'])}</p><p>{escape(r['excerpt'])}</p></blockquote>"
        for r in records
    )
