"""What record claims are read for: units and quantities, dates and times, flag and trend
words, drug classes; and how a cited entry's value, flag and series are stated."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tools.evidence import EvidenceRecord

# --- units ----------------------------------------------------------------------------------
_MASS = {"pg": 1e-12, "ng": 1e-9, "ug": 1e-6, "µg": 1e-6, "μg": 1e-6, "mcg": 1e-6, "mg": 1e-3}
_MASS["g"] = 1.0
_VOLUME = {"ml": 1e-3, "dl": 0.1, "l": 1.0}
_MOLAR = {"pmol": 1e-12, "nmol": 1e-9, "umol": 1e-6, "µmol": 1e-6, "μmol": 1e-6, "mmol": 1e-3}
_MOLAR["mol"] = 1.0
MOLAR_MASS = {
    "2345-7": 180.16,  # glucose
    "2160-0": 113.12,  # creatinine
    "3094-0": 28.01,  # urea nitrogen (as N2: 1 mg/dL BUN = 0.357 mmol/L urea)
    "13457-7": 386.65,  # LDL cholesterol
    "2089-1": 386.65,
    "1975-2": 584.66,  # bilirubin
}
_SIMPLE = {
    "/min": ("rate", 1.0),
    "bpm": ("rate", 1.0),
    "beats/min": ("rate", 1.0),
    "breaths/min": ("rate", 1.0),
    "mmhg": ("pressure", 1.0),
    "mm hg": ("pressure", 1.0),
    "mm[hg]": ("pressure", 1.0),
    "%": ("percent", 1.0),
    "kg": ("weight", 1.0),
    "lb": ("weight", 0.45359237),
    "lbs": ("weight", 0.45359237),
    "u/l": ("activity", 1.0),
    "iu/l": ("activity", 1.0),
    "miu/l": ("miu", 1.0),
    "mu/l": ("miu", 1.0),
    "ml/min/1.73m2": ("egfr", 1.0),
    "ml/min/1.73 m2": ("egfr", 1.0),
    "ml/min": ("egfr", 1.0),
    "10^3/µl": ("count", 1.0),
    "10^3/ul": ("count", 1.0),
    "x10^9/l": ("count", 1.0),
    "10^9/l": ("count", 1.0),
    "x 10^9/l": ("count", 1.0),
    "units/ml": ("units", 1.0),
    "units": ("units", 1.0),
    "meq/l": ("molar", 1e-3),
}
_UNIT_RE = (
    r"°\s?[cf]|deg(?:rees)?\s?[cf]|mmhg|mm hg|mm\[hg\]|beats/min|breaths/min|bpm|/min|"
    r"ml/min/1\.73\s?m2|ml/min|(?:x\s?)?10\^[39]/[uµ]?l|miu/l|mu/l|iu/l|u/l|meq/l|"
    r"(?:[pnuµμm]?mol|[pnuµμm]?g|mcg)/(?:ml|dl|l)(?:\s?feu)?|%|kg|lbs?|"
    r"(?:pg|ng|mcg|µg|ug|mg|g)(?![a-z/])|units(?:/ml)?"
)
_QUANTITY = re.compile(
    rf"(?<![\w./-])(\d+(?:\.\d+)?)(?:\s*/\s*(\d+(?:\.\d+)?))?\s*({_UNIT_RE})?(?![\w/^])",
    re.IGNORECASE,
)
_CHAIN = re.compile(r"^\s*(?:to|->|→|-|–|and|,|then|from|vs\.?|versus)\s*$", re.IGNORECASE)


def _dimension(unit: str, code: str = "") -> tuple[str, float] | None:
    """(dimension, factor to the base unit) of a unit; molar units need the analyte's code."""
    u = unit.strip().lower().replace(" feu", "").replace("μ", "µ")
    if u in {"°c", "° c", "degc", "deg c", "degrees c", "c", "cel"}:
        return ("temperature_c", 1.0)
    if u in {"°f", "° f", "degf", "deg f", "degrees f", "f"}:
        return ("temperature_f", 1.0)
    if u in _SIMPLE:
        return _SIMPLE[u]
    if "/" in u:
        top, bottom = u.split("/", 1)
        if bottom in _VOLUME:
            if top in _MASS:
                return ("mass_conc", _MASS[top] / _VOLUME[bottom])
            if top in _MOLAR:
                return ("molar", _MOLAR[top] / _VOLUME[bottom])
    if u in _MASS:
        return ("mass", _MASS[u])
    return None


