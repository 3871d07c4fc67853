"""Synthetic acute medical cases: chest pain, pneumonia, sepsis, heart failure (SYNTHETIC, for
demonstration only; not clinical advice)."""

from __future__ import annotations

from knowledge.patients.schema import (
    COPD,
    ECG_NOTE,
    ED_NOTE,
    HTN,
    IMAGING_NOTE,
    LIPIDS,
    METFORMIN,
    NKA,
    PENICILLIN,
    SALBUTAMOL,
    T2DM,
    TIOTROPIUM,
    Allergy,
    Case,
    Med,
    Problem,
    note,
)

CHEST_PAIN = Case(
    id="chest-pain",
    synopsis="62-year-old man, acute central chest pain; hypertension, type 2 diabetes; "
    "rising hs-troponin T",
    sex="male",
    birth="1964-06-20",
    given="Alex",
    encounter=("EMER", "2026-03-01T07:40:00Z", "Acute chest pain"),
    conditions=[
        HTN,
        T2DM,
        LIPIDS,
        Problem("8517006", "Ex-smoker", None, "2019-01-01"),
        Problem("29857009", "Chest pain", "R07.9", "2026-03-01T05:45:00Z"),
    ],
    medications=[
        METFORMIN,
        Med(
            "29046",
            "lisinopril",
            "Lisinopril 20 mg tablet",
            "20 mg by mouth once daily",
            "2014-05-02",
        ),
        Med(
            "83367",
            "atorvastatin",
            "Atorvastatin 40 mg tablet",
            "40 mg by mouth at night",
            "2018-03-10",
        ),
        Med(
            "1191",
            "aspirin",
            "Aspirin 300 mg chewable tablet",
            "300 mg chewed once (given in the emergency department)",
            "2026-03-01T08:15:00Z",
        ),
    ],
    allergies=[PENICILLIN],
    labs=[
        (
            "2025-06-10T09:00:00Z",
            {
                "hba1c": 7.4,
                "glucose": 142,
                "creat": 1.0,
                "egfr": 82,
                "ldl": 98,
                "na": 139,
                "k": 4.3,
            },
        ),
        ("2025-12-05T09:10:00Z", {"hba1c": 7.8, "creat": 1.1, "egfr": 74, "ldl": 104}),
        (
            "2026-03-01T08:05:00Z",
            {
                "hs_tnt": 52,
                "hb": 14.1,
                "wbc": 9.8,
                "plt": 245,
                "na": 138,
                "k": 4.4,
                "creat": 1.1,
                "egfr": 74,
                "glucose": 186,
            },
        ),
        ("2026-03-01T09:05:00Z", {"hs_tnt": 71}),
        ("2026-03-01T11:05:00Z", {"hs_tnt": 96}),
    ],
    vitals=[
        ("2025-06-10T08:50:00Z", (76, 142, 88, 14, None, 98, 91)),
        ("2025-12-05T09:00:00Z", (74, 138, 84, 14, None, 98, 92)),
        ("2026-03-01T07:50:00Z", (98, 158, 92, 20, 36.8, 96, None)),
        ("2026-03-01T10:00:00Z", (88, 144, 86, 18, 36.7, 97, None)),
    ],
    notes=[
        note(
            "2026-03-01T07:52:00Z",
            ECG_NOTE,
            "12-lead ECG",
            """
            12-lead ECG at 07:52. Sinus rhythm, rate 96/min. Normal axis. Horizontal ST
            depression of 1.5 mm in V4-V6, I and aVL. No ST elevation. No Q waves. QTc 440 ms.
            No previous ECG available for comparison.""",
        ),
        note(
            "2026-03-01T08:20:00Z",
            ED_NOTE,
            "Emergency department assessment",
            """
            62-year-old man with central, pressure-like chest pain since about 05:45, radiating
            to the left arm, with sweating and nausea. Pain 7/10 at arrival, eased to 3/10
            after sublingual nitrate. No pleuritic component, no recent travel or surgery.
            Ex-smoker (30 pack-years, stopped 2019). Hypertension and type 2 diabetes.
            Examination: diaphoretic, chest clear, heart sounds normal, no murmur, no calf
            swelling, radial pulses equal. ECG: ST depression V4-V6, I, aVL (see ECG report).
            Aspirin 300 mg given. Plan: serial hs-troponin T at 0 h, 1 h and 3 h, repeat ECG,
            cardiology review.""",
        ),
    ],
    number=1,
)

