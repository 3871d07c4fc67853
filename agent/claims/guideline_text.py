"""The words of guideline claims and passages: sentences, numbers, stems, negation and
direction clashes between a claim and one sentence (used by :mod:`agent.claims.guideline`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from itertools import pairwise

_SPLIT = re.compile(r"(?<=[.!?;])\s+|\n+")
_MARKUP = re.compile(r"^[#>\-*+\s|]+|\s*\|\s*|\*\*|__|`")
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)?)(?![\w.]*\d)")
_WORD = re.compile(r"[a-z]+(?:-[a-z]+)?")
_TOKEN = re.compile(r"[a-z0-9]+(?:[-/][a-z0-9]+)*")
_NEGATION = re.compile(
    r"\b(?:not|no|never|without|avoid(?:ed|s|ing)?|cannot|none|don't|doesn't|shouldn't|isn't|"
    r"aren't|unnecessary|(?<=advises\s)against|(?<=advise\s)against|(?<=recommends\s)against|"
    r"(?<=recommend\s)against|discouraged|(?<=not\s)encouraged)\b",
    re.I,
)
_WORD_NUMBERS = {
    "once": "1", "single": "1", "twice": "2", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}  # fmt: skip
_STOP_WORDS = (
    "the a an and or of in on at to for with by from is are be been being was were as that "
    "this these those it its their there than then when where which who whom whose what while "
    "should may can could would will shall must not no any all each every some more most less "
    "least other such only also usually often generally about above below after before between "
    "into over under within without per via has have had do does did patient patients people "
    "adults adult person recommended recommend suggested suggests suggest considered consider "
    "used use using given give needed need needs required requires require first initial"
)
_STOP = set(_STOP_WORDS.split())
_ANTONYMS = [
    ("increase", "decrease"),
    ("increased", "decreased"),
    ("higher", "lower"),
    ("above", "below"),
    ("before", "after"),
    ("more", "less"),
    ("early", "late"),
    ("start", "stop"),
    ("rising", "falling"),
    ("high", "low"),
    ("maximum", "minimum"),
    ("first-line", "second-line"),
    ("include", "exclude"),
    ("positive", "negative"),
    ("sensitive", "specific"),
    ("left", "right"),
    ("upper", "lower"),
    ("over", "under"),
    ("greater", "less"),
    ("at least", "at most"),
    ("low-risk", "high-risk"),
    ("raise", "lower"),
    ("increase", "lower"),
    ("increase", "reduce"),
    ("raise", "reduce"),
    ("raises", "lowers"),
    ("rises", "falls"),
    ("continued", "stopped"),
    ("started", "withheld"),
    ("mild", "severe"),
    ("benign", "malignant"),
    ("sensitive", "insensitive"),
    ("specific", "not specific"),
]
_POPULATIONS = {
    "children": ("child", "children", "paediatric", "pediatric", "infant", "adolescent"),
    "pregnancy": ("pregnan", "antenatal", "obstetric", "mid-trimester", "fetal", "fetus"),
    "older adults": ("older", "elderly", "aged 65", "over 65", "geriatric"),
    "neonates": ("neonat", "newborn"),
    "women": ("women", "woman", "female"),
    "men": (" men ", " man ", "male"),
    "outpatients": ("outpatient", "ambulatory"),
    "intensive care": ("icu", "intensive care", "critically ill"),
}


@lru_cache(maxsize=4096)
def sentences(passage: str, windows: bool = True) -> tuple[str, ...]:
    """The passage as sentences (table rows and bullets count as sentences), plus pairs."""
    parts = []
    for raw in _SPLIT.split(passage):
        if re.fullmatch(r"[\s|:\-]*", raw):
            continue
        clean = " ".join(_MARKUP.sub(" ", raw).split())
        if len(clean) > 3:
            parts.append(clean)
    if not parts:
        return (passage,)
    if windows:
        parts += [f"{a} {b}" for a, b in pairwise(parts)]
    return tuple(parts)


@lru_cache(maxsize=4096)
def numbers(text: str) -> frozenset[str]:
    """The numbers a text states (digits, and number words such as "four" or "twice")."""
    found = {_norm(n) for n in _NUMBER.findall(text)}
    found |= {_WORD_NUMBERS[w] for w in _WORD.findall(text.lower()) if w in _WORD_NUMBERS}
    return frozenset(found)


def _norm(number: str) -> str:
    if re.fullmatch(r"\d{1,3}(,\d{3})+", number):
        number = number.replace(",", "")
    number = number.replace(",", ".")
    return (number.rstrip("0").rstrip(".") or "0") if "." in number else number


def _stem(word: str) -> str:
    for suffix in ("ations", "ation", "ings", "ing", "ies", "es", "ed", "ly", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


@lru_cache(maxsize=4096)
def content_words(text: str) -> frozenset[str]:
    """Stems of the words that carry content (stop words, short words, numbers dropped)."""
    return frozenset(
        _stem(w)[:6] for w in _WORD.findall(text.lower()) if len(w) > 3 and w not in _STOP
    )


def _negations(text: str, other: str) -> int:
    """Negations in ``text`` whose scope (the next three content words) ``other`` speaks of."""
    theirs = content_words(other)
    count = 0
    for m in _NEGATION.finditer(text):
        scope = [w for w in _WORD.findall(text[m.end() :].lower()) if len(w) > 3 and w not in _STOP]
        if {_stem(w)[:6] for w in scope[:3]} & theirs:
            count += 1
    return count


@lru_cache(maxsize=4096)
def acronyms(text: str) -> frozenset[str]:
    """Initialisms of runs of 2-4 words (``angiotensin receptor blockers`` -> ``arb``)."""
    words = _WORD.findall(text.lower())
    found = set()
    for size in (2, 3, 4):
        for i in range(len(words) - size + 1):
            found.add("".join(w[0] for w in words[i : i + size]))
    return frozenset(found)


def _preference(text: str) -> tuple[frozenset[str], frozenset[str]] | None:
    """(what is preferred, over what) around ``over`` / ``rather than`` / ``instead of``."""
    lowered = f" {text.lower()} "
    m = re.search(r" preferably (.{1,60}?) over ", lowered)
    if m:
        return content_words(m.group(1)), content_words(lowered[m.end() : m.end() + 60])
    for word in (" preferred over ", " preferably ", " rather than ", " instead of ", " over "):
        at = lowered.find(word)
        if at >= 0:
            end = at + len(word)
            return content_words(lowered[max(0, at - 60) : at]), content_words(
                lowered[end : end + 60]
            )
    return None


def _order_clash(claim: str, sentence: str) -> str:
    """``A over B`` in the claim where the sentence puts B over A."""
    mine, theirs = _preference(claim), _preference(sentence)
    if not mine or not theirs:
        return ""
    a, b = mine
    x, y = theirs
    if (a & y) and (b & x) and not (a & x):
        return "the claim reverses the order of preference the passage gives"
    return ""


def _forms(word: str) -> tuple[str, ...]:
    """A word and its inflections (``raise`` -> raises, raised, raising)."""
    if " " in word or "-" in word:
        return (word,)
    forms = {word, word + "s", word + "es", word + "ed", word + "d", word + "ing"}
    if word.endswith("e"):
        forms |= {word[:-1] + "ing", word[:-1] + "ed"}
    if word.endswith("y"):
        forms |= {word[:-1] + "ies", word[:-1] + "ied"}
    return tuple(forms)


def _says(text: str, word: str) -> bool:
    """``text`` (spaced tokens, see :func:`_spaced`) uses ``word`` in some inflection."""
    return any(f" {f} " in text for f in _forms(word))


@lru_cache(maxsize=4096)
def _spaced(text: str) -> str:
    """The text's lower-case words, space-separated and padded (punctuation dropped)."""
    return f" {' '.join(_TOKEN.findall(text.lower()))} "