def convert(value: float, unit: str, to_unit: str, code: str = "") -> float | None:
    """``value`` in ``unit`` expressed in ``to_unit`` (None when they are not the same quantity)."""
    a, b = _dimension(unit, code), _dimension(to_unit, code)
    if a is None or b is None:
        return None
    if {a[0], b[0]} == {"temperature_c", "temperature_f"}:
        return (value - 32) / 1.8 if a[0] == "temperature_f" else value * 1.8 + 32
    if a[0] == b[0]:
        return value * a[1] / b[1]
    weight = MOLAR_MASS.get(code)
    if weight and {a[0], b[0]} == {"mass_conc", "molar"}:
        grams = value * a[1] if a[0] == "mass_conc" else value * a[1] * weight
        return grams / b[1] if b[0] == "mass_conc" else grams / weight / b[1]
    return None


@dataclass
class Quantity:
    value: float
    second: float | None
    unit: str
    text: str
    decimals: int


def quantities(text: str) -> list[Quantity]:
    """Numbers with units in a claim; a bare number chained to a later one takes its unit."""
    found: list[tuple[re.Match[str], str]] = []
    matches = list(_QUANTITY.finditer(text))
    for index, m in enumerate(matches):
        unit = m.group(3) or ""
        if not unit:
            for later in matches[index + 1 :]:
                gap = text[m.end() : later.start()]
                if not _CHAIN.match(gap) and gap.strip():
                    break
                if later.group(3):
                    unit = later.group(3)
                    break
        found.append((m, unit))
    out = []
    for m, unit in found:
        if not unit or _is_date_part(text, m):
            continue
        number = m.group(1)
        out.append(
            Quantity(
                float(number),
                float(m.group(2)) if m.group(2) else None,
                unit,
                m.group(0).strip(),
                len(number.split(".")[1]) if "." in number else 0,
            )
        )
    return out


def _is_date_part(text: str, m: re.Match[str]) -> bool:
    before, after = text[max(0, m.start() - 1) : m.start()], text[m.end() : m.end() + 1]
    return before in {"-", ":"} or after in {"-", ":"}


# --- dates ------------------------------------------------------------------------------------
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for m in names
}
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ISO = re.compile(r"\b((?:19|20)\d{2})-(\d{2})(?:-(\d{2}))?(?:[ T](\d{2}):(\d{2}))?\b")
_DMY = re.compile(rf"\b(\d{{1,2}})\s+({_MONTH_RE})\.?,?\s+((?:19|20)\d{{2}})\b", re.I)
_MDY = re.compile(rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}}),?\s+((?:19|20)\d{{2}})\b", re.I)
_MY = re.compile(rf"\b({_MONTH_RE})\.?\s+((?:19|20)\d{{2}})\b", re.I)
_YEAR = re.compile(r"\b(?:since|in|from|diagnosed|started|onset)\s+((?:19|20)\d{2})\b", re.I)
_TIME = re.compile(r"\bat\s+(\d{1,2}):(\d{2})\b")


def dates(text: str) -> list[str]:
    """Dates stated in a claim as ISO prefixes: ``2026-03-01``, ``2018-03``, ``2018``."""
    found = []
    for m in _ISO.finditer(text):
        found.append("-".join(p for p in m.groups()[:3] if p))
    for m in _DMY.finditer(text):
        found.append(f"{m.group(3)}-{_MONTHS[m.group(2).lower()]:02d}-{int(m.group(1)):02d}")
    for m in _MDY.finditer(text):
        found.append(f"{m.group(3)}-{_MONTHS[m.group(1).lower()]:02d}-{int(m.group(2)):02d}")
    spans = [m.span() for r in (_DMY, _MDY) for m in r.finditer(text)]
    for m in _MY.finditer(text):
        if not any(a <= m.start() < b for a, b in spans):
            found.append(f"{m.group(2)}-{_MONTHS[m.group(1).lower()]:02d}")
    found.extend(m.group(1) for m in _YEAR.finditer(text))
    return list(dict.fromkeys(found))