PNEUMONIA = Case(
    id="pneumonia",
    synopsis="71-year-old woman with COPD, fever and productive cough; right basal crackles",
    sex="female",
    birth="1955-02-11",
    given="Morgan",
    encounter=("EMER", "2026-01-14T10:30:00Z", "Fever and cough"),
    conditions=[COPD, HTN],
    medications=[
        TIOTROPIUM,
        SALBUTAMOL,
        Med(
            "17767",
            "amlodipine",
            "Amlodipine 5 mg tablet",
            "5 mg by mouth once daily",
            "2017-04-20",
        ),
    ],
    allergies=[NKA],
    labs=[
        ("2025-10-02T09:00:00Z", {"wbc": 7.9, "crp": 4, "creat": 0.9, "bun": 16, "na": 140}),
        (
            "2026-01-14T10:50:00Z",
            {
                "wbc": 16.2,
                "neut": 13.5,
                "crp": 186,
                "pct": 1.8,
                "bun": 28,
                "creat": 1.2,
                "na": 134,
                "lactate": 1.6,
                "hb": 13.2,
            },
        ),
        ("2026-01-16T07:30:00Z", {"wbc": 11.0, "crp": 92, "bun": 19, "creat": 1.0}),
    ],
    vitals=[
        ("2026-01-14T10:35:00Z", (108, 128, 74, 24, 38.7, 90, 64)),
        ("2026-01-14T14:00:00Z", (98, 122, 70, 22, 38.1, 93, None)),
        ("2026-01-16T08:00:00Z", (84, 130, 76, 18, 37.2, 95, None)),
    ],
    notes=[
        note(
            "2026-01-14T11:00:00Z",
            ED_NOTE,
            "Emergency department assessment",
            """
            71-year-old woman with COPD (GOLD group B on tiotropium), 3 days of fever, rigors,
            cough productive of green sputum and worsening breathlessness. Orientated, no
            confusion. Coarse crackles and bronchial breathing at the right base. SpO2 90% on
            air, improving to 94% on 2 L/min nasal oxygen. Blood and sputum cultures sent.
            Chest radiograph requested.""",
        ),
        note(
            "2026-01-14T12:10:00Z",
            IMAGING_NOTE,
            "Chest radiograph (PA)",
            """
            Chest radiograph PA. Airspace consolidation in the right lower zone with air
            bronchograms; right heart border preserved. Hyperinflated lungs. No pleural
            effusion, no pneumothorax. Heart size normal.""",
        ),
    ],
    number=2,
)

SEPSIS = Case(
    id="sepsis",
    synopsis="68-year-old man, fever, rigors, confusion and hypotension; dysuria for 3 days",
    sex="male",
    birth="1958-08-03",
    given="Sam",
    encounter=("EMER", "2026-02-10T21:15:00Z", "Fever, confusion, low blood pressure"),
    conditions=[
        T2DM,
        Problem("433144002", "Chronic kidney disease stage 3", "N18.30", "2021-06-01"),
        Problem("68566005", "Urinary tract infection", "N39.0", "2026-02-07"),
    ],
    medications=[
        METFORMIN,
        Med(
            "274783",
            "insulin glargine",
            "Insulin glargine 100 units/mL pen",
            "18 units subcutaneously at night",
            "2022-01-15",
        ),
        Med(
            "2193",
            "ceftriaxone",
            "Ceftriaxone 2 g injection",
            "2 g intravenously once daily",
            "2026-02-10T22:05:00Z",
        ),
    ],
    allergies=[
        Allergy("10180", "Sulfamethoxazole", "Skin eruption", "271807003", "low", "2015-03-02")
    ],
    labs=[
        ("2025-11-20T09:00:00Z", {"creat": 1.4, "egfr": 52, "hba1c": 7.9, "wbc": 7.2}),
        (
            "2026-02-10T21:30:00Z",
            {
                "lactate": 4.1,
                "wbc": 19.8,
                "neut": 17.6,
                "plt": 110,
                "creat": 2.1,
                "egfr": 32,
                "bili": 1.4,
                "crp": 240,
                "pct": 12.4,
                "glucose": 264,
                "k": 5.2,
                "na": 133,
            },
        ),
        ("2026-02-11T00:30:00Z", {"lactate": 2.6}),
        ("2026-02-11T06:00:00Z", {"lactate": 1.7, "creat": 1.8, "wbc": 16.1, "plt": 118}),
    ],
    vitals=[
        ("2026-02-10T21:20:00Z", (122, 86, 50, 26, 39.2, 94, None)),
        ("2026-02-10T23:00:00Z", (108, 98, 58, 22, 38.6, 96, None)),
        ("2026-02-11T06:00:00Z", (94, 112, 64, 18, 37.6, 97, None)),
    ],
    notes=[
        note(
            "2026-02-10T21:45:00Z",
            ED_NOTE,
            "Emergency department assessment",
            """
            68-year-old man brought by family: 3 days of dysuria and frequency, today rigors,
            fever and new confusion (GCS 14, disorientated to time). Type 2 diabetes on insulin,
            CKD stage 3. Warm peripheries, capillary refill 3 s, suprapubic and left loin
            tenderness. Blood cultures x2 and urine culture taken before antibiotics.
            30 mL/kg crystalloid started. Urinary catheter inserted: 20 mL/h for the first hour.""",
        ),
    ],
    number=3,
)

