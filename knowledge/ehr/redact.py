"""Free-text identifiers redacted before record text leaves the EHR layer.

What is redacted, in every string of a resource (note text, titles, code and dosage
text, displays, comments), except structural fields (ids, references, codes, systems,
units, dates):

- from the record itself: the patient's name parts, identifier values, birth date (in
  the usual written forms), address lines, city and postal code, telecom values; the
  names of related persons (``RelatedPerson``, ``Patient.contact``) and of practitioners
  (``Practitioner`` resources and the display of every reference to one);
- by pattern, whoever they belong to: record numbers after a label (``MRN``, ``NHS no``),
  US social security numbers (with dashes or spaces, or nine digits after a label), phone
  numbers (North American, international ``+44 ...``, national with a trunk ``0``), e-mail
  addresses.

The record's own values are matched in their other spellings too: a birth date as
``07-Mar-1956``, ``19560307``, ``1956/03/07`` or ``7 Mar 56``; a phone number without its
country code or separators; an identifier with or without its separators (``MRN-00451``)
and its digit run alone; a postal code without its space; a name part that is no everyday
word in lower case. Attachment text is read by its BOM or declared charset (UTF-16 notes)
and for text-like types (``text/*``, JSON, XML, XHTML), and written back as UTF-8.

What it does not catch (measured on the labelled notes in ``benchmarks/redaction_notes.json``
by ``benchmarks/redaction.py``; figures in BENCHMARKS.md): names of people who are not in the
record (a neighbour, a clinician never referenced), nicknames and misspellings, dates of
birth written in words it does not know, free-form addresses. A name part is matched
only when written capitalised or in capitals, so a patient called Brown does not take
"brown sputum" with it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from knowledge.ehr.identity import (
    ADDRESS,
    BIRTH_DATE,
    EMAIL,
    IDENTIFIER,
    NAME,
    PHONE,
    SSN,
    Identity,
    identity_of,
)
from knowledge.ehr.parse import bom_codec

_STRUCTURAL = {
    "resourceType",
    "id",
    "reference",
    "system",
    "code",
    "version",
    "unit",
    "status",
    "url",
    "fullUrl",
    "contentType",
    "language",
    "gender",
    "use",
    "intent",
    "criticality",
    "priority",
    "hash",
    "lastUpdated",
    "versionId",
}
_DATE_VALUE = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T[\d:.+\-Z]*)?)?)?$")
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (EMAIL, re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    (SSN, re.compile(r"\b\d{3}([- ])\d{2}\1\d{4}\b")),
    (
        SSN,
        re.compile(r"(?i:\b(?:SSN|social security (?:number|no\.?))\s*[:#]?\s*)(?P<value>\d{9})\b"),
    ),
    (
        IDENTIFIER,
        re.compile(
            r"(?i:\b(?:MRN|MR\s?#|medical record (?:number|no\.?)|record (?:number|no\.?)|"
            r"hospital (?:number|no\.?)|NHS (?:number|no\.?)|patient id)\s*[:#]?\s*)"
            r"(?P<value>[A-Z0-9][A-Z0-9-]{3,})\b"
        ),
    ),
    (
        PHONE,
        re.compile(
            r"(?<![\w/.-])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\w/-])"
        ),
    ),
    (  # international: +44 7700 900123, +33 1 23 45 67 89, +49 (30) 1234567
        PHONE,
        re.compile(r"(?<![\w+])\+\d{1,3}(?:[\s.-]?\(?\d{1,5}\)?){2,5}(?![\w/-])"),
    ),
    (  # national with a trunk 0: 07700 900123, 020 7946 0958, 0161-496-0000
        PHONE,
        re.compile(r"(?<![\w/.-])0\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4}(?![\w/-])"),
    ),
    (
        PHONE,
        re.compile(
            r"(?i:\b(?:tel|phone|mobile|cell|ph|telephone)\.?\s*(?:no\.?)?\s*[:#]?\s*)"
            r"(?P<value>\+?[\d(][\d\s().-]{5,}\d)"
        ),
    ),
)
_COMMON_LINES = (
    "may june april august brown white black green gray grey hope will bill rose grace faith",
    "joy mark frank hunter young long little king bell page park ward hall wood moss bush rich",
    "sharp stone major day rice chase dean drew lane love price ray reed sage star summer wells",
    "west cook baker bone cole cross fox guy hart hill lee marsh mason miles penny pat rob sandy",
    "storm river dawn autumn crystal eve art ben bob don gene jack kay lou nick sue ted tom",
    "norman victor ruby amber iris heather holly ivy daisy violet olive lily hazel pearl chance",
    "christian noble sterling golden small strong short swift wise gentry case bishop cash",
    "banks burns fields mills waters walker turner carter parker taylor fisher",
)
COMMON_WORD_NAMES = frozenset(" ".join(_COMMON_LINES).split())
"""Name parts that are also everyday or clinical words: redacted only beside another name
part or after a title (``Mrs Brown``, ``Brown, Alex``), never alone (``brown sputum``)."""
_TITLE_BEFORE = re.compile(r"(?i:\b(?:dr|mr|mrs|ms|miss|prof|nurse|sister))\.?\s*$")
_MEMO_CHARS, _MEMO_SIZE = 200, 20_000
"""Short strings whose redaction is remembered, and how many (per patient)."""
_MONTHS = " ".join(
    ("January February March April May June July", "August September October November December")
).split()


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str


class Redactor:
    """Finds and replaces identifiers in text; ``[name]``, ``[phone]`` ... in their place."""

    def __init__(self, identity: Identity) -> None:
        self.identity = identity
        kinds = sorted(set(identity.literals.values()))
        self._literals = [
            (kind, _alternation([t for t, k in identity.literals.items() if k == kind], kind))
            for kind in kinds
        ]
        names = sorted(identity.names, key=len, reverse=True)
        forms = {f for n in names for f in (n, n.upper(), n[:1].upper() + n[1:].lower())}
        # a name that is no everyday word is a name in any case ("quennell, alexandra")
        forms |= {n.lower() for n in names if n.lower() not in COMMON_WORD_NAMES and len(n) >= 4}
        self._names = (
            re.compile(
                r"(?<![\w])(?:"
                + "|".join(map(re.escape, sorted(forms, key=len, reverse=True)))
                + r")(?![\w])"
            )
            if forms
            else None
        )
        self._birth = _birth_date_pattern(identity.birth_date)
        self._memo: dict[str, str] = {}

    def spans(self, text: str) -> list[Span]:
        """Identifier spans found in ``text``, non-overlapping, in order."""
        found: list[Span] = []
        for kind, pattern in self._literals:
            found += [Span(m.start(), m.end(), kind) for m in pattern.finditer(text)]
        if self._birth is not None:
            found += [Span(m.start(), m.end(), BIRTH_DATE) for m in self._birth.finditer(text)]
        for kind, pattern in _PATTERNS:
            for m in pattern.finditer(text):
                group = "value" if "value" in pattern.groupindex else 0
                if kind == PHONE and sum(c.isdigit() for c in m.group(group)) < 7:
                    continue  # "+2 3 4" in an examination is no phone number
                found.append(Span(m.start(group), m.end(group), kind))
        if self._names is not None:
            found += _names(text, [(m.start(), m.end()) for m in self._names.finditer(text)])
        return _merged(found)

    def text(self, text: str) -> str:
        """``text`` with every identifier replaced by its kind in brackets."""
        if len(text) <= _MEMO_CHARS:  # displays and units repeat across thousands of resources
            found = self._memo.get(text)
            if found is None:
                if len(self._memo) >= _MEMO_SIZE:
                    self._memo.clear()
                found = self._memo[text] = self._replace(text)
            return found
        return self._replace(text)

    def _replace(self, text: str) -> str:
        out, last = [], 0
        for span in self.spans(text):
            out.append(text[last : span.start] + f"[{span.kind}]")
            last = span.end
        return "".join(out) + text[last:]

    def resource(self, resource: dict[str, Any]) -> dict[str, Any]:
        """A copy of ``resource`` with every free-text string redacted."""
        return _walk(resource, self, "")


def _names(text: str, found: list[tuple[int, int]]) -> list[Span]:
    """Name spans; an ambiguous part (a common word) only beside another name or a title."""
    kept = []
    for number, (start, end) in enumerate(found):
        if text[start:end].lower() in COMMON_WORD_NAMES:
            before = found[number - 1] if number else None
            after = found[number + 1] if number + 1 < len(found) else None
            beside = (before is not None and _gap(text[before[1] : start])) or (
                after is not None and _gap(text[end : after[0]])
            )
            if not beside and not _TITLE_BEFORE.search(text[max(0, start - 12) : start]):
                continue
        kept.append(Span(start, end, NAME))
    return kept


def _gap(between: str) -> bool:
    return len(between) <= 3 and not between.strip(" ,")


def _alternation(literals: list[str], kind: str = "") -> re.Pattern[str]:
    """Exact strings, any case; one plain word (a town such as Bath or Reading) only as
    written or in capitals, so "bed bath" keeps its word."""
    parts = []
    for text in sorted(literals, key=len, reverse=True):
        body = r"\s+".join(re.escape(w) for w in text.split())
        if re.fullmatch(r"[\d\s().+-]+", text):  # a phone number: any separators between digits
            digits = re.sub(r"\D", "", text)
            body = r"[\s().-]*".join(digits)
            if len(digits) > 10:  # the country code may be left out: +1-555-... as 555...
                national = r"[\s().-]*".join(digits[-10:])
                body = f"(?:{body}|{national})"
        elif kind == IDENTIFIER and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9\s./-]*", text):
            # an identifier with or without its separators: MRN00451, MRN-00451, MRN 00451
            chars = [c for c in text if c.isalnum()]
            body = r"[\s./-]?".join(map(re.escape, chars))
        elif re.fullmatch(r"[A-Za-z0-9]{1,5}(?: [A-Za-z0-9]{1,5})+", text) and re.search(
            r"\d", text
        ):  # a postal code: "DM4 7QT" also as "DM47QT"
            body = r"\s*".join(re.escape(w) for w in text.split())
        elif re.fullmatch(r"[^\W\d_]+", text):
            forms = dict.fromkeys((text, text.upper(), text[:1].upper() + text[1:]))
            body = "(?-i:" + "|".join(map(re.escape, forms)) + ")"
        parts.append(rf"(?<![\w]){body}(?![\w])")
    return re.compile("|".join(parts), re.IGNORECASE)


def _birth_date_pattern(born: date | None) -> re.Pattern[str] | None:
    if born is None:
        return None
    d, m, y = born.day, born.month, born.year
    month = _MONTHS[m - 1]
    months = rf"(?:{month}|{month[:3]}\.?)"
    day = rf"0?{d}(?:st|nd|rd|th)?"
    yy = rf"(?:{y}|'?{y % 100:02d})"
    forms = [
        rf"{y}[-/.]?0?{m}[-/.]?0?{d}" if m > 9 and d > 9 else rf"{y}[-/.]0?{m}[-/.]0?{d}",
        rf"{y}{m:02d}{d:02d}",
        rf"{day}[\s/-]+{months}[\s/-]+{yy}",
        rf"{months}\s+{day},?\s+'?{y % 100:02d}",
        rf"0?{d}[/.-]0?{m}[/.-](?:{y}|{y % 100:02d})",
        rf"0?{m}[/.-]0?{d}[/.-](?:{y}|{y % 100:02d})",
        rf"{day}\s+(?:of\s+)?{months},?\s+{y}",
        rf"{months}\s+{day},?\s+{y}",
    ]
    return re.compile(r"(?<![\d])(?:" + "|".join(forms) + r")(?![\d])", re.IGNORECASE)


def _merged(spans: Sequence[Span]) -> list[Span]:
    out: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if out and span.start < out[-1].end:
            if span.end > out[-1].end:
                out[-1] = Span(out[-1].start, span.end, out[-1].kind)
            continue
        out.append(span)
    return out


def _walk(node: Any, redactor: Redactor, key: str) -> Any:
    """A copy of a JSON value with its free-text strings redacted (hot: kept flat and fast)."""
    kind = type(node)
    if kind is str:
        return _string(node, redactor) if key not in _STRUCTURAL else node
    if kind is list:
        return [_walk(item, redactor, key) for item in node]
    if kind is not dict:
        return node
    out = {}
    for k, v in node.items():
        vkind = type(v)
        if vkind is str:
            out[k] = v if k in _STRUCTURAL or k == "data" else _string(v, redactor)
        elif vkind is dict or vkind is list:
            out[k] = _walk(v, redactor, k)
        else:
            out[k] = v
    if "data" in out and _TEXTUAL.match(str(out.get("contentType") or "text/plain")):
        out["data"] = _redacted_base64(out["data"], redactor, str(out.get("contentType") or ""))
        if out.get("contentType") and "charset" in str(out["contentType"]).lower():
            out["contentType"] = _CHARSET.sub("charset=utf-8", str(out["contentType"]))
    return out


def _string(value: str, redactor: Redactor) -> str:
    found = redactor._memo.get(value)
    if found is not None:
        return found
    if value[:1].isdigit() and _DATE_VALUE.match(value):
        return value
    return redactor.text(value)


_TEXTUAL = re.compile(
    r"(?i)\s*(?:text/|application/(?:[\w.-]+\+)?(?:json|xml)\b|application/xhtml)"
)
_CHARSET = re.compile(r"(?i)charset\s*=\s*[\"']?[\w.:-]+[\"']?")


def _decoded(raw: bytes, content_type: str) -> str:
    """Attachment bytes as text: by BOM, else the declared charset, else UTF-8."""
    codec = bom_codec(raw)
    if codec:
        return raw.decode(codec, errors="replace")
    charset = re.search(r"(?i)charset\s*=\s*[\"']?([\w.:-]+)", content_type)
    if charset:
        with contextlib.suppress(LookupError):
            return raw.decode(charset.group(1), errors="replace")
    return raw.decode("utf-8", errors="replace")


def _redacted_base64(data: Any, redactor: Redactor, content_type: str = "") -> Any:
    """The attachment redacted and re-encoded as UTF-8 (whatever its encoding was)."""
    try:
        text = _decoded(base64.b64decode(str(data), validate=False), content_type)
    except (binascii.Error, ValueError):
        return data
    return base64.b64encode(redactor.text(text).encode("utf-8")).decode("ascii")


__all__ = [
    "ADDRESS",
    "BIRTH_DATE",
    "COMMON_WORD_NAMES",
    "EMAIL",
    "IDENTIFIER",
    "NAME",
    "PHONE",
    "SSN",
    "Identity",
    "Redactor",
    "Span",
    "identity_of",
]
