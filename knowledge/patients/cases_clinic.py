"""Synthetic surgical, infectious and outpatient cases (SYNTHETIC, for demonstration only)."""

from __future__ import annotations

from knowledge.patients.schema import (
    COPD,
    ED_NOTE,
    HTN,
    IMAGING_NOTE,
    LIPIDS,
    METFORMIN,
    NKA,
    PENICILLIN,
    PROGRESS_NOTE,
    SALBUTAMOL,
    TIOTROPIUM,
    Case,
    Med,
    Problem,
    note,
)

APPENDICITIS = Case(
    id="appendicitis",
    synopsis="19-year-old woman, 24 hours of periumbilical pain moving to the right iliac fossa, "
    "anorexia and low-grade fever",
    sex="female",
    birth="2007-01-22",
    given="Taylor",
    encounter=("EMER", "2026-07-02T18:00:00Z", "Abdominal pain"),
    conditions=[Problem("21522001", "Abdominal pain", "R10.9", "2026-07-01T18:00:00Z")],
    allergies=[NKA],
    labs=[
        (
            "2026-07-02T18:20:00Z",
            {
                "wbc": 14.1,
                "neut": 11.2,
                "crp": 48,
                "lipase": 32,
                "hb": 13.0,
                "creat": 0.7,
                "hcg": "Negative",
            },
        )
    ],
    vitals=[("2026-07-02T18:05:00Z", (104, 118, 72, 18, 38.0, 99, 58))],
    notes=[
        note(
            "2026-07-02T18:40:00Z",
            ED_NOTE,
            "Emergency department assessment",
            """
            19-year-old woman. Pain began around the umbilicus yesterday evening and moved to the
            right iliac fossa overnight; worse on walking and coughing. Anorexia, nausea, one
            vomit. Last menstrual period 2 weeks ago, no vaginal discharge. Tender in the right
            iliac fossa with guarding and rebound; Rovsing sign positive. Urine dipstick
            negative for nitrites and leucocytes. Ultrasound abdomen requested.""",
        ),
    ],
    number=8,
)

TUBERCULOSIS = Case(
    id="tuberculosis",
    synopsis="34-year-old man, 3 months of cough, night sweats and 6 kg weight loss; moved from "
    "a high-incidence country 2 years ago",
    sex="male",
    birth="1992-09-05",
    given="Riley",
    encounter=("AMB", "2026-03-18T10:00:00Z", "Chronic cough and weight loss"),
    conditions=[
        Problem("49727002", "Cough", "R05.9", "2025-12-15"),
        Problem("89362005", "Weight loss", "R63.4", "2026-01-15"),
    ],
    allergies=[NKA],
    labs=[
        (
            "2026-03-18T10:30:00Z",
            {"hb": 11.8, "wbc": 8.9, "crp": 64, "alb": 3.1, "alt": 28, "creat": 0.9},
        )
    ],
    vitals=[
        ("2025-11-02T09:00:00Z", (78, 122, 76, 14, 36.8, 98, 68)),
        ("2026-03-18T10:05:00Z", (96, 116, 72, 20, 37.9, 95, 62)),
    ],
    notes=[
        note(
            "2026-03-18T10:40:00Z",
            PROGRESS_NOTE,
            "General practice consultation",
            """
            34-year-old man, moved here 2 years ago from a country with a high tuberculosis
            incidence. 3 months of cough, recently with streaks of blood; drenching night sweats;
            6 kg weight loss. Shares a flat with 3 others. No known HIV test. Crackles at the
            right apex. Chest radiograph requested; three sputum samples for acid-fast bacilli
            smear, culture and nucleic acid amplification; HIV test offered.""",
        ),
        note(
            "2026-03-18T15:00:00Z",
            IMAGING_NOTE,
            "Chest radiograph (PA)",
            """
            Chest radiograph PA. Consolidation in the right upper zone with a 3 cm thick-walled
            cavity and surrounding nodular opacities. Right hilar prominence. No pleural
            effusion.""",
        ),
    ],
    number=9,
)

