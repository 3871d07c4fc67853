"""Screen the user's text and the patient's record against the red-flag rules.

The rules live in ``rules.yaml`` beside this module (a data file: each rule names
the guideline its action follows). :func:`screen` returns the flags that fire,
each with what triggered it in words and the FHIR resources involved, so the graph
can cite them. For demonstration and education; not a validated triage tool.
"""

from __future__ import annotations

import logging
import operator
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

import yaml

from knowledge.ehr.source import FhirSource, FhirUnavailable
from knowledge.redflags.record import Episode
from knowledge.redflags.text import MEASURES, Measure, find_phrases, onsets, stated_values
from knowledge.untrusted import untrusted

log = logging.getLogger(__name__)

_OPS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "lt": (operator.lt, "<"),
    "le": (operator.le, "≤"),
    "gt": (operator.gt, ">"),
    "ge": (operator.ge, "≥"),
}


@dataclass
class RedFlag:
    """One fired rule: the urgent action, why it fired and the guidance it follows."""

    id: str
    title: str
    action: str
    matched: list[str]
    """What triggered it, in words ("systolic BP 84 mmHg on 2026-03-01 07:50 (record)")."""
    resources: list[dict[str, Any]]
    """FHIR resources that triggered it: ``{"resource_type", "id", "date", "label"}``."""
    source: dict[str, Any]
    """The guideline: ``{"guideline", "publisher", "year", "url"}``."""
    criteria: str = ""
    disclaimer: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Hit:
    words: str
    resource: dict[str, Any] | None = None
    onset: datetime | None = None


@dataclass
class _Context:
    text: str
    now: datetime
    episode: Episode
    cache: dict[str, list[_Hit]] = field(default_factory=dict)
    values: dict[str, list[float]] = field(default_factory=dict)
    """Values of each measure stated in ``text`` (several rules test the same measure)."""


