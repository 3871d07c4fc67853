"""Reading free text for red flags: negation-aware phrases, stated values, onset times."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

_CLAUSE = re.compile(r"[.;!?\n]+|\b(?:but|however|although|except|whereas)\b", re.IGNORECASE)
_NEGATION = re.compile(
    r"\b(?:no|not|denie[sd]|deny|denying|without|negative for|free of|absence of|absent|never|"
    r"nor|history of|hx of|previous|resolved)\b|n't\b",
    re.IGNORECASE,
)
_LOOKBACK_WORDS = 6


@dataclass(frozen=True)
class Measure:
    """A vital sign or lab that rules can test, by LOINC code and as stated in text."""

    name: str
    label: str
    unit: str
    loinc: tuple[str, ...]
    patterns: tuple[str, ...]


_SEP = r"\s*(?:is|was|of|at|:|=)?\s*"
MEASURES: dict[str, Measure] = {
    m.name: m
    for m in (
        Measure(
            "sbp",
            "systolic BP",
            "mmHg",
            ("8480-6",),
            (
                rf"\b(?:bp|blood pressure){_SEP}(\d{{2,3}})\s*/\s*\d{{2,3}}",
                rf"\b(?:sbp|systolic(?: bp| blood pressure)?){_SEP}(\d{{2,3}})\b",
            ),
        ),
        Measure(
            "rr",
            "respiratory rate",
            "/min",
            ("9279-1",),
            (rf"\b(?:rr|resp(?:iratory)? rate){_SEP}(\d{{1,2}})\b",),
        ),
        Measure(
            "hr",
            "heart rate",
            "/min",
            ("8867-4",),
            (rf"\b(?:hr|heart rate|pulse){_SEP}(\d{{2,3}})\b",),
        ),
        Measure(
            "temp",
            "temperature",
            "°C",
            ("8310-5",),
            (
                rf"\b(?:temp(?:erature)?){_SEP}(\d{{2,3}}(?:\.\d)?)",
                r"\bfever (?:of |to )?(\d{2,3}(?:\.\d)?)",
            ),
        ),
        Measure(
            "spo2",
            "SpO2",
            "%",
            ("59408-5", "2708-6"),
            (rf"\b(?:spo2|sats?|saturations?|o2 sat\w*){_SEP}(\d{{2,3}})\s*%?",),
        ),
        Measure(
            "lactate",
            "lactate",
            "mmol/L",
            ("2524-7", "32693-4"),
            (rf"\blactate{_SEP}(\d{{1,2}}(?:\.\d+)?)",),
        ),
        Measure("gcs", "GCS", "", ("9269-2",), (rf"\bgcs{_SEP}(\d{{1,2}})\b",)),
    )
}


def clauses(text: str) -> Iterator[str]:
    """Sentences and clauses (split at punctuation and at 'but', 'however' ...)."""
    yield from _clauses(text)


@lru_cache(maxsize=512)
def _clauses(text: str) -> tuple[str, ...]:
    # One screen reads the same text once per signal and per measure: split it once.
    return tuple(part for part in _CLAUSE.split(text) if part and part.strip())


def negated(clause: str, start: int) -> bool:
    """True when a negation or history cue precedes ``start`` within a few words."""
    before = clause[:start].split()[-_LOOKBACK_WORDS:]
    return bool(_NEGATION.search(" ".join(before)))


def find_phrases(text: str, patterns: list[re.Pattern[str]]) -> list[tuple[str, str]]:
    """(matched words, the clause) for each non-negated match, first match per clause."""
    found = []
    for clause in clauses(text):
        for pattern in patterns:
            match = pattern.search(clause)
            if match and not negated(clause, match.start()):
                found.append((match.group(0).strip(), clause.strip()))
                break
    return found


def stated_values(text: str, measure: Measure) -> list[float]:
    """Values of ``measure`` written in the text ("BP 84/50", "RR 24", "temp 38.9")."""
    values = []
    for clause in clauses(text):
        for pattern in _compiled(measure.patterns):
            for match in pattern.finditer(clause):
                if negated(clause, match.start()):
                    continue
                value = float(match.group(1))
                if measure.name == "temp" and value > 50:  # Fahrenheit
                    value = round((value - 32) * 5 / 9, 1)
                values.append(value)
    return values


@lru_cache(maxsize=64)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns)


_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
    "half an": 0.5,
    "half a": 0.5,
}
_AMOUNT = r"(\d+(?:\.\d+)?|half an?|an?|one|two|three|four|five|six|seven|eight|nine|ten|twelve)"
_UNIT = r"(minutes?|mins?|hours?|hrs?|h|days?|weeks?)\b"
_AGO = re.compile(rf"{_AMOUNT}\s*{_UNIT}\s+ago", re.IGNORECASE)
_SINCE = re.compile(
    rf"\b(?:since|for|over|in)\s+(?:the\s+)?(?:last|past)?\s*{_AMOUNT}\s*{_UNIT}", re.IGNORECASE
)
_CLOCK = re.compile(
    r"\b(?:last (?:known|seen) well|onset|since|started|began|starting|from)\s+(?:at\s+)?"
    r"(?:about\s+|around\s+)?(\d{1,2})[:h.](\d{2})\b",
    re.IGNORECASE,
)
_YESTERDAY = re.compile(r"\byesterday\b|\blast night\b", re.IGNORECASE)


def _duration(amount: str, unit: str) -> timedelta:
    value = _NUMBER_WORDS.get(amount.lower())
    number = float(amount) if value is None else float(value)
    unit = unit.lower()
    if unit.startswith("m"):
        return timedelta(minutes=number)
    if unit.startswith("h"):
        return timedelta(hours=number)
    if unit.startswith("d"):
        return timedelta(days=number)
    return timedelta(weeks=number)


def onsets(text: str, anchor: datetime) -> list[datetime]:
    """Onset times stated in ``text`` ("since 1 hour", "3 days ago", "last known well 08:30").

    Relative times count back from ``anchor`` (the time the text was written); a clock
    time is on the anchor's day, or the day before when that would be in the future.
    """
    found = [anchor - _duration(m.group(1), m.group(2)) for m in _AGO.finditer(text)]
    found += [anchor - _duration(m.group(1), m.group(2)) for m in _SINCE.finditer(text)]
    for match in _CLOCK.finditer(text):
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour > 23 or minute > 59:
            continue
        at = anchor.replace(hour=hour, minute=minute, second=0, microsecond=0)
        found.append(at - timedelta(days=1) if at > anchor else at)
    if _YESTERDAY.search(text):
        found.append(anchor.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1))
    return found