def times(text: str) -> list[str]:
    return [f"{int(m.group(1)):02d}:{m.group(2)}" for m in _TIME.finditer(text)]


# --- words --------------------------------------------------------------------------------
_NEG = r"(?:not|no longer|never|without|isn't|is not|wasn't|was not)\s+(?:\w+\s+)?"
_HIGH = r"(?:elevated|raised|high|higher|increased|above (?:the )?(?:normal|reference)|abnormal)"
_LOW = r"(?:low|lower|reduced|decreased|below (?:the )?(?:normal|reference)|depressed)"
_NORMAL = r"(?:normal|within (?:the )?(?:normal|reference) (?:range|limits)|unremarkable|negative)"
FLAG_WORDS = {
    "critical": re.compile(r"\bcritical(?:ly)?\b", re.I),
    "not_high": re.compile(rf"\b{_NEG}{_HIGH}\b", re.I),
    "not_normal": re.compile(rf"\b{_NEG}{_NORMAL}\b", re.I),
    "high": re.compile(rf"\b{_HIGH}\b", re.I),
    "low": re.compile(rf"\b{_LOW}\b", re.I),
    "normal": re.compile(rf"\b{_NORMAL}\b", re.I),
}
TREND_WORDS = {
    "peaked": re.compile(
        r"\b(?:peaked|peak(?:ing)?|ris(?:e|es|en)\b.{0,40}?\b(?:then|and)\s+(?:fall|fell)|"
        r"rose\b.{0,40}?\b(?:then|and)\s+(?:then\s+)?fell)\b",
        re.I,
    ),
    "rising": re.compile(
        r"\b(?:ris(?:ing|en|e|es)|rose|increas(?:ing|ed)|up-?trending|climbing|uptrend)\b", re.I
    ),
    "falling": re.compile(
        r"\b(?:fall(?:ing|en|s)?|fell|decreas(?:ing|ed)|down-?trending|declin(?:ing|ed)|"
        r"downtrend|improving)\b",
        re.I,
    ),
    "stable": re.compile(r"\b(?:stable|unchanged|flat|steady)\b", re.I),
}
_STRICT = re.compile(r"\b(?:steadily|consistently|progressively|continuously|monoton\w*)\b", re.I)
_CLAUSE = re.compile(r"[,;()]|\band\b|\bbut\b|\bwhile\b", re.I)
_NO_ALLERGY = re.compile(
    r"\b(?:no known (?:drug )?allerg\w*|nkda|nka|no (?:drug )?allerg\w*|not allergic)\b", re.I
)
_CURRENT = re.compile(
    r"\b(?:active|ongoing|current(?:ly)?|takes|taking|on treatment|is on)\b", re.I
)
_PAST = re.compile(
    r"\b(?:resolved|past|previous(?:ly)?|prior|former(?:ly)?|no longer|stopped|discontinued|"
    r"history of|in remission|was on|had been on)\b",
    re.I,
)
DRUG_CLASSES: dict[str, tuple[str, ...]] = {
    "anticoagulant": (
        "warfarin", "apixaban", "rivaroxaban", "edoxaban", "dabigatran", "heparin",
        "enoxaparin", "dalteparin", "tinzaparin", "fondaparinux",
    ),
    "antiplatelet": ("aspirin", "clopidogrel", "ticagrelor", "prasugrel", "dipyridamole"),
    "insulin": ("insulin",),
    "statin": ("atorvastatin", "simvastatin", "rosuvastatin", "pravastatin"),
    "beta blocker": ("bisoprolol", "metoprolol", "atenolol", "propranolol", "carvedilol"),
    "ace inhibitor": ("lisinopril", "ramipril", "enalapril", "perindopril"),
    "diuretic": ("furosemide", "bumetanide", "spironolactone", "indapamide", "bendroflumethiazide"),
    "antibiotic": ("ceftriaxone", "amoxicillin", "co-amoxiclav", "doxycycline", "clarithromycin"),
    "opioid": ("codeine", "morphine", "oxycodone", "tramadol"),
}  # fmt: skip
_CLASS_RE = {
    name: re.compile(rf"\b{name.replace(' ', '[- ]?')}s?\b|\b(?:{'|'.join(members)})\b", re.I)
    for name, members in DRUG_CLASSES.items()
}
_CLASS_RE["anticoagulant"] = re.compile(
    r"\b(?:anticoagula\w*|blood thinners?|doacs?|noacs?|"
    + "|".join(DRUG_CLASSES["anticoagulant"])
    + r")\b",
    re.I,
)
_NOT_ON = re.compile(
    r"\b(?:not (?:on|taking|prescribed|receiving)|no (?:current |active )?|never (?:on|took)|"
    r"off)\s+(?:any\s+)?([\w -]{3,40})",
    re.I,
)
_ALL_DRUGS = sorted({d for members in DRUG_CLASSES.values() for d in members})


