"""Writing the answer to a file: HTML, Markdown or JSON, chosen by the suffix."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agent.answer import Answer
from agent.report.html import render_html
from agent.report.markdown import to_markdown


def to_json(payload: Answer | Mapping[str, Any]) -> str:
    """The answer record (or any payload) as indented JSON."""
    data = payload.record() if isinstance(payload, Answer) else payload
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)


def to_html(answer: Answer | Mapping[str, Any], *, image_root: str | Path | None = None) -> str:
    """One self-contained HTML report (see :func:`agent.report.html.render_html`)."""
    return render_html(answer, image_root=image_root)


_WRITERS = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md", ".json": "json"}


def write_report(
    path: str | Path, answer: Answer | Mapping[str, Any], *, image_root: str | Path | None = None
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
