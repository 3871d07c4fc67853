"""ICD-10-CM look-up over the offline ``simple-icd-10-cm`` data (CMS/NCHS code set).

Two questions a clinician or the verifier asks:

- :func:`check_code`: does ``I21.4`` exist, is it billable (a leaf code) or only a
  category, and if it does not exist, which codes are closest?
- :func:`lookup`: which codes best match a free-text term ("NSTEMI", "community
  acquired pneumonia")? A small BM25 index over every code's description and
  inclusion terms is built once per process on first use (about a second), with a
  table of common clinical abbreviations and British spellings.

The code set is the one shipped in the installed ``simple-icd-10-cm`` package (its
``data/`` folder names the release). An ICD-10-CM code is a classification, not
clinical evidence.
"""

from __future__ import annotations

import bisect
import math
import re
import threading
import warnings
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import simple_icd_10_cm as _cm

_CODE_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?$")
_TOKEN = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    ["a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or", "the", "to"]
)
_NEUTRAL = frozenset(["unspecified", "site", "not", "specified", "organism", "nos"])
"""Words of a description that do not make it more specific than the query."""

ABBREVIATIONS: dict[str, str] = {
    "nstemi": "non st elevation nstemi myocardial infarction",
    "stemi": "st elevation stemi myocardial infarction",
    "mi": "myocardial infarction",
    "ami": "acute myocardial infarction",
    "acs": "acute coronary syndrome acute ischemic heart disease",
    "pe": "acute pulmonary embolism",
    "dvt": "acute embolism thrombosis deep veins lower extremity",
    "cap": "pneumonia unspecified organism",
    "copd": "chronic obstructive pulmonary disease",
    "chf": "congestive heart failure",
    "hf": "heart failure",
    "hfref": "systolic heart failure",
    "hfpef": "diastolic heart failure",
    "dka": "diabetes mellitus with ketoacidosis",
    "hhs": "diabetes mellitus with hyperosmolarity",
    "uti": "urinary tract infection site not specified",
    "tia": "transient cerebral ischemic attack",
    "af": "atrial fibrillation",
    "afib": "atrial fibrillation",
    "ckd": "chronic kidney disease",
    "aki": "acute kidney failure",
    "htn": "essential hypertension",
    "t2dm": "type 2 diabetes mellitus",
    "t1dm": "type 1 diabetes mellitus",
    "cva": "cerebral infarction",
    "sah": "subarachnoid hemorrhage",
    "gerd": "gastro esophageal reflux disease",
    "gord": "gastro esophageal reflux disease",
    "tb": "tuberculosis",
    "oa": "osteoarthritis",
    "ra": "rheumatoid arthritis",
    "sob": "shortness of breath",
    "urti": "acute upper respiratory infection",
    "ptx": "pneumothorax",
}
"""Clinical abbreviations -> words of the ICD-10-CM descriptions they stand for."""

PHRASES: dict[str, str] = {
    "community acquired pneumonia": "pneumonia unspecified organism",
    "heart attack": "myocardial infarction",
    "stroke": "cerebral infarction",
    "blood clot in the lung": "pulmonary embolism",
    "high blood pressure": "essential hypertension",
    "kidney stone": "calculus of kidney",
}
"""Lay or clinical phrases whose ICD-10-CM wording differs."""

_SPELLING = (
    ("ischaem", "ischem"),
    ("haem", "hem"),
    ("anaem", "anem"),
    ("aemia", "emia"),
    ("oedem", "edem"),
    ("oesophag", "esophag"),
    ("diarrhoe", "diarrhe"),
    ("tumour", "tumor"),
    ("foet", "fet"),
    ("paediatr", "pediatr"),
    ("leukaem", "leukem"),
    ("dyspnoea", "dyspnea"),
)


