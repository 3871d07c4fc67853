"""Clashes a claim can have with a whole guideline passage: a dropped restriction, a
rejected option, a reversed threshold, a swapped role, another table row's values."""

from __future__ import annotations

import re
from functools import lru_cache

from agent.claims.guideline_text import _STOP, _TOKEN, _WORD, _norm, _stem, content_words

_UNIVERSAL = re.compile(r"\b(?:any|every|all|always|everyone|regardless)\b", re.I)
_RESTRICTED = re.compile(r"\bonly\s+(?:if|when|where|in|for|after|with)\b", re.I)


def _restriction_dropped(claim: str, sentence: str) -> str:
    """The passage allows something "only if ..."; the claim allows it for any or every case."""
    if _RESTRICTED.search(sentence) and _UNIVERSAL.search(claim) and "only" not in claim.lower():
        return "the claim generalises what the passage allows only under a condition"
    return ""


_PREFERENCE_MARK = re.compile(
    r"\b(?:rather than|instead of|in preference to|preferred over|preferably|over)\b", re.I
)


def _rejected_option(claim: str, sentence: str) -> str:
    """The passage prefers A *rather than* B; the claim states B with nothing of A."""
    if _PREFERENCE_MARK.search(claim):
        return ""
    m = re.search(r"\b(?:rather than|instead of|in preference to)\b", sentence, re.I)
    if not m:
        return ""
    before = [w for w in _WORD.findall(sentence[: m.start()].lower()) if w not in _STOP]
    after = [w for w in _WORD.findall(sentence[m.end() :].lower()) if w not in _STOP]
    chosen = {_stem(w)[:6] for w in before[-3:]}
    rejected = {_stem(w)[:6] for w in after[:3]} - chosen
    mine = content_words(claim)
    if len(rejected & mine) >= 2 and not chosen & mine:
        aside = " ".join(after[:3])
        return f"the claim states what the passage sets aside ('{m.group(0)} {aside}')"
    return ""


_COMPARATOR = re.compile(
    r"(?P<pre>(?:<=|>=|≤|≥|<|>|\b(?:above|below|over|under|more than|less than|greater than|"
    r"fewer than|at least|at most|up to)\b)\s*)?"
    r"(?<![\w.])(?P<num>\d+(?:\.\d+)?)(?:\s*(?P<unit>%|(?!or\b)[a-z/]+))?"
    r"(?P<post>\s+or\s+(?:more|higher|greater|above|over|less|lower|fewer|below|under))?",
    re.I,
)
_UP = ("above", "over", "more", "greater", "higher", "at least", ">", "≥", ">=")


@lru_cache(maxsize=4096)
def _bounds(text: str) -> dict[str, set[str]]:
    """Each number stated as a bound, with its direction: ``{"4.75": {"up"}}``."""
    out: dict[str, set[str]] = {}
    for m in _COMPARATOR.finditer(text):
        mark = (m.group("pre") or m.group("post") or "").strip().lower()
        if not mark:
            continue
        direction = "up" if any(u in mark for u in _UP) else "down"
        out.setdefault(_norm(m.group("num")), set()).add(direction)
    return out


def _threshold_clash(claim: str, passage: str) -> str:
    """``above 4.75`` where the passage only ever says ``below 4.75`` (and the like)."""
    theirs = _bounds(passage)
    for number, directions in _bounds(claim).items():
        said = theirs.get(number)
        if said and not (said & directions):
            word = "a lower" if "up" in directions else "an upper"
            return f"the claim makes {number} {word} bound; the passage states it the other way"
    return ""


_ROLE = re.compile(
    r"^(?P<subject>.+?)\s+(?:is|are)\s+(?:the\s+|a\s+)?(?P<role>first-line|second-line|"
    r"preferred|required|recommended|indicated|first choice|treatment of choice|"
    r"gold standard|standard)\b(?P<rest>.*)$",
    re.I,
)


def _role_clash(claim: str, passage: str) -> str:
    """``X is the first-line Y`` where the passage gives the role to another subject."""
    m = _ROLE.match(claim.strip())
    if not m:
        return ""
    subject = content_words(m.group("subject")) | _acronym_set(m.group("subject"))
    role, rest = m.group("role").lower(), content_words(m.group("rest"))
    if not subject:
        return ""
    others = []
    for clause in re.split(r"[.;:\n]", passage):
        n = _ROLE.match(clause.strip())
        if not n or n.group("role").lower() != role:
            continue
        said = content_words(n.group("rest"))
        if rest and said and not (said & rest):
            continue  # the role for something else (another condition, another drug class)
        theirs = content_words(n.group("subject")) | _acronym_set(n.group("subject"))
        if theirs & subject:
            return ""  # the passage gives the role to what the claim names
        if theirs:
            others.append(" ".join(n.group("subject").split()[-4:]))
    if others:
        return f"the passage gives '{role}' to {others[0]}, not to what the claim names"
    return ""


def _table_rows(passage: str) -> list[tuple[frozenset[str], frozenset[str]]]:
    """(key words, value words) of each body row of the passage's Markdown tables.

    The key is the first cell without its parenthesis (``HFrEF (reduced)`` -> hfref);
    the values are the numbers and content words of the other cells.
    """
    rows = []
    lines = passage.splitlines()
    for n, line in enumerate(lines):
        if not line.lstrip().startswith("|") or re.fullmatch(r"[\s|:\-]*", line):
            continue
        if n + 1 < len(lines) and re.fullmatch(r"\s*\|[\s|:\-]+", lines[n + 1]):
            continue  # a header row
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        key = re.sub(r"\(.*?\)", " ", cells[0])
        rows.append((frozenset(_TOKEN.findall(key.lower())), _row_words(" ".join(cells[1:]))))
    return rows


def _row_words(text: str) -> frozenset[str]:
    words = _TOKEN.findall(text.lower())
    return frozenset(w for w in words if w[0].isdigit() or (len(w) > 3 and w not in _STOP))


def _table_row_clash(claim: str, passage: str) -> str:
    """The claim names a table row (``category 3``) but states what only other rows say:
    a number, or two or more words, found in other rows and not in the one it names."""
    rows = _table_rows(passage)
    if len(rows) < 2:
        return ""
    mine = set(_TOKEN.findall(claim.lower()))
    named = [r for r in rows if r[0] and r[0] <= mine]
    if not named or len(named) == len(rows):
        return ""
    keys = set().union(*(k for k, _ in named))
    said = set().union(*(v for _, v in named)) | keys
    others = set().union(*(v | k for k, v in rows if (k, v) not in named))
    elsewhere = sorted((_row_words(claim) - keys) & others - said)
    numbers_elsewhere = [w for w in elsewhere if w[0].isdigit()]
    if numbers_elsewhere or len(elsewhere) >= 2:  # one shared word is too weak a sign
        elsewhere = numbers_elsewhere or elsewhere
        row = " ".join(sorted(keys))
        return f"the claim gives the row '{row}' what other rows of the table say ({elsewhere[0]})"
    return ""


def _acronym_set(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"\b[A-Z][A-Za-z0-9]*[A-Z]\b", text)}
