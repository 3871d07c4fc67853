"""The run's HTML page: one self-contained file, plots as inline SVG (nothing fetched).

Plots: score by arm with 95% CIs per benchmark, the paired difference (agent - bare)
with its CI, latency and token distributions (one tick per item), and the outcome
categories per arm. Then the summary table and MedEvalKit's figure for VQA benchmarks.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ARM_COLOURS = {"bare": "#1f5fa8", "agent": "#d9480f"}
CATEGORY_COLOURS = {
    "right": "#2b8a3e",
    "judged right": "#51cf66",
    "difflib right": "#a9e34b",
    "scored": "#868e96",
    "wrong": "#c92a2a",
    "judged wrong": "#ff8787",
    "difflib wrong": "#ffa94d",
    "unparsed": "#7048e8",
    "no model answer": "#f08c00",
    "error": "#212529",
}
W = 860


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _text(x: float, y: float, content: object, anchor: str = "middle") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="11">{_e(content)}</text>'
    )


def _line(x1: float, x2: float, y1: float, y2: float, colour: str = "#000", width: int = 2) -> str:
    return (
        f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{y1:.1f}" y2="{y2:.1f}" '
        f'stroke="{colour}" stroke-width="{width}"/>'
    )


def _colour(arm: str) -> str:
    return ARM_COLOURS.get(arm, "#495057")


def score_chart(summary: dict[str, Any]) -> str:
    """Grouped bars: each benchmark's score per arm, 0-1, with the CI as a whisker."""
    benches = list(summary["benchmarks"].items())
    tilt = len(benches) > 5  # long names side by side would overlap: slant them
    height, top, bottom, left = (330, 20, 130, 50) if tilt else (260, 20, 60, 50)
    plot_h = height - top - bottom
    group = (W - left - 20) / max(1, len(benches))
    parts = [f'<svg width="{W}" height="{height}" role="img" aria-label="score by arm">']
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        y = top + plot_h * (1 - tick)
        parts.append(
            f'<line x1="{left}" x2="{W - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#dee2e6"/>'
        )
        parts.append(_text(left - 6, y + 4, f"{tick:.2f}", "end"))
    for g, (name, entry) in enumerate(benches):
        arms = sorted(entry["arms"].items(), key=lambda kv: _arm_order(kv[0]))
        bar = min(60.0, group * 0.8 / max(1, len(arms)))
        x0 = left + g * group + (group - bar * len(arms)) / 2
        for a, (arm, stats) in enumerate(arms):
            value = stats["score"] or 0.0
            x = x0 + a * bar
            y = top + plot_h * (1 - value)
            parts.append(
                f'<rect class="bar" data-arm="{_e(arm)}" data-benchmark="{_e(name)}" '
                f'x="{x + 2:.1f}" y="{y:.1f}" width="{bar - 4:.1f}" '
                f'height="{plot_h * value:.1f}" fill="{_colour(arm)}"/>'
            )
            low, high = stats["ci95"]
            if low == low and high == high:  # not NaN
                cx = x + bar / 2
                y1, y2 = top + plot_h * (1 - low), top + plot_h * (1 - high)
                parts.append(_line(cx, cx, y1, y2))
            if bar >= 26:  # narrower bars: the table below has the figure
                parts.append(_text(x + bar / 2, y - 4, f"{value:.2f}"))
        cx, cy = left + g * group + group / 2, height - bottom + 18
        turn = f' transform="rotate(-35 {cx:.1f} {cy})"' if tilt else ""
        parts.append(
            f'<text x="{cx:.1f}" y="{cy}" text-anchor="{"end" if tilt else "middle"}" '
            f'font-size="12"{turn}>{_e(name)}</text>'
        )
    parts.append(_legend([(arm, _colour(arm)) for arm in _arms(summary)], height - 22))
    parts.append("</svg>")
    return "".join(parts)


