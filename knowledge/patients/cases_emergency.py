"""Synthetic emergency cases: PE, pneumothorax, stroke (SYNTHETIC, for demonstration only)."""

from __future__ import annotations

from knowledge.patients.schema import (
    ECG_NOTE,
    ED_NOTE,
    HTN,
    METFORMIN,
    NKA,
    T2DM,
    Allergy,
    Case,
    Med,
    Problem,
    note,
)

PULMONARY_EMBOLISM = Case(
    id="pulmonary-embolism",
    synopsis="45-year-old woman with pleuritic chest pain and breathlessness after a long-haul "
    "flight; on a combined oral contraceptive",
    sex="female",
    birth="1981-04-09",
    given="Jordan",
    encounter=("EMER", "2026-04-03T14:10:00Z", "Pleuritic chest pain, breathlessness"),
    conditions=[Problem("40930008", "Hypothyroidism", "E03.9", "2012-11-01")],
    medications=[
        Med(
            "10582",
            "levothyroxine",
            "Levothyroxine 75 mcg tablet",
            "75 mcg by mouth once daily",
            "2012-11-01",
        ),
        Med(
            None,
            "ethinylestradiol / levonorgestrel",
            "Combined oral contraceptive (ethinylestradiol 30 mcg / levonorgestrel 150 mcg)",
            "1 tablet by mouth daily",
            "2019-05-01",
        ),
    ],
    allergies=[
        Allergy("2670", "Codeine", "Nausea", "422587007", "low", "2016-08-19", type="intolerance")
    ],
    labs=[
        ("2025-11-03T09:00:00Z", {"tsh": 2.1}),
        (
            "2026-04-03T14:30:00Z",
            {
                "ddimer": 2350,
                "hs_tnt": 18,
                "hb": 13.4,
                "wbc": 8.6,
                "plt": 262,
                "creat": 0.8,
                "egfr": 95,
            },
        ),
    ],
    vitals=[("2026-04-03T14:15:00Z", (112, 124, 78, 22, 37.4, 93, 70))],
    notes=[
        note(
            "2026-04-03T14:20:00Z",
            ECG_NOTE,
            "12-lead ECG",
            """
            Sinus tachycardia 112/min. Normal axis. T-wave inversion in V1-V3. No ST elevation.
            QTc 430 ms.""",
        ),
        note(
            "2026-04-03T14:50:00Z",
            ED_NOTE,
            "Emergency department assessment",
            """
            45-year-old woman, 2 days of right-sided pleuritic chest pain and breathlessness on
            exertion; one episode of blood-streaked sputum. Returned 5 days ago from a 13-hour
            flight. Takes a combined oral contraceptive. Right calf 3 cm larger than left,
            tender along the deep veins. Chest clear. CT pulmonary angiogram requested.""",
        ),
    ],
    number=5,
)

PNEUMOTHORAX = Case(
    id="pneumothorax",
    synopsis="24-year-old tall, thin man who smokes; sudden left chest pain and breathlessness "
    "at rest",
    sex="male",
    birth="2002-03-30",
    given="Casey",
    encounter=("EMER", "2026-05-12T19:30:00Z", "Sudden left chest pain"),
    conditions=[Problem("77176002", "Smoker", "F17.210", "2019-01-01")],
    allergies=[NKA],
    labs=[("2026-05-12T19:50:00Z", {"hb": 15.2, "wbc": 8.1, "plt": 240, "creat": 0.9})],
    vitals=[
        ("2026-05-12T19:35:00Z", (104, 126, 78, 22, 36.9, 95, 66)),
        ("2026-05-12T21:00:00Z", (92, 122, 76, 18, 36.8, 97, None)),
    ],
    notes=[
        note(
            "2026-05-12T19:55:00Z",
            ED_NOTE,
            "Emergency department assessment",
            """
            24-year-old man (height 191 cm), sudden sharp left-sided chest pain and
            breathlessness while watching television 3 hours ago. Smokes 10 cigarettes a day
            and cannabis. No trauma, no previous episodes. Reduced breath sounds and
            hyper-resonance on the left. Trachea central. Chest radiograph requested.""",
        ),
    ],
    number=6,
)

STROKE = Case(
    id="stroke",
    synopsis="74-year-old man, sudden right arm and face weakness with word-finding difficulty; "
    "atrial fibrillation, off anticoagulation",
    sex="male",
    birth="1952-07-18",
    given="Drew",
    encounter=("EMER", "2026-06-08T09:20:00Z", "Sudden right-sided weakness"),
    conditions=[
        HTN,
        T2DM,
        Problem("49436004", "Atrial fibrillation", "I48.91", "2019-02-14"),
        Problem(None, "Upper gastrointestinal bleed", "K92.2", "2024-04-02", "2024-05-01"),
    ],
    medications=[
        METFORMIN,
        Med(
            "6918",
            "metoprolol",
            "Metoprolol succinate 50 mg tablet",
            "50 mg by mouth once daily",
            "2019-02-14",
        ),
        Med(
            "17767",
            "amlodipine",
            "Amlodipine 10 mg tablet",
            "10 mg by mouth once daily",
            "2015-06-01",
        ),
        Med(
            "11289",
            "warfarin",
            "Warfarin tablet",
            "dose per INR; stopped after GI bleed",
            "2019-02-14",
            status="stopped",
        ),
    ],
    allergies=[NKA],
    labs=[
        (
            "2026-06-08T09:35:00Z",
            {
                "glucose": 142,
                "inr": 1.0,
                "plt": 220,
                "hb": 13.6,
                "creat": 1.0,
                "egfr": 76,
                "na": 139,
                "k": 4.1,
            },
        ),
    ],
    vitals=[("2026-06-08T09:25:00Z", (96, 182, 98, 18, 36.7, 97, 84))],
    notes=[
        note(
            "2026-06-08T09:45:00Z",
            ED_NOTE,
            "Stroke team assessment",
            """
            74-year-old right-handed man. Last known well 08:30, when his wife noticed his
            speech was muddled and his right hand dropped his cup. Expressive dysphasia, right
            facial weakness sparing the forehead, right arm drift (MRC 3/5), right leg 4+/5.
            NIHSS 9. Atrial fibrillation; warfarin stopped in 2024 after an upper GI bleed, not
            restarted. Capillary glucose 7.9 mmol/L. Non-contrast CT head and CT angiography
            requested.""",
        ),
    ],
    number=7,
)

EMERGENCY_CASES = [PULMONARY_EMBOLISM, PNEUMOTHORAX, STROKE]
