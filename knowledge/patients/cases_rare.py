"""A synthetic rare-disease case (SYNTHETIC, for demonstration only; not clinical advice).

A young man whose record holds the pieces of a lysosomal storage disease without naming
it: kidney disease and left ventricular hypertrophy on the problem list, a rising
creatinine, and a clinic letter describing burning pain in the hands and feet since
childhood, little sweating, angiokeratomas, corneal opacities and proteinuria. The
picture follows the classic description of Fabry disease (Germain DP, Orphanet J Rare Dis
2010;5:30). It exercises the phenotype-driven differential (``phenotype_differential``).
"""

from __future__ import annotations

from knowledge.patients.schema import NKA, PROGRESS_NOTE, Case, Med, Problem, note

BURNING_PAIN = Case(
    id="burning-pain",
    synopsis="31-year-old man with burning pain in the hands and feet since childhood, "
    "chronic kidney disease and left ventricular hypertrophy",
    sex="male",
    birth="1995-02-14",
    given="Morgan",
    encounter=("AMB", "2026-04-10T09:00:00Z", "Renal clinic review"),
    conditions=[
        Problem("700379002", "Chronic kidney disease stage 3a", "N18.31", "2025-11-20"),
        Problem("164873001", "Left ventricular hypertrophy", "I51.7", "2026-01-15"),
    ],
    medications=[
        Med(
            "35296",
            "ramipril",
            "Ramipril 2.5 mg capsule",
            "2.5 mg by mouth once daily",
            "2025-12-01",
        ),
    ],
    allergies=[NKA],
    labs=[
        ("2025-11-20T09:00:00Z", {"creat": 1.3, "egfr": 74, "na": 140, "k": 4.4, "hb": 14.6}),
        ("2026-04-10T08:30:00Z", {"creat": 1.6, "egfr": 58, "na": 139, "k": 4.7, "hb": 14.2}),
    ],
    vitals=[
        ("2025-11-20T08:50:00Z", (70, 134, 84, 14, 36.6, 98, 69)),
        ("2026-04-10T08:40:00Z", (72, 138, 86, 14, 36.7, 98, 68)),
    ],
    notes=[
        note(
            "2026-04-10T09:30:00Z",
            PROGRESS_NOTE,
            "Renal clinic letter",
            """
            31-year-old man referred with proteinuria and a falling eGFR. Since childhood he
            has had episodes of burning pain in the hands and feet, brought on by heat,
            exercise and fever; he sweats little and avoids sport in summer. Occasional
            abdominal pain and loose stools after meals. On examination there are clusters of
            small dark red angiokeratomas over the lower trunk and thighs. Slit lamp
            examination by the ophthalmologist showed corneal opacities. Urine dipstick
            protein 2+. Echocardiogram: concentric left ventricular hypertrophy. He denies
            seizures. No family history is known (adopted).""",
        ),
    ],
    number=14,
)

RARE_CASES = [BURNING_PAIN]
