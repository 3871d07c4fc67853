"""When a phenotype-driven differential is worth offering: the clinician asks for one, or
describes findings in several organ systems (an unexplained multi-system picture).

Cheap on purpose (word lists, no ontology): it runs before every model call.
"""

from __future__ import annotations

import re

_CUES = re.compile(
    r"\b(rare|syndrom\w*|genetic\w*|inherit\w*|hereditary|congenital|dysmorph\w*|"
    r"unexplained|multi-?system\w*|phenotyp\w*|hpo|omim|orpha\w*|metabolic disorder|"
    r"storage disease|consanguin\w*|genom\w*|exome)\b",
    re.IGNORECASE,
)
_SYSTEMS: dict[str, tuple[str, ...]] = {
    "eye": ("eye", "lens", "retin", "cornea", "vision", "visual", "cataract", "sclera", "ocular"),
    "ear": ("hearing", "deaf", "ear"),
    "heart": ("heart", "cardi", "aort", "valve", "arrhythm", "murmur"),
    "kidney": ("kidney", "renal", "proteinuria", "haematuria", "hematuria", "nephr"),
    "skin": ("skin", "rash", "macule", "cafe", "angiokeratoma", "telangiect", "freckl", "scar"),
    "nerve": (
        "seizure",
        "neuropath",
        "ataxia",
        "tremor",
        "developmental",
        "intellectual",
        "weakness",
        "reflex",
        "dysarthria",
        "cognitive",
        "pain in the hands",
    ),
    "skeleton": (
        "fracture",
        "scoliosis",
        "joint",
        "bone",
        "tall",
        "short stature",
        "fingers",
        "arachnodactyly",
        "pectus",
    ),
    "liver": ("liver", "hepat", "spleen", "splen", "jaundice", "cirrhosis"),
    "blood": ("anaemia", "anemia", "platelet", "thrombocyt", "bleeding", "bruising"),
    "lung": ("lung", "bronch", "pneumothorax", "chest infection"),
    "gut": ("diarrhoea", "diarrhea", "abdominal pain", "vomiting", "malabsorption"),
    "endocrine": ("puberty", "hypoglyc", "thyroid", "growth", "gonad"),
}
MIN_SYSTEMS = 3


def organ_systems(text: str) -> set[str]:
    lowered = text.lower()
    return {name for name, words in _SYSTEMS.items() if any(w in lowered for w in words)}


def suggests_rare_disease(clinician_text: str, record_text: str = "") -> bool:
    """True when the clinician asks for it, or their findings span three or more organ systems.

    ``record_text`` (the patient synopsis) counts only through explicit cues such as a
    recorded syndrome, so a common multimorbid record does not trigger it on its own.
    """
    if _CUES.search(clinician_text) or _CUES.search(record_text):
        return True
    return len(organ_systems(clinician_text)) >= MIN_SYSTEMS