@dataclass(frozen=True)
class CodeCheck:
    """Whether an ICD-10-CM code exists and is billable, with a suggestion when it is not."""

    code: str
    """The code as normalised (``I214`` -> ``I21.4``)."""
    exists: bool
    billable: bool
    """True for a leaf (billable) code; False for a category with codes under it."""
    description: str
    suggestion: str
    """For a category: its billable codes; for an unknown code: the closest codes; else ''."""
    candidates: list[str] = field(default_factory=list)
    """Codes named in the suggestion (billable codes under a category, or nearby codes)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CodeMatch:
    """One code found for a free-text term."""

    code: str
    description: str
    billable: bool
    score: float
    matched: str = ""
    """The inclusion term that matched better than the description, if any."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def normalise_code(code: str) -> str:
    """``i214`` / ``I21.4`` -> ``I21.4``; text that is not code-shaped is only upper-cased."""
    compact = re.sub(r"[\s.]", "", code).upper()
    if not _CODE_SHAPE.match(compact):
        return code.strip().upper()
    return compact if len(compact) <= 3 else f"{compact[:3]}.{compact[3:]}"


def looks_like_code(text: str) -> bool:
    """True when ``text`` has the shape of an ICD-10-CM code (letter, digit, two or more chars)."""
    return bool(_CODE_SHAPE.match(re.sub(r"[\s.]", "", text).upper()))


def description(code: str) -> str:
    """The code's description with the data's stray whitespace collapsed."""
    return " ".join(_cm.get_description(code).split())


def _is_code(code: str) -> bool:
    return _cm.is_valid_item(code) and not _cm.is_chapter_or_block(code)


def _billable_under(code: str) -> list[str]:
    return [c for c in _cm.get_descendants(code) if _cm.is_leaf(c)]


def _listing(codes: list[str], limit: int = 5) -> str:
    shown = "; ".join(f"{c} {description(c)}" for c in codes[:limit])
    more = f"; and {len(codes) - limit} more" if len(codes) > limit else ""
    return shown + more


def _nearest(code: str) -> list[str]:
    """Closest existing codes: under the longest existing prefix, else neighbours in order."""
    compact = code.replace(".", "")
    for cut in range(len(compact) - 1, 2, -1):
        prefix = normalise_code(compact[:cut])
        if _is_code(prefix):
            return [prefix] if _cm.is_leaf(prefix) else _billable_under(prefix)[:8]
    categories = _index().categories
    at = bisect.bisect_left(categories, compact[:3])
    return categories[max(0, at - 2) : at + 2]


def check_code(code: str) -> CodeCheck:
    """Check one ICD-10-CM code: existence, billable or category, description, suggestion."""
    norm = normalise_code(code)
    if _is_code(norm):
        text = description(norm)
        if _cm.is_leaf(norm):
            return CodeCheck(norm, True, True, text, "")
        under = _billable_under(norm)
        hint = (
            f"{norm} is a category, not a billable code; {len(under)} billable codes "
            f"under it, e.g. {_listing(under, 4)}"
        )
        return CodeCheck(norm, True, False, text, hint, under[:8])
    near = _nearest(norm) if looks_like_code(norm) else []
    if _cm.is_valid_item(norm):
        text = f"{norm} is a chapter or block of codes, not a code"
    else:
        text = f"{norm} is not an ICD-10-CM code"
    if near:
        text += f"; closest codes: {_listing(near, 4)}"
    return CodeCheck(norm, False, False, "", text, near)


# --- the lexical index ---------------------------------------------------------------------------


def _stem(token: str) -> str:
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def tokens(text: str) -> list[str]:
    """Lower-case word stems of ``text``, British spellings mapped to the ICD-10-CM ones."""
    lowered = text.lower()
    for british, american in _SPELLING:
        lowered = lowered.replace(british, american)
    return [_stem(t) for t in _TOKEN.findall(lowered) if t not in _STOP]


def expand(term: str) -> str:
    """The term with abbreviations replaced by their words and known phrases expanded."""
    words = _TOKEN.findall(term.lower())
    lowered = " ".join(words)
    extra = [v for k, v in PHRASES.items() if re.search(rf"\b{re.escape(k)}\b", lowered)]
    return " ".join([*(ABBREVIATIONS.get(w, w) for w in words), *extra])