@cache
def load_rules() -> dict[str, Any]:
    """The parsed ``rules.yaml`` (signals, sources, rules, disclaimer), compiled once."""
    raw = resources.files("knowledge.redflags").joinpath("rules.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(raw)
    for signal in data["signals"].values():
        signal["compiled"] = [re.compile(p, re.IGNORECASE) for p in signal.get("phrases", [])]
        for test in signal.get("measures", []):
            if test["measure"] not in MEASURES or not set(test) & set(_OPS):
                raise ValueError(f"rules.yaml: bad measure test {test}")
    return data


def _stated(ctx: _Context, measure: Measure) -> list[float]:
    if measure.name not in ctx.values:
        ctx.values[measure.name] = stated_values(ctx.text, measure)
    return ctx.values[measure.name]


def _measure_hits(test: dict[str, Any], ctx: _Context, record: bool) -> list[_Hit]:
    measure = MEASURES[test["measure"]]
    op_name = next(k for k in _OPS if k in test)
    check, sign = _OPS[op_name]
    limit = float(test[op_name])
    where = f"{measure.label} {sign} {limit:g} {measure.unit}".strip()
    hits = [
        _Hit(
            f"{measure.label} {v:g} {measure.unit} stated in the text ({where})".replace("  ", " ")
        )
        for v in _stated(ctx, measure)
        if check(v, limit)
    ]
    for entry in ctx.episode.measured(measure):
        if entry.value is not None and check(entry.value, limit) and entry.when:
            words = f"{measure.label} {entry.value:g} {measure.unit} on {entry.when:%Y-%m-%d %H:%M}"
            hits.append(_Hit(f"{words} in the record ({where})", entry.resource))
            break  # the newest value meeting the test
    if record:
        for entry in ctx.episode.texts:
            for value in stated_values(entry.text, measure):
                if check(value, limit):
                    label = entry.resource["label"]
                    hits.append(
                        _Hit(f"{measure.label} {value:g} in {label} ({where})", entry.resource)
                    )
    return hits


def _signal_hits(name: str, ctx: _Context) -> list[_Hit]:
    if name in ctx.cache:
        return ctx.cache[name]
    signal = load_rules()["signals"][name]
    record = bool(signal.get("record"))
    hits = [
        _Hit(
            f'{signal["label"]}: "{clause}" (text)',
            onset=min(onsets(clause, ctx.now), default=None),
        )
        for _, clause in find_phrases(ctx.text, signal["compiled"])
    ]
    if hits and hits[0].onset is None:  # an onset stated elsewhere in the text
        hits[0].onset = min(onsets(ctx.text, ctx.now), default=None)
    if record:
        for entry in ctx.episode.texts:
            for words, _clause in find_phrases(entry.text, signal["compiled"])[:1]:
                anchor = entry.when or ctx.now
                stated = (
                    onsets(entry.text, anchor)
                    if entry.resource["resource_type"] != "Condition"
                    else []
                )
                onset = min(
                    stated,
                    default=entry.when if entry.resource["resource_type"] == "Condition" else None,
                )
                hits.append(
                    _Hit(
                        f'{signal["label"]}: "{words}" in {entry.resource["label"]}',
                        entry.resource,
                        onset,
                    )
                )
    for test in signal.get("measures", []):
        hits.extend(_measure_hits(test, ctx, record))
    ctx.cache[name] = hits
    return hits


def _evaluate(node: Any, ctx: _Context) -> list[_Hit] | None:
    """Hits satisfying one criterion node, or None when it is not met."""
    if isinstance(node, str):
        return _signal_hits(node, ctx) or None
    if "all" in node:
        parts = [_evaluate(n, ctx) for n in node["all"]]
        return None if any(p is None for p in parts) else [h for p in parts if p for h in p]
    if "any" in node:
        met = [p for p in (_evaluate(n, ctx) for n in node["any"]) if p is not None]
        return [h for p in met for h in p] if met else None
    met = [p for p in (_evaluate(n, ctx) for n in node["of"]) if p is not None]
    return [h for p in met for h in p] if len(met) >= int(node["at_least"]) else None


def _in_window(rule: dict[str, Any], ctx: _Context) -> tuple[bool, str]:
    window = rule.get("onset")
    if not window:
        return True, ""
    found = [h.onset for h in _signal_hits(window["of"], ctx) if h.onset is not None]
    if not found:
        return bool(window.get("if_unknown")), "onset time not stated"
    hours = max((ctx.now - min(found)).total_seconds() / 3600, 0.0)
    return hours <= float(window["within_hours"]), f"onset about {hours:.1f} h before now"


def _fire(rule: dict[str, Any], ctx: _Context, disclaimer: str) -> RedFlag | None:
    hits = _evaluate({"all": rule["all"]}, ctx)
    if hits is None:
        return None
    inside, onset_words = _in_window(rule, ctx)
    if not inside:
        return None
    words = [untrusted(h.words, limit=300) for h in hits]  # record text: data, never markup
    matched = list(dict.fromkeys(words)) + ([onset_words] if onset_words else [])
    refs = {(r["resource_type"], r["id"]): r for h in hits if (r := h.resource) is not None}
    return RedFlag(
        id=rule["id"],
        title=rule["title"],
        action=" ".join(rule["action"].split()),
        matched=matched,
        resources=list(refs.values()),
        source=dict(rule["source"]),
        criteria=" ".join(str(rule.get("criteria", "")).split()),
        disclaimer=disclaimer,
    )


def _utc(now: datetime | None) -> datetime:
    moment = now or datetime.now(UTC)
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def screen(
    text: str,
    ehr: FhirSource | None = None,
    patient_id: str | None = None,
    *,
    now: datetime | None = None,
) -> list[RedFlag]:
    """Red flags raised by the user's text and the patient's current episode, most urgent first.

    Args:
        text: What the user wrote this turn.
        ehr: A FHIR source; with ``patient_id``, the patient's record is screened too.
        patient_id: The session's patient.
        now: The time the screen is made (default: now); naive times are taken as UTC.
            Onset windows count back from it and record entries after it are ignored.
    """
    moment = _utc(now)
    episode = Episode()
    if ehr is not None and patient_id:
        try:
            episode = Episode.read(ehr, patient_id, moment)
        except FhirUnavailable as exc:
            log.warning("red-flag screen read only the text: %s", exc)
    rules = load_rules()
    ctx = _Context(text or "", moment, episode)
    disclaimer = " ".join(rules["disclaimer"].split())
    fired = [f for r in rules["rules"] if (f := _fire(r, ctx, disclaimer)) is not None]
    ids = {f.id for f in fired}
    suppressed = {r["id"] for r in rules["rules"] if ids & set(r.get("suppressed_by", []))}
    return [f for f in fired if f.id not in suppressed]