LUNG_NODULE = Case(
    id="lung-nodule",
    synopsis="66-year-old man, ex-smoker with COPD; solid right upper lobe nodule on CT, larger "
    "at 6-month follow-up",
    sex="male",
    birth="1960-02-14",
    given="Jamie",
    encounter=("AMB", "2026-02-26T11:00:00Z", "Lung nodule follow-up"),
    conditions=[
        COPD,
        Problem("8517006", "Ex-smoker", None, "2018-06-01"),
        Problem(None, "Pulmonary nodule, right upper lobe", "R91.1", "2025-08-20"),
    ],
    medications=[TIOTROPIUM, SALBUTAMOL],
    allergies=[NKA],
    labs=[("2025-08-20T09:00:00Z", {"hb": 14.5, "wbc": 7.4, "creat": 1.0, "egfr": 79})],
    vitals=[
        ("2025-08-20T08:50:00Z", (74, 134, 80, 16, None, 95, 81)),
        ("2026-02-26T11:05:00Z", (76, 132, 82, 16, None, 95, 80)),
    ],
    notes=[
        note(
            "2025-08-20T14:00:00Z",
            IMAGING_NOTE,
            "CT chest with contrast",
            """
            CT chest. Incidental solid nodule in the right upper lobe (apical segment), 8 mm
            mean diameter, smooth margins. Centrilobular emphysema, upper-lobe predominant.
            No mediastinal or hilar lymphadenopathy. Recommend follow-up CT.""",
        ),
        note(
            "2026-02-26T10:00:00Z",
            IMAGING_NOTE,
            "CT chest, nodule follow-up",
            """
            Low-dose CT chest, compared with 20/08/2025. The right upper lobe solid nodule now
            measures 11 mm mean diameter (previously 8 mm), with a newly spiculated margin.
            No new nodules. No lymphadenopathy. Emphysema unchanged.""",
        ),
    ],
    number=10,
)

DIABETIC_RETINOPATHY = Case(
    id="diabetic-retinopathy",
    synopsis="58-year-old woman with long-standing poorly controlled type 2 diabetes; blurred "
    "vision in the left eye; retinal screening photographs awaiting grading",
    sex="female",
    birth="1968-05-30",
    given="Avery",
    encounter=("AMB", "2026-04-22T09:30:00Z", "Diabetic eye screening"),
    conditions=[
        Problem("44054006", "Type 2 diabetes mellitus", "E11.9", "2014-02-01"),
        HTN,
        LIPIDS,
    ],
    medications=[
        METFORMIN,
        Med(
            "1545653",
            "empagliflozin",
            "Empagliflozin 10 mg tablet",
            "10 mg by mouth once daily",
            "2021-07-01",
        ),
        Med(
            "274783",
            "insulin glargine",
            "Insulin glargine 100 units/mL pen",
            "24 units subcutaneously at night",
            "2023-03-15",
        ),
        Med(
            "29046",
            "lisinopril",
            "Lisinopril 10 mg tablet",
            "10 mg by mouth once daily",
            "2014-05-02",
        ),
        Med(
            "83367",
            "atorvastatin",
            "Atorvastatin 20 mg tablet",
            "20 mg by mouth at night",
            "2018-03-10",
        ),
    ],
    allergies=[PENICILLIN],
    labs=[
        ("2025-04-10T09:00:00Z", {"hba1c": 8.9, "creat": 0.9, "egfr": 74, "ldl": 112}),
        ("2025-10-14T09:00:00Z", {"hba1c": 9.4, "creat": 1.0, "egfr": 66}),
        ("2026-04-15T09:00:00Z", {"hba1c": 9.1, "creat": 1.0, "egfr": 65, "ldl": 96}),
    ],
    vitals=[
        ("2025-04-10T08:50:00Z", (80, 146, 88, 14, None, None, 88)),
        ("2026-04-15T08:50:00Z", (78, 148, 90, 14, None, None, 87)),
    ],
    notes=[
        note(
            "2026-04-22T10:00:00Z",
            PROGRESS_NOTE,
            "Diabetic eye screening visit",
            """
            Type 2 diabetes for 12 years, HbA1c 9.1% last week. Two months of blurred vision in
            the left eye, worse for reading. Visual acuity 6/6 right, 6/12 left, no improvement
            with pinhole on the left. Pupils dilated with tropicamide 1%; two-field retinal
            photographs of both eyes taken and awaiting grading.""",
        ),
    ],
    number=11,
)