def paired_chart(summary: dict[str, Any]) -> str:
    """One row per benchmark: the mean difference (agent - bare) and its 95% CI on -1..1."""
    rows = [(n, e["paired"]) for n, e in summary["benchmarks"].items() if e.get("paired")]
    if not rows:
        return "<p>No benchmark was run under both arms.</p>"
    left, right, row_h = 260, 30, 28
    height = 40 + row_h * len(rows)

    def x(v: float) -> float:
        return left + (W - left - right) * (v + 1) / 2

    parts = [
        f'<svg width="{W}" height="{height}" role="img" aria-label="paired difference">',
        f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="10" y2="{height - 20}" stroke="#868e96"/>',
    ]
    for tick in (-1, -0.5, 0, 0.5, 1):
        parts.append(_text(x(tick), height - 5, f"{tick:+.1f}"))
    for i, (name, p) in enumerate(rows):
        y = 24 + i * row_h
        low, high = p["ci95"]
        test = p.get("mcnemar")
        label = f"{name}  n={p['n']}" + (f"  McNemar p={test['p_value']:.3g}" if test else "")
        parts.append(
            f'<text x="{left - 8}" y="{y + 4}" text-anchor="end" font-size="11">{_e(label)}</text>'
        )
        parts.append(_line(x(low), x(high), y, y, width=3))
        parts.append(
            f'<circle cx="{x(p["difference"]):.1f}" cy="{y}" r="6" fill="{_colour("agent")}"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def strip_chart(records: dict[str, dict[str, list[dict[str, Any]]]], what: str) -> str:
    """One tick per item on a shared axis, a row per benchmark and arm (latency or tokens)."""
    rows = []
    for bench, arms in records.items():
        for arm, recs in arms.items():
            values = [_value(r, what) for r in recs if not r.get("error")]
            rows.append((f"{bench} / {arm}", arm, values))
    top_value = max([v for _, _, vs in rows for v in vs] or [1.0]) or 1.0
    left, right, row_h = 200, 30, 26
    height = 40 + row_h * len(rows)
    parts = [f'<svg width="{W}" height="{height}" role="img" aria-label="{_e(what)}">']
    for i, (label, arm, values) in enumerate(rows):
        y = 20 + i * row_h
        parts.append(
            f'<text x="{left - 8}" y="{y + 4}" text-anchor="end" font-size="11">{_e(label)}</text>'
        )
        for v in values:
            x = left + (W - left - right) * v / top_value
            parts.append(_line(x, x, y - 8, y + 8, _colour(arm)))
    parts.append(
        f'<text x="{W - right}" y="{height - 5}" text-anchor="end" font-size="11">'
        f"max {top_value:.3g} {'s' if what == 'latency' else 'tokens'}</text></svg>"
    )
    return "".join(parts)


def category_chart(summary: dict[str, Any]) -> str:
    """A stacked bar per benchmark and arm: the share of items in each outcome category."""
    rows = [
        (f"{b} / {a}", s["categories"], s["n"])
        for b, e in summary["benchmarks"].items()
        for a, s in e["arms"].items()
    ]
    left, right, row_h = 200, 30, 26
    height = 50 + row_h * len(rows)
    parts = [f'<svg width="{W}" height="{height}" role="img" aria-label="outcome categories">']
    seen: list[str] = []
    for i, (label, counts, n) in enumerate(rows):
        y = 12 + i * row_h
        x = float(left)
        parts.append(
            f'<text x="{left - 8}" y="{y + 13}" text-anchor="end" font-size="11">{_e(label)}</text>'
        )
        for name in CATEGORY_COLOURS:
            if counts.get(name):
                width = (W - left - right) * counts[name] / max(1, n)
                parts.append(
                    f'<rect class="category" data-category="{_e(name)}" x="{x:.1f}" y="{y}" '
                    f'width="{width:.1f}" height="18" fill="{CATEGORY_COLOURS[name]}"/>'
                )
                x += width
                seen.append(name) if name not in seen else None
    parts.append(_legend([(c, CATEGORY_COLOURS[c]) for c in seen], height - 14))
    parts.append("</svg>")
    return "".join(parts)


def _legend(entries: Sequence[tuple[str, str]], y: float) -> str:
    out, x = [], 50.0
    for label, colour in entries:
        out.append(f'<rect x="{x:.0f}" y="{y - 10:.0f}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{x + 16:.0f}" y="{y:.0f}" font-size="11">{_e(label)}</text>')
        x += 30 + 7 * len(label)
    return "".join(out)


def _arm_order(arm: str) -> int:
    return list(ARM_COLOURS).index(arm) if arm in ARM_COLOURS else len(ARM_COLOURS)


def _arms(summary: dict[str, Any]) -> list[str]:
    arms = dict.fromkeys(a for e in summary["benchmarks"].values() for a in e["arms"])
    return sorted(arms, key=_arm_order)


def _value(record: dict[str, Any], what: str) -> float:
    if what == "latency":
        return float(record.get("latency_s") or 0.0)
    tokens = record.get("tokens") or {}
    return float(tokens.get("prompt", 0) + tokens.get("completion", 0))


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else _e(value if value is not None else "–")


def summary_table(summary: dict[str, Any]) -> str:
    head = (
        "<tr><th>benchmark</th><th>arm</th><th>n</th><th>metric</th><th>score</th>"
        "<th>95% CI</th><th>errors</th><th>median latency (s)</th><th>tool calls / item</th></tr>"
    )
    body = []
    for bench, entry in summary["benchmarks"].items():
        for arm, s in entry["arms"].items():
            low, high = s["ci95"]
            body.append(
                f"<tr><td>{_e(bench)}</td><td>{_e(arm)}</td><td>{s['n']}</td><td>{_e(s['metric'])}</td>"
                f"<td>{_fmt(s['score'])}</td><td>{_fmt(low)} – {_fmt(high)}</td>"
                f"<td>{s['errors']}</td>"
                f"<td>{_fmt(s['latency_s']['median'])}</td><td>{_fmt(s['tool_calls_mean'])}</td></tr>"
            )
    return f"<table>{head}{''.join(body)}</table>"


def write_page(
    path: Path,
    summary: dict[str, Any],
    records: dict[str, dict[str, list[dict[str, Any]]]],
    *,
    title: str = "lingshu eval",
) -> Path:
    details = _e(json.dumps(summary, indent=1, default=str))
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px; color: #212529; background: #fff; }}
h1 {{ font-size: 22px; }} h2 {{ font-size: 17px; margin-top: 28px; }}
table {{ border-collapse: collapse; font-size: 13px; }}
td, th {{ border: 1px solid #ced4da; padding: 3px 8px; }}
pre {{ font-size: 11px; background: #f8f9fa; padding: 8px; max-height: 400px; overflow: auto; }}
.note {{ color: #495057; font-size: 13px; }}
</style></head><body>
<h1>{_e(title)}</h1>
<p class="note">Scores are accuracy (right/wrong items; an item whose request failed counts as
wrong), ROUGE-L for reports, differential F1 for DDXPlus. Whiskers: 95% bootstrap intervals.
For evaluation of models only; not for clinical use.</p>
<h2>Score by arm</h2>{score_chart(summary)}
<h2>Paired difference (agent − bare)</h2>{paired_chart(summary)}
<h2>Latency per item</h2>{strip_chart(records, "latency")}
<h2>Tokens per item (prompt + completion)</h2>{strip_chart(records, "tokens")}
<h2>Outcome categories</h2>{category_chart(summary)}
<h2>Summary</h2>{summary_table(summary)}
<h2>summary.json</h2><pre>{details}</pre>
</body></html>"""
    path.write_text(page, encoding="utf-8")
    return path
