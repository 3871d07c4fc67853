"""``F#`` findings: a claim that cites what the vision model said it saw (split mode).

A finding is Lingshu's answer to one question about images (:mod:`tools.look`). A claim
citing it is held to that answer's words on what a planner most often gets wrong when it
retells what another model saw:

- a number (a size, a count, a level) the claim states must be in the answer;
- the side (left / right, upper / lower) the claim names must be one the answer names;
- what the answer denies ("no pleural effusion", "effusion is absent") the claim may not
  affirm, and what it affirms the claim may not deny;
- a size is also held to the pixels of the images the finding looked at (the image rule).

A claim that passes and shares a word with the answer is ``checked``; one that shares no
word with it is ``unchecked`` (its words are not the finding's).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from tools.evidence import EvidenceRecord

ImageCheck = Callable[[str, Sequence[str]], tuple[str, str]]
"""The image rule for a claim and image ids: ``(status, reason)``."""

_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(mm|cm|%|ml|hu)?\b", re.I)
_SIDES = {
    "left": "left",
    "right": "right",
    "upper": "upper",
    "lower": "lower",
    "superior": "upper",
    "inferior": "lower",
    "bilateral": "both",
    "both": "both",
}
_WORD = re.compile(r"[a-z][a-z-]{3,}")
_COMMON = frozenset(
    [
        "this",
        "that",
        "with",
        "from",
        "there",
        "their",
        "which",
        "shows",
        "show",
        "seen",
        "about",
        "into",
        "than",
        "have",
        "been",
        "image",
        "images",
        "view",
        "finding",
        "lingshu",
        "says",
        "said",
        "looks",
        "appears",
        "likely",
        "region",
        "area",
    ]
)


def _numbers(text: str) -> set[tuple[float, str]]:
    out = set()
    for value, unit in _NUMBER.findall(text):
        unit = unit.lower()
        number = float(value)
        if unit == "cm":  # one scale for sizes: 1.2 cm is 12 mm
            number, unit = round(number * 10, 6), "mm"
        out.add((number, unit))
    return out


def _sides(text: str) -> set[str]:
    return {_SIDES[w] for w in re.findall(r"[a-z]+", text.lower()) if w in _SIDES}


def _side_clash(claimed: set[str], seen: set[str]) -> str:
    """Where the claim puts a finding on another side than the vision model did, or ""."""
    for axis in ({"left", "right"}, {"upper", "lower"}):
        mine, theirs = claimed & axis, seen & axis
        if axis == {"left", "right"} and "both" in seen:
            continue
        if mine and theirs and not mine & theirs:
            said = "/".join(sorted(theirs))
            return f"the claim says {'/'.join(sorted(mine))}; the vision model said {said}"
    return ""


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _COMMON}


_BEFORE = re.compile(r"\b(?:no|not|without|nor|negative for|free of)\s+([a-z\s-]+)")
_AFTER = re.compile(
    r"([a-z\s-]+?)\s+(?:is|are|was|were)?\s*(?:absent|not seen|not present|not visible|excluded)\b"
)
_STOP = re.compile(r"\s+(?:and|but|or|with|which|that|while|although)\s+")


def _polarity(text: str) -> tuple[set[str], set[str]]:
    """The words ``text`` affirms and the words it negates ("no pleural effusion",
    "effusion is absent"), each clause cut at a conjunction, three words at most."""
    negated: set[str] = set()
    for clause in re.split(r"[.;:,!?\n]", text.lower()):
        for match in _BEFORE.finditer(clause):
            negated |= _words(" ".join(_STOP.split(match.group(1))[0].split()[:3]))
        for match in _AFTER.finditer(clause):
            negated |= _words(" ".join(_STOP.split(match.group(1))[-1].split()[-3:]))
    return _words(text) - negated, negated


def _polarity_clash(claim: str, said: str) -> str:
    """A word the claim affirms that the vision model only denied, or the reverse, or ""."""
    claim_yes, claim_no = _polarity(claim)
    said_yes, said_no = _polarity(said)
    denied = sorted((claim_yes & said_no) - said_yes)
    if denied:
        return f"the claim affirms what the vision model denied: {', '.join(denied)}"
    seen = sorted((claim_no & said_yes) - said_no)
    if seen:
        return f"the claim denies what the vision model said it sees: {', '.join(seen)}"
    return ""


def check_finding_claim(
    text: str,
    ids: Sequence[str],
    evidence: Mapping[str, EvidenceRecord],
    image_check: ImageCheck | None = None,
) -> tuple[str, str]:
    """The verdict on ``text`` against the findings ``ids`` (all of kind ``finding``)."""
    said = " ".join(evidence[i]["excerpt"] for i in ids)
    names = ", ".join(ids)
    stated = {n for n in _numbers(text) if n not in _numbers(said)}
    if stated:
        shown = ", ".join(f"{v:g}{(' ' + u) if u else ''}" for v, u in sorted(stated))
        return "mismatch", f"{shown} is not in what the vision model said ({names})"
    clash = _side_clash(_sides(text), _sides(said)) or _polarity_clash(text, said)
    if clash:
        return "mismatch", f"{clash} ({names})"
    pixels = ""
    if image_check is not None and _numbers(text):
        images = [str(i) for f in ids for i in evidence[f]["citation"].get("images") or []]
        known = [i for i in dict.fromkeys(images) if i in evidence]
        if known:
            status, pixels = image_check(text, known)
            if status != "checked":
                return status, pixels
    if not _words(text) & _words(said):
        return "unchecked", f"its words are not those of the vision model's answer ({names})"
    return "checked", "; ".join(filter(None, [f"the vision model said so ({names})", pixels]))