HEART_FAILURE = Case(
    id="heart-failure",
    synopsis="78-year-old woman with known reduced-EF heart failure and atrial fibrillation; "
    "breathlessness, orthopnoea, oedema, 4 kg weight gain",
    sex="female",
    birth="1948-01-27",
    given="Robin",
    encounter=("EMER", "2026-02-20T16:00:00Z", "Breathlessness and leg swelling"),
    conditions=[
        HTN,
        Problem("84114007", "Heart failure", "I50.9", "2022-10-12"),
        Problem("49436004", "Atrial fibrillation", "I48.91", "2021-03-05"),
    ],
    medications=[
        Med(
            "4603",
            "furosemide",
            "Furosemide 40 mg tablet",
            "40 mg by mouth every morning",
            "2022-10-12",
        ),
        Med(
            "19484",
            "bisoprolol",
            "Bisoprolol 5 mg tablet",
            "5 mg by mouth once daily",
            "2022-10-12",
        ),
        Med("35296", "ramipril", "Ramipril 5 mg capsule", "5 mg by mouth once daily", "2022-10-12"),
        Med(
            "9997",
            "spironolactone",
            "Spironolactone 25 mg tablet",
            "25 mg by mouth once daily",
            "2023-01-09",
        ),
        Med(
            "1364430", "apixaban", "Apixaban 5 mg tablet", "5 mg by mouth twice daily", "2021-03-05"
        ),
    ],
    allergies=[NKA],
    labs=[
        (
            "2025-09-15T09:00:00Z",
            {"ntprobnp": 1450, "creat": 1.2, "egfr": 45, "k": 4.6, "na": 138, "hb": 12.1},
        ),
        (
            "2026-02-20T16:20:00Z",
            {
                "ntprobnp": 6840,
                "creat": 1.4,
                "egfr": 38,
                "k": 5.1,
                "na": 133,
                "hb": 11.2,
                "hs_tnt": 24,
            },
        ),
        ("2026-02-22T07:00:00Z", {"creat": 1.5, "egfr": 35, "k": 4.4, "na": 135}),
    ],
    vitals=[
        ("2025-09-15T08:50:00Z", (72, 126, 74, 16, None, 96, 78)),
        ("2026-02-20T16:05:00Z", (112, 148, 90, 24, 36.6, 91, 82)),
        ("2026-02-22T07:00:00Z", (88, 124, 72, 18, 36.5, 95, 80)),
    ],
    notes=[
        note(
            "2025-09-15T10:00:00Z",
            IMAGING_NOTE,
            "Transthoracic echocardiogram",
            """
            Transthoracic echocardiogram. Dilated left ventricle with global hypokinesia; left
            ventricular ejection fraction 30% (biplane Simpson). Moderate functional mitral
            regurgitation. Left atrium severely dilated. Estimated PA systolic pressure 42 mmHg.""",
        ),
        note(
            "2026-02-20T16:40:00Z",
            ED_NOTE,
            "Emergency department assessment",
            """
            78-year-old woman with heart failure (LVEF 30% in 09/2025) and permanent atrial
            fibrillation. 10 days of increasing breathlessness, now 3-pillow orthopnoea and
            paroxysmal nocturnal dyspnoea; ankle swelling to the knees; weight 82 kg (dry weight
            78 kg). Admits to a salty diet over the holidays; adherent to medicines. Irregular
            pulse 112/min, JVP raised 6 cm, bibasal crackles, pitting oedema to the knees.""",
        ),
    ],
    number=4,
)

ACUTE_CASES = [CHEST_PAIN, PNEUMONIA, SEPSIS, HEART_FAILURE]
