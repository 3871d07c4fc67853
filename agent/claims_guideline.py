"""Guideline claims (``G#``): is the claim what the cited passage says?

The checks run cheapest first, each measured on ``benchmarks/claims_guideline.json``
(see BENCHMARKS.md, "Claims against guideline passages"):

1. ``similarity``: the best cosine (all-MiniLM-L6-v2) between the claim and one sentence
   of the passage (Markdown table rows, bullets and headings read as sentences; pairs of
   adjacent sentences with ``windows=True``, measured as no better and twice the cost);
   below ``threshold`` the passage does not say it;
2. ``numbers``: every number the claim states (a dose, a threshold, a duration) must be
   stated by the passage;
3. ``polarity``: the claim and the sentence that matches it best agree on negation
   (a word one side negates, "not recommended in pregnancy", "advises against", the other
   states outside any negation) and on direction words in any inflection
   (increase/decrease, before/after, above/below, more/less); and over the passage: a
   bound keeps its direction ("above 4.75" against "below 4.75"), a role ("X is the
   first-line ...") keeps its subject, "A rather than B" is not turned into B, "only if"
   is not turned into "any", and a table row keeps its own values;
4. ``population``: a population the claim names (children, pregnancy, older adults ...)
   must be named by the passage;
5. ``coverage``: two or more content words the passage (with its title and section) never
   uses mean the claim says something the passage does not;
6. an optional ``judge`` (any OpenAI-compatible chat endpoint) for claims the cheap checks
   pass with a similarity in the grey zone.

Verdicts are remembered per scorer, keyed by the claim, the cited passages' text and the
configuration, so the re-check after a repair costs a look-up for each unchanged claim.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from typing import Any
from weakref import WeakKeyDictionary

SupportScorer = Callable[[Sequence[tuple[str, Sequence[str]]]], list[float]]
Judge = Callable[[str, str], str]
"""(claim, passage) -> ``supported``, ``unsupported`` or ``contradicted``."""

STEPS = ("similarity", "numbers", "polarity", "population", "coverage")
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


@dataclass
class GuidelineCheck:
    """How guideline claims are checked: the scorer, the threshold, the steps, the judge."""

    scorer: SupportScorer
    threshold: float = 0.45
    steps: tuple[str, ...] = STEPS
    windows: bool = False
    judge: Judge | None = None
    grey: tuple[float, float] = (0.45, 0.6)
    """Similarities in this range are sent to the judge (when one is configured)."""
    judge_calls: int = field(default=0)


@dataclass
class GuidelineVerdict:
    status: str
    reason: str
    score: float
    best_id: str
    label: str
    """``supported``, ``unsupported`` or ``contradicted``."""


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


_VERDICTS: WeakKeyDictionary[Any, dict[tuple[Any, ...], GuidelineVerdict]] = WeakKeyDictionary()
"""Verdicts already given, per scorer (one per agent): the re-check after a repair, or the
next turn, finds the claims it has seen. The key holds the claim, every cited passage's
text and the whole configuration, so a verdict is reused only for the same question."""
_VERDICTS_KEPT = 4096


def check_guideline_claim(
    claim: str, passages: Sequence[tuple[str, str]], config: GuidelineCheck
) -> GuidelineVerdict:
    """Judge one claim against the passages it cites (the best-supporting one counts).

    A verdict is a function of the claim, the passages and the configuration; it is
    remembered per scorer, so checking the same claim again costs a dictionary look-up.
    """
    key = (
        claim,
        tuple(passages),
        config.threshold,
        config.steps,
        config.windows,
        config.grey,
        config.judge,
    )
    try:
        kept = _VERDICTS.setdefault(config.scorer, {})
    except TypeError:  # a scorer that cannot be weakly referenced: no memory
        kept = {}
    if key in kept:
        return kept[key]
    verdict = _check_guideline_claim(claim, passages, config)
    if len(kept) >= _VERDICTS_KEPT:
        kept.pop(next(iter(kept)))
    kept[key] = verdict
    return verdict


def _check_guideline_claim(
    claim: str, passages: Sequence[tuple[str, str]], config: GuidelineCheck
) -> GuidelineVerdict:
    pieces = [(gid, sentences(text, config.windows)) for gid, text in passages]
    if "similarity" not in config.steps or not config.windows:
        pieces = [(gid, sentences(text, False)) for gid, text in passages]
    scores = config.scorer([(claim, s) for _, s in pieces]) if pieces else []
    best = max(range(len(pieces)), key=lambda k: scores[k]) if pieces else 0
    gid, score = (pieces[best][0], scores[best]) if pieces else ("", 0.0)
    ids = ", ".join(g for g, _ in passages)
    if score < config.threshold:
        return GuidelineVerdict(
            "mismatch",
            f"{ids} does not say this (similarity {score:.2f} < {config.threshold})",
            score,
            gid,
            "unsupported",
        )
    passage = next(t for g, t in passages if g == gid)
    body = passage.split("\n", 1)[-1] if "\n" in passage else passage
    best_sentences = _best_sentences(claim, sentences(body, False), config.scorer)
    for step in config.steps:
        problem = _step(step, claim, passage, best_sentences)
        if problem:
            label = "unsupported" if step in {"population", "coverage"} else "contradicted"
            return GuidelineVerdict("mismatch", f"{gid}: {problem}", score, gid, label)
    if config.judge is not None and config.grey[0] <= score < config.grey[1]:
        config.judge_calls += 1
        label = config.judge(claim, passage)
        if label in {"unsupported", "contradicted"}:
            return GuidelineVerdict(
                "mismatch", f"{gid}: a judge found the claim {label}", score, gid, label
            )
    return GuidelineVerdict(
        "checked", f"{gid} says this (similarity {score:.2f})", score, gid, "supported"
    )


def _best_sentences(claim: str, candidates: Sequence[str], scorer: SupportScorer) -> list[str]:
    """The two single sentences nearest the claim (pairs dropped: they mix two statements)."""
    singles = [s for s in candidates if s] or list(candidates)
    scored = scorer([(claim, [s]) for s in singles])
    order = sorted(range(len(singles)), key=lambda k: scored[k], reverse=True)
    return [singles[k] for k in order[:3]]


def _step(step: str, claim: str, passage: str, best: list[str]) -> str:
    if step == "numbers":
        head = numbers(passage.split("\n", 1)[0])  # the title and section line
        wanted = numbers(claim) - head
        missing = min((wanted - numbers(s) for s in best), key=len) if best else wanted
        if missing:
            said = ", ".join(sorted(numbers(best[0]))) if best else ""
            nearest = f" (its nearest sentence states {said})" if said else ""
            stated = ", ".join(sorted(missing))
            return f"the claim states {stated}, which the passage does not{nearest}"
    elif step == "polarity" and best:
        top = best[0]
        which, said = _negation_clash_near(claim, best)
        if which:
            top = said
            return f"the claim {which} what the passage says ('{top[:90]}')"
        clash = (
            _direction_clash(claim, top)
            or _order_clash(claim, top)
            or _rejected_option(claim, top)
            or _restriction_dropped(claim, top)
            or _threshold_clash(claim, passage)
            or _role_clash(claim, passage)
            or _table_row_clash(claim, passage)
        )
        if clash:
            return clash
    elif step == "population":
        lowered = f" {passage.lower()} "
        claim_l = f" {claim.lower()} "
        for name, cues in _POPULATIONS.items():
            if any(c in claim_l for c in cues) and not any(c in lowered for c in cues):
                return f"the claim speaks of {name}; the passage does not"
    elif step == "coverage":
        known = content_words(passage) | acronyms(passage)
        novel = sorted(w for w in content_words(claim) - known if w.rstrip("s") not in known)
        if len(novel) >= 2:
            return f"the passage says nothing of {', '.join(novel[:4])}"
    return ""


def openai_judge(client: Any, model: str) -> Judge:
    """A judge over any OpenAI-compatible chat endpoint (``client.chat.completions.create``)."""

    def judge(claim: str, passage: str) -> str:
        from knowledge.untrusted import untrusted

        reply = client.chat.completions.create(
            model=model,
            temperature=0,
            max_tokens=8,
            messages=[
                {
                    "role": "system",
                    "content": "Answer with one word: supported, unsupported or contradicted. "
                    "Is the claim stated by the guideline passage?",
                },
                {
                    "role": "user",
                    "content": f"<passage>{untrusted(passage, 2000)}</passage>\n"
                    f"<claim>{untrusted(claim, 400)}</claim>",
                },
            ],
        )
        word = (reply.choices[0].message.content or "").strip().lower()
        for label in ("contradicted", "unsupported", "supported"):
            if label in word:
                return label
        return "supported"

    return judge


def parse_judge_reply(text: str) -> str:
    """The label in a judge's reply (JSON or a word); ``supported`` when unclear."""
    try:
        value = json.loads(text)
        text = str(value.get("label", "")) if isinstance(value, dict) else str(value)
    except (json.JSONDecodeError, AttributeError):
        pass
    lowered = text.lower()
    return next(
        (x for x in ("contradicted", "unsupported", "supported") if x in lowered), "supported"
    )
