"""Clinical text and record findings -> Human Phenotype Ontology terms.

Text: the HPO term names (phenotypic abnormalities only) plus the clinical phrasings in
:mod:`knowledge.phenotypes.synonyms`, matched longest first over normalised words
(British and American spellings, plurals). A finding that is negated in its clause
("no seizures", "denies hearing loss") or shares its clause with a relative ("mother
has diabetes", "sudden death in his father") is not taken as the patient's. Lab
results: an abnormal value of a mapped LOINC code becomes its HPO term (low haemoglobin
-> Anemia).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from knowledge.phenotypes.ontology import PHENOTYPIC_ABNORMALITY, ontology
from knowledge.phenotypes.synonyms import SYNONYMS

_MAX_WORDS = 8
_SPELLING = [
    (re.compile(r"aemi"), "emi"),
    (re.compile(r"\bhaem"), "hem"),
    (re.compile(r"\boedem"), "edem"),
    (re.compile(r"\boesoph"), "esoph"),
    (re.compile(r"\bpaed"), "ped"),
    (re.compile(r"our\b"), "or"),
    (re.compile(r"isation\b"), "ization"),
    (re.compile(r"aemorrh"), "emorrh"),
]
_CLAUSE = re.compile(
    r"[.;:!?]|\n\s*\n|\n\s*[-*•]|,\s+but\b|\bbut\b|\bhowever\b"
    r"|,\s+and\s+(?=(?:he|she|they|it|there|his|her|the)\b)"
)
"""Sentences, paragraphs, list items, contrasts, and ", and he ..." (a new clause); a
wrapped line does not end a clause."""
_NEGATION = {"no", "not", "denies", "denied", "deny", "without", "negative", "never", "nor"}
"""Cue words, normalised ('absent' is not one: 'absent reflexes' is a finding)."""
_RELATIVE = {
    "mother",
    "father",
    "brother",
    "sister",
    "sibling",
    "siblings",
    "aunt",
    "uncle",
    "cousin",
    "grandmother",
    "grandfather",
    "family",
    "parent",
    "parents",
    "son",
    "daughter",
}
_WORD = re.compile(r"[a-z0-9]+")
_NEGATION_REACH = 5
_TRIGGER = re.compile(
    r"\b(brought on by|triggered by|precipitated by|provoked by|induced by|worse with|"
    r"worse on|worse after|aggravated by)\b"
)
"""A finding named as what sets a symptom off ("pain brought on by heat and fever") is a
circumstance, not a finding of the patient (the 'conditional' context of ConText,
Harkema et al., J Biomed Inform 2009)."""

LAB_TERMS: dict[str, tuple[str | None, str | None]] = {
    "718-7": ("HP:0001903", None),  # haemoglobin low: anemia
    "777-3": ("HP:0001873", "HP:0001894"),  # platelets
    "6690-2": ("HP:0001882", "HP:0001974"),  # white cells
    "751-8": ("HP:0001875", None),  # neutrophils
    "2160-0": (None, "HP:0003259"),  # creatinine
    "14682-9": (None, "HP:0003259"),
    "1975-2": (None, "HP:0002904"),  # bilirubin
    "1742-6": (None, "HP:0002910"),  # ALT
    "1920-8": (None, "HP:0002910"),  # AST
    "2951-2": ("HP:0002902", "HP:0003228"),  # sodium
    "2823-3": ("HP:0002900", "HP:0002153"),  # potassium
    "2345-7": ("HP:0001943", "HP:0003074"),  # glucose
    "2524-7": (None, "HP:0002151"),  # lactate
    "2093-3": (None, "HP:0003124"),  # cholesterol
    "2571-8": (None, "HP:0002155"),  # triglycerides
    "17861-6": ("HP:0002901", "HP:0003072"),  # calcium
    "2157-6": (None, "HP:0003236"),  # creatine kinase
    "2276-4": (None, "HP:0003281"),  # ferritin
    "3084-1": (None, "HP:0002149"),  # urate
    "1988-5": (None, "HP:0011227"),  # CRP
    "3016-3": ("HP:0031098", "HP:0002925"),  # TSH
    "2888-6": (None, "HP:0000093"),  # urine protein
    "98979-8": ("HP:0012622", None),  # eGFR low: chronic kidney disease
}
"""LOINC code -> (HPO term when low, HPO term when high)."""


@dataclass(frozen=True)
class Found:
    hpo_id: str
    name: str
    text: str
    """The words that matched, or the lab result."""
    source: str = "text"
    """Where: ``text``, or a label of the record entry (a problem, a result, a note)."""


def normalise(text: str) -> list[str]:
    """Lower case, one spelling, singular words: the form both sides are compared in."""
    value = text.lower().replace("-", " ").replace("/", " ").replace("'", "")
    for pattern, replacement in _SPELLING:
        value = pattern.sub(replacement, value)
    return [_singular(w) for w in _WORD.findall(value)]


def _singular(word: str) -> str:
    if len(word) <= 3 or word.endswith(("ss", "us", "is", "ous")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "ses")):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word


@cache
def lexicon() -> dict[tuple[str, ...], tuple[str, str]]:
    """Normalised words -> (HPO id, term name), from term names and the synonym table."""
    onto = ontology()
    root = onto.hpo(PHENOTYPIC_ABNORMALITY)
    table: dict[tuple[str, ...], tuple[str, str]] = {}
    for item in onto:
        if item.is_obsolete or not item.child_of(root):
            continue
        words = tuple(normalise(item.name))
        if 0 < len(words) <= _MAX_WORDS:
            table.setdefault(words, (item.id, item.name))
    for hpo_id, phrases in SYNONYMS.items():
        name = onto.get_hpo_object(hpo_id).name
        for phrase in phrases:
            table[tuple(normalise(phrase))] = (hpo_id, name)
    return table


def _clause_terms(words: list[str], table: dict[tuple[str, ...], tuple[str, str]]) -> list[Found]:
    found: list[Found] = []
    i = 0
    while i < len(words):
        for size in range(min(_MAX_WORDS, len(words) - i), 0, -1):
            hit = table.get(tuple(words[i : i + size]))
            if hit is None:
                continue
            before = set(words[max(0, i - _NEGATION_REACH) : i])
            trigger = _TRIGGER.search(" ".join(words[:i]))
            if not before & _NEGATION and not set(words) & _RELATIVE and not trigger:
                found.append(Found(hit[0], hit[1], " ".join(words[i : i + size])))
            i += size
            break
        else:
            i += 1
    return found


def terms_in_text(text: str, source: str = "text") -> list[Found]:
    """The patient's phenotype terms mentioned in ``text`` (negated and family ones dropped)."""
    table = lexicon()
    found: list[Found] = []
    for clause in _CLAUSE.split(text.lower()):
        for item in _clause_terms(normalise(clause), table):
            found.append(Found(item.hpo_id, item.name, item.text, source))
    return found


def lab_term(loinc: str, direction: str) -> str | None:
    """The HPO term of an abnormal result: ``direction`` is ``low`` or ``high``."""
    low, high = LAB_TERMS.get(loinc, (None, None))
    return low if direction == "low" else high if direction == "high" else None


def most_specific(found: list[Found]) -> list[Found]:
    """One entry per term, without terms that are ancestors of another one found."""
    onto = ontology()
    unique: dict[str, Found] = {}
    for item in found:
        unique.setdefault(item.hpo_id, item)
    terms = {hid: onto.get_hpo_object(hid) for hid in unique}
    ancestors = {p.id for t in terms.values() for p in t.all_parents}
    return [item for hid, item in unique.items() if hid not in ancestors]