def _direction_clash(claim: str, sentence: str) -> str:
    c, s = _spaced(claim), _spaced(sentence)
    cw, sw = set(c.split()), set(s.split())
    for x, y, xs, ys in _ANTONYM_FORMS:
        if xs is not None and ys is not None:  # single words: set look-ups
            if cw & xs and sw & ys and not sw & xs and not cw & ys:
                return f"the claim says '{x}' where the passage says '{y}'"
        elif _says(c, x) and _says(s, y) and not _says(s, x) and not _says(c, y):
            return f"the claim says '{x}' where the passage says '{y}'"
    return ""


_ANTONYM_FORMS = [
    (x, y, None if " " in x else frozenset(_forms(x)), None if " " in y else frozenset(_forms(y)))
    for a, b in _ANTONYMS
    for x, y in ((a, b), (b, a))
]

_FUNCTION_WORDS = (
    "a an the be been being is are was were to of in on at for by with as that this it its "
    "only always routinely usually generally necessarily just all any every patient patients "
    "people person"
)
_FUNCTION = set(_FUNCTION_WORDS.split())


@lru_cache(maxsize=4096)
def _negated(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """(the first two content words after each negation, every word in its clause).

    ``not recommended in severe renal impairment or during pregnancy``: heads
    {recommended, severe}; scope adds renal, impairment, pregnancy.
    """
    heads: set[str] = set()
    scope: set[str] = set()
    for m in _NEGATION.finditer(text):
        clause = re.split(r"[,;:.()]", text[m.end() :], maxsplit=1)[0]
        words = [w for w in _TOKEN.findall(clause.lower()) if w not in _FUNCTION and len(w) > 2]
        heads |= {_stem(w)[:6] for w in words[:2]}
        scope |= {_stem(w)[:6] for w in words}
    return frozenset(heads), frozenset(scope)


def _negated_heads(text: str) -> frozenset[str]:
    return _negated(text)[0]


@lru_cache(maxsize=4096)
def _stems(text: str) -> frozenset[str]:
    return frozenset(_stem(w)[:6] for w in _TOKEN.findall(text.lower()) if len(w) > 2)


def _negation_clash(claim: str, sentence: str) -> str:
    """A word one side negates that the other states outside any negation.

    ``NOACs are recommended during pregnancy`` against ``NOACs are not recommended ...
    during pregnancy``: "recommended" is negated in the passage and plain in the claim.
    """
    (mine, my_scope), (theirs, their_scope) = _negated(claim), _negated(sentence)
    if (theirs - my_scope) & _stems(claim):
        return "drops the negation of"
    if (mine - their_scope) & _stems(sentence):
        return "negates"
    return ""


def _negation_clash_near(claim: str, best: Sequence[str]) -> tuple[str, str]:
    """The negation clash with the nearest sentence, else with the second nearest when that
    one states every word the claim negates (the embedding often ranks a topic sentence
    above the one the claim negates)."""
    if not best:
        return "", ""
    which = _negation_clash(claim, best[0])
    if which:
        return which, best[0]
    mine = _negated_heads(claim)
    for other in best[1:2]:
        if mine and mine <= _stems(other) and not (mine & _negated_heads(other)):
            return "negates", other
    return "", ""