def _merge(mismatches: list[str]) -> str:
    """``the claim says 5 ng/L; the claim calls it normal; E17 is X`` said once per entry."""
    said: dict[str, list[str]] = {}
    for text in dict.fromkeys(mismatches):
        head, sep, tail = text.partition("; ")
        key = tail if sep and head.startswith("the claim") else ""
        said.setdefault(key, []).append(head if key else text)
    parts = []
    for holds, heads in said.items():
        claim = heads[0] + "".join(", " + h.removeprefix("the claim ") for h in heads[1:])
        parts.append(f"{claim}; {holds}" if holds else claim)
    return "; ".join(parts)


def _c(record: EvidenceRecord) -> dict[str, Any]:
    return record.get("citation") or {}


def _num(value: float) -> str:
    return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.3g}"


def _holds(record: EvidenceRecord) -> str:
    c = _c(record)
    if c.get("resource_type") == "Observation":
        flag = c.get("interpretation") or ""
        flag_text = f" ({_FLAG_NAMES.get(flag, flag)})" if flag else ""
        when = str(c.get("date") or "")[:16].replace("T", " ")
        value = f"{c.get('value_text', '')} {c.get('unit') or ''}".strip()
        return f"{record['id']} is {c.get('display', '')} {value}{flag_text} on {when}".strip()
    return f"{record['id']} is {record['label']}"


_FLAG_NAMES = {"H": "high", "HH": "critically high", "L": "low", "LL": "critically low"}
_FLAG_NAMES.update({"N": "normal", "A": "abnormal"})


def observation_flag(c: Mapping[str, Any]) -> str:
    """``high``, ``low``, ``normal`` or ``critical`` from the flag, else from the range."""
    flag = str(c.get("interpretation") or "")
    if flag in {"HH", "LL", "AA"}:
        return "critical"
    if flag in {"H", "HU"}:
        return "high"
    if flag in {"L", "LU"}:
        return "low"
    if flag == "N":
        return "normal"
    value, rng = c.get("value"), str(c.get("reference_range") or "")
    if value is None or not rng:
        return "abnormal" if flag == "A" else ""
    m = re.fullmatch(r"([\d.]+)-([\d.]+)|<([\d.]+)|>([\d.]+)", rng)
    if not m:
        return ""
    low = float(m.group(1) or m.group(4) or "-inf")
    high = float(m.group(2) or m.group(3) or "inf")
    return "high" if value > high else "low" if value < low else "normal"


def _series(record: EvidenceRecord, evidence: Mapping[str, EvidenceRecord]) -> list[float]:
    """Every value of the same test in the session's evidence, oldest first."""
    code = _c(record).get("code")
    same = [
        _c(r)
        for r in evidence.values()
        if r["kind"] == "ehr"
        and _c(r).get("resource_type") == "Observation"
        and _c(r).get("code") == code
        and isinstance(_c(r).get("value"), int | float)
    ]
    same.sort(key=lambda c: str(c.get("date") or ""))
    return [float(c["value"]) for c in same]


def series_shape(values: Sequence[float]) -> str:
    """``rising``, ``falling``, ``peaked``, ``troughed`` or ``stable`` for a series of values."""
    if len(values) < 2:
        return ""
    first, last, top, bottom = values[0], values[-1], max(values), min(values)
    scale = max(abs(first), abs(last), 1e-9)
    if (top - bottom) / scale < 0.1:
        return "stable"
    if top > max(first, last) * 1.1 and last < top * 0.9:
        return "peaked"
    if bottom < min(first, last) * 0.9 and last > bottom * 1.1:
        return "troughed"
    return "rising" if last > first else "falling" if last < first else "stable"