class _Index:
    """BM25 (k1 1.2, b 0.75) over code descriptions plus inclusion terms."""

    def __init__(self) -> None:
        all_codes = [c for c in _cm.get_all_codes(True) if not _cm.is_chapter_or_block(c)]
        self.codes = all_codes
        self.categories = sorted(c for c in all_codes if _cm.is_category(c))
        self.leaf = np.array([_cm.is_leaf(c) for c in all_codes], dtype=bool)
        self.descriptions = [description(c) for c in all_codes]
        self.terms: list[list[str]] = []
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        lengths = np.zeros(len(all_codes), dtype=np.float32)
        for number, code in enumerate(all_codes):
            included = _cm.get_inclusion_term(code)
            self.terms.append(included)
            words = tokens(" ".join([self.descriptions[number], *included]))
            lengths[number] = len(words)
            for word, count in Counter(words).items():
                postings[word].append((number, count))
        self.norm = 1.2 * (0.25 + 0.75 * lengths / max(float(lengths.mean()), 1.0))
        self.postings = {
            w: (
                np.array([d for d, _ in p], dtype=np.int64),
                np.array([c for _, c in p], np.float32),
            )
            for w, p in postings.items()
        }

    def scores(self, words: list[str]) -> np.ndarray:
        total = np.zeros(len(self.codes), dtype=np.float32)
        n = len(self.codes)
        for word, weight in Counter(words).items():
            found = self.postings.get(word)
            if found is None:
                continue
            docs, tf = found
            idf = math.log(1 + (n - len(docs) + 0.5) / (len(docs) + 0.5))
            total[docs] += weight * idf * tf * 2.2 / (tf + self.norm[docs])
        return total


_INDEX: _Index | None = None
_LOCK = threading.Lock()


def _index() -> _Index:
    global _INDEX
    with _LOCK:
        if _INDEX is None:
            _INDEX = _Index()
        return _INDEX


def _coverage(query: set[str], text: str) -> float:
    words = set(tokens(text))
    return len(query & words) / max(len(query), 1) if words else 0.0


def _rerank(index: _Index, number: int, query: set[str], raw: float) -> tuple[float, str]:
    """BM25 times how much of the query the description (or an inclusion term) covers."""
    description = index.descriptions[number]
    best, matched = _coverage(query, description), ""
    for term in index.terms[number]:
        cover = _coverage(query, term)
        if cover > best:
            best, matched = cover, term
    extra = len(set(tokens(matched or description)) - query - _NEUTRAL)
    score = raw * (0.5 + best) / (1 + 0.08 * extra) * (1.3 if index.leaf[number] else 1.0)
    if best == 1.0 and extra == 0:
        # the description or an inclusion term says exactly what was asked
        score *= 1.3 if index.leaf[number] else 1.1
    return score, matched


def lookup(term: str, k: int = 8) -> list[CodeMatch]:
    """The ``k`` ICD-10-CM codes best matching a free-text term, billable codes preferred.

    A term that is itself a code returns that code (and, for a category, its billable
    codes). An empty or unmatched term returns an empty list.
    """
    if looks_like_code(term):
        check = check_code(term)
        if check.exists:
            listed = [check.code, *check.candidates]
            return [CodeMatch(c, description(c), _cm.is_leaf(c), 1.0) for c in listed[:k]]
    index = _index()
    words = tokens(expand(term))
    if not words:
        return []
    raw = index.scores(words)
    pool = np.argsort(-raw)[: max(60, 6 * k)]
    query = set(words)
    ranked = []
    for number in pool:
        if raw[number] <= 0:
            break
        score, matched = _rerank(index, int(number), query, float(raw[number]))
        ranked.append((score, int(number), matched))
    ranked.sort(key=lambda r: (-r[0], index.codes[r[1]]))
    return [
        CodeMatch(index.codes[n], index.descriptions[n], bool(index.leaf[n]), round(s, 3), matched)
        for s, n, matched in ranked[:k]
    ]


def release() -> str:
    """The code-set release shipped with the installed package (e.g. ``April-2026``)."""
    from importlib import resources

    names = [p.name for p in resources.files("simple_icd_10_cm").joinpath("data").iterdir()]
    found = [re.search(r"code-list-(.+)\.txt", n) for n in names]
    return next((m.group(1) for m in found if m), "unknown")