PIGMENTED_LESION = Case(
    id="pigmented-lesion",
    synopsis="47-year-old man, fair skin, changing pigmented lesion on the upper back",
    sex="male",
    birth="1979-10-12",
    given="Quinn",
    encounter=("AMB", "2026-05-05T15:00:00Z", "Changing mole"),
    conditions=[LIPIDS],
    medications=[
        Med(
            "83367",
            "atorvastatin",
            "Atorvastatin 10 mg tablet",
            "10 mg by mouth at night",
            "2022-09-01",
        )
    ],
    allergies=[NKA],
    labs=[("2025-09-01T09:00:00Z", {"ldl": 118, "alt": 30})],
    vitals=[("2026-05-05T15:05:00Z", (70, 128, 80, 14, None, None, 79))],
    notes=[
        note(
            "2026-05-05T15:30:00Z",
            PROGRESS_NOTE,
            "General practice consultation",
            """
            47-year-old man with Fitzpatrick type I skin and many sunburns as a child. His
            partner noticed a mole on the upper back getting bigger over 6 months; occasionally
            itchy, no bleeding. Father had a melanoma removed at 60. Lesion: 9 mm, asymmetrical,
            irregular notched border, several shades of brown with a blue-grey area. About 40
            other naevi, none similar. No palpable axillary or cervical nodes. Dermoscopic
            photograph taken.""",
        ),
    ],
    number=12,
)

CHECKUP = Case(
    id="checkup",
    synopsis="52-year-old woman at an annual check-up; knee osteoarthritis, otherwise well",
    sex="female",
    birth="1974-03-03",
    given="Harper",
    encounter=("AMB", "2026-06-15T09:00:00Z", "Annual health check"),
    conditions=[Problem("239873007", "Osteoarthritis of knee", "M17.9", "2022-02-10")],
    medications=[
        Med(
            "161",
            "acetaminophen",
            "Paracetamol (acetaminophen) 500 mg tablet",
            "1 g by mouth up to four times daily as needed for knee pain",
            "2022-02-10",
        )
    ],
    allergies=[NKA],
    labs=[
        (
            "2025-06-12T09:00:00Z",
            {"hba1c": 5.3, "ldl": 104, "creat": 0.8, "egfr": 90, "tsh": 1.6, "hb": 13.5},
        ),
        (
            "2026-06-15T09:15:00Z",
            {"hba1c": 5.4, "ldl": 98, "creat": 0.8, "egfr": 89, "tsh": 1.8, "hb": 13.6, "alt": 22},
        ),
    ],
    vitals=[
        ("2025-06-12T08:50:00Z", (68, 122, 76, 14, None, 99, 66)),
        ("2026-06-15T09:05:00Z", (66, 118, 74, 14, 36.6, 99, 65)),
    ],
    notes=[
        note(
            "2026-06-15T09:40:00Z",
            PROGRESS_NOTE,
            "Annual health check",
            """
            52-year-old woman, annual check. Feels well. Right knee stiffness in the mornings,
            managed with paracetamol and exercise. Never smoked; alcohol 4 units a week; walks
            daily. Cervical screening up to date; mammogram last year normal. Examination
            unremarkable. Blood tests within reference ranges.""",
        ),
    ],
    number=13,
)

CLINIC_CASES = [
    APPENDICITIS,
    TUBERCULOSIS,
    LUNG_NODULE,
    DIABETIC_RETINOPATHY,
    PIGMENTED_LESION,
    CHECKUP,
]
