"""Small copies of each benchmark in its released layout, written by the tests.

Field names and file places follow the releases (hub snapshots for the Parquet ones);
the questions are made up for the tests, and the images are drawn here.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image


def png_bytes(seed: int, size: tuple[int, int] = (48, 40)) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, size=(size[1], size[0]), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def write_png(path: Path, seed: int) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(seed))
    return path.name


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


VQA_RAD = [
    ("Is there a pneumothorax?", "no"),
    ("Is the heart enlarged?", "yes"),
    ("Which lung has the opacity?", "left"),
    ("What organ is shown?", "liver"),
]


def vqa_rad(data: Path) -> None:
    """flaviagiammarino/vqa-rad: data/test-00000-of-00001.parquet."""
    rows = [
        {"image": {"bytes": png_bytes(i), "path": f"synpic{i}.jpg"}, "question": q, "answer": a}
        for i, (q, a) in enumerate(VQA_RAD)
    ]
    write_parquet(data / "VQA_RAD" / "data" / "test-00000-of-00001.parquet", rows)


def path_vqa(data: Path) -> None:
    rows = [
        {"image": {"bytes": png_bytes(10 + i), "path": None}, "question": q, "answer": a}
        for i, (q, a) in enumerate([("Is this malignant?", "yes"), ("What stain is used?", "h&e")])
    ]
    write_parquet(data / "PATH_VQA" / "data" / "test-00000-of-00001.parquet", rows)


SLAKE = [
    {
        "qid": 11,
        "img_name": "xmlab1/source.jpg",
        "question": "Is this a CT scan?",
        "answer": "Yes",
        "answer_type": "CLOSED",
        "q_lang": "en",
    },
    {
        "qid": 12,
        "img_name": "xmlab1/source.jpg",
        "question": "Which organ is abnormal, heart or lung?",
        "answer": "Lung",
        "answer_type": "CLOSED",
        "q_lang": "en",
    },
    {
        "qid": 13,
        "img_name": "xmlab2/source.jpg",
        "question": "Where is the lesion?",
        "answer": "Left Lung",
        "answer_type": "OPEN",
        "q_lang": "en",
    },
    {
        "qid": 14,
        "img_name": "xmlab2/source.jpg",
        "question": "这是什么器官？",
        "answer": "肺",
        "answer_type": "OPEN",
        "q_lang": "zh",
    },
]


def slake(data: Path) -> None:
    folder = data / "SLAKE"
    for n, name in enumerate(["xmlab1", "xmlab2"]):
        write_png(folder / "imgs" / name / "source.jpg", 20 + n)
    (folder / "test.json").write_text(json.dumps(SLAKE, ensure_ascii=False), encoding="utf-8")


def pmc_vqa(data: Path) -> None:
    folder = data / "PMC_VQA"
    write_png(folder / "figures" / "PMC1_fig1.jpg", 30)
    (folder / "test_2.csv").write_text(
        "index,Figure_path,Caption,Question,Choice A,Choice B,Choice C,Choice D,Answer,split\n"
        "0,PMC1_fig1.jpg,A caption,What imaging modality is shown?, A:CT , B:MRI , C:Ultrasound , D:X-ray ,B,test\n",
        encoding="utf-8",
    )


def omnimedvqa(data: Path) -> None:
    folder = data / "OmniMedVQA"
    write_png(folder / "Images" / "ACRIMA" / "im1.png", 40)
    qa = [
        {
            "dataset": "ACRIMA",
            "question_id": "ACRIMA_0",
            "question_type": "Disease Diagnosis",
            "question": "What is shown?",
            "gt_answer": "Glaucoma",
            "image_path": "Images/ACRIMA/im1.png",
            "option_A": "Cataract",
            "option_B": "Glaucoma",
            "option_C": "Normal",
            "option_D": "AMD",
            "modality_type": "Fundus Photography",
        }
    ]
    path = folder / "QA_information" / "Open-access" / "ACRIMA.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(qa), encoding="utf-8")


def mmmu(data: Path) -> None:
    row = {
        "id": "validation_Clinical_Medicine_1",
        "question": "<image 1> Which finding is shown?",
        "options": "['Effusion', 'Pneumothorax', 'Normal']",
        "answer": "A",
        "image_1": {"bytes": png_bytes(50), "path": "a.png"},
        "image_2": None,
        "question_type": "multiple-choice",
    }
    write_parquet(data / "MMMU" / "Clinical_Medicine" / "validation-00000-of-00001.parquet", [row])
    for subject in (
        "Basic_Medical_Science",
        "Diagnostics_and_Laboratory_Medicine",
        "Pharmacy",
        "Public_Health",
    ):
        other = {**row, "id": f"validation_{subject}_1", "image_1": None}
        write_parquet(data / "MMMU" / subject / "validation-00000-of-00001.parquet", [other])


def medxpertqa(data: Path) -> None:
    folder = data / "MedXpertQA"
    write_png(folder / "images" / "MM-1-a.jpeg", 60)
    write_jsonl(
        folder / "MM" / "test.jsonl",
        [
            {
                "id": "MM-1",
                "question": "What is the diagnosis?",
                "options": {
                    "A": "Gout",
                    "B": "RA",
                    "C": "OA",
                    "D": "SLE",
                    "E": "Psoriatic arthritis",
                },
                "label": "C",
                "images": ["MM-1-a.jpeg"],
                "medical_task": "Diagnosis",
                "body_system": "Skeletal",
            }
        ],
    )
    write_jsonl(
        folder / "Text" / "test.jsonl",
        [
            {
                "id": "Text-1",
                "question": "Which drug?",
                "options": {"A": "x", "B": "y", "C": "z", "D": "w", "E": "v"},
                "label": "E",
                "medical_task": "Treatment",
                "body_system": "Cardiovascular",
            }
        ],
    )


MEDQA = [
    (
        "A 24-year-old with fever and neck stiffness. Most likely organism?",
        {"A": "Neisseria meningitidis", "B": "Listeria", "C": "E. coli", "D": "HSV"},
        "A",
    ),
    (
        "A 60-year-old with crushing chest pain. First test?",
        {"A": "Chest CT", "B": "ECG", "C": "D-dimer", "D": "Echo"},
        "B",
    ),
    (
        "A child with barking cough. Diagnosis?",
        {"A": "Epiglottitis", "B": "Asthma", "C": "Croup", "D": "Pneumonia"},
        "C",
    ),
    (
        "Polyuria and weight loss in a 12-year-old. Next step?",
        {"A": "HbA1c", "B": "OGTT", "C": "C-peptide", "D": "Plasma glucose"},
        "D",
    ),
]


def medqa(data: Path) -> None:
    """GBaker/MedQA-USMLE-4-options: phrases_no_exclude_test.jsonl."""
    rows = [
        {"question": q, "answer": o[a], "options": o, "meta_info": "step1", "answer_idx": a}
        for q, o, a in MEDQA
    ]
    write_jsonl(data / "MedQA_USMLE" / "phrases_no_exclude_test.jsonl", rows)


def medmcqa(data: Path) -> None:
    rows = [
        {
            "id": "m1",
            "question": "Drug of choice?",
            "opa": "a1",
            "opb": "b1",
            "opc": "c1",
            "opd": "d1",
            "cop": 2,
            "choice_type": "single",
            "exp": "",
            "subject_name": "Pharm",
            "topic_name": "",
        }
    ]
    write_parquet(data / "MedMCQA" / "data" / "validation-00000-of-00001.parquet", rows)


def pubmedqa(data: Path) -> None:
    rows = [
        {
            "id": "p1",
            "data": {
                "Question": "Does X reduce Y?",
                "Options": {"A": "yes", "B": "no", "C": "maybe"},
                "Context": ["Background one.", "Results two."],
                "Correct Option": "A",
                "Correct Answer": "yes",
            },
        }
    ]
    write_jsonl(data / "PubMedQA" / "test.jsonl", rows)


def medbullets(data: Path, name: str, letters: str) -> None:
    options = {k: f"option {k}" for k in letters}
    rows = [
        {
            "question": "Best next step?",
            "options": options,
            "answer_idx": letters[-1],
            "answer": options[letters[-1]],
        }
    ]
    write_parquet(data / name / "data" / "train-00000-of-00001.parquet", rows)


def mmlu(data: Path) -> None:
    from evals.loaders import MMLU_MEDICAL

    for n, subject in enumerate(MMLU_MEDICAL):
        row = {
            "question": f"{subject} question?",
            "subject": subject,
            "choices": ["w", "x", "y", "z"],
            "answer": n % 4,
        }
        write_parquet(data / "MMLU" / subject / "test-00000-of-00001.parquet", [row])


REPORTS = [
    {
        "id": "open_i_1",
        "image": ["CXR1_IM-1-1001.png", "CXR1_IM-1-2001.png"],
        "findings": "The heart is normal in size. The lungs are clear.",
        "impression": "No acute disease.",
    },
    {
        "id": "open_i_2",
        "image": ["CXR2_IM-2-1001.png"],
        "findings": "There is a large left pleural effusion.",
        "impression": "Left pleural effusion.",
    },
    {"id": "open_i_3", "image": ["CXR3_IM-3-1001.png"], "findings": "", "impression": ""},
]


def reports(data: Path, name: str = "IU_XRAY") -> None:
    folder = data / name
    for n, entry in enumerate(REPORTS):
        for m, image in enumerate(entry["image"]):
            write_png(folder / "images" / image, 70 + 3 * n + m)
    (folder / "test.json").write_text(json.dumps(REPORTS), encoding="utf-8")


def ddxplus(data: Path) -> None:
    folder = data / "DDXPlus"
    folder.mkdir(parents=True)
    evidences = {
        "E_91": {
            "name": "E_91",
            "question_en": "Do you have a fever?",
            "data_type": "B",
            "value_meaning": {},
        },
        "E_77": {
            "name": "E_77",
            "question_en": "Do you have a cough?",
            "data_type": "B",
            "value_meaning": {},
        },
        "E_55": {
            "name": "E_55",
            "question_en": "Where is the pain located?",
            "data_type": "M",
            "value_meaning": {"V_101": {"en": "side of the chest (L)", "fr": "côté (G)"}},
        },
    }
    conditions = {
        "Pneumonie": {
            "condition_name": "Pneumonie",
            "cond-name-eng": "Pneumonia",
            "icd10-id": "J17",
        },
        "Bronchite": {
            "condition_name": "Bronchite",
            "cond-name-eng": "Bronchitis",
            "icd10-id": "J40",
        },
        "Angine stable": {
            "condition_name": "Angine stable",
            "cond-name-eng": "Stable angina",
            "icd10-id": "I20.8",
        },
        "Angine instable": {
            "condition_name": "Angine instable",
            "cond-name-eng": "Unstable angina",
            "icd10-id": "I20.0",
        },
    }
    (folder / "release_evidences.json").write_text(json.dumps(evidences), encoding="utf-8")
    (folder / "release_conditions.json").write_text(json.dumps(conditions), encoding="utf-8")
    (folder / "release_test_patients.csv").write_text(
        "AGE,DIFFERENTIAL_DIAGNOSIS,SEX,PATHOLOGY,EVIDENCES,INITIAL_EVIDENCE\n"
        "55,\"[['Pneumonie', 0.6], ['Bronchite', 0.4]]\",M,Pneumonie,\"['E_91', 'E_77', 'E_55_@_V_101']\",E_91\n"
        "63,\"[['Angine instable', 0.7], ['Angine stable', 0.3]]\",F,Angine instable,\"['E_55_@_V_101']\",E_55\n",
        encoding="utf-8",
    )


def all_benchmarks(data: Path) -> None:
    for build in (
        vqa_rad,
        path_vqa,
        slake,
        pmc_vqa,
        omnimedvqa,
        mmmu,
        medxpertqa,
        medqa,
        medmcqa,
        pubmedqa,
        mmlu,
        reports,
        ddxplus,
        fhir,
        consult,
    ):
        build(data)
    reports(data, "MIMIC_CXR")
    medbullets(data, "Medbullets_op4", "ABCD")
    medbullets(data, "Medbullets_op5", "ABCDE")


def _observation(oid: str, patient: str, when: str, value: float) -> dict[str, Any]:
    return {
        "resourceType": "Observation", "id": oid, "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2160-0",
                             "display": "Creatinine [Mass/volume] in Serum or Plasma"}]},
        "subject": {"reference": f"Patient/{patient}"}, "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"},
    }  # fmt: skip


def fhir(data: Path) -> None:
    """Bulk Data NDJSON (one file per resource type) and tasks.jsonl, two patients."""
    folder = data / "FHIR"
    patients = [
        {"resourceType": "Patient", "id": p, "gender": g, "birthDate": b, "name": [{"family": f, "given": ["A"]}]}
        for p, g, b, f in (("p1", "female", "1958-03-02", "Rivera"), ("p2", "male", "1971-11-20", "Okafor"))
    ]  # fmt: skip
    observations = [
        _observation("cr1", "p1", "2024-01-05T08:00:00Z", 1.1),
        _observation("cr2", "p1", "2024-02-05T08:00:00Z", 1.4),
        _observation("cr3", "p1", "2024-03-05T08:00:00Z", 1.9),
        _observation("cr9", "p2", "2024-03-06T08:00:00Z", 0.8),
    ]
    medication = {
        "resourceType": "MedicationRequest", "id": "m1", "status": "active", "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/rxnorm", "code": "860975",
                                                  "display": "metformin hydrochloride 500 MG Oral Tablet"}]},
        "subject": {"reference": "Patient/p1"}, "authoredOn": "2024-01-05",
        "dosageInstruction": [{"text": "500 mg by mouth twice daily"}],
    }  # fmt: skip
    encounters = [
        {"resourceType": "Encounter", "id": f"e{n}", "status": "finished",
         "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
         "subject": {"reference": f"Patient/{p}"}, "period": {"start": f"2024-0{n}-05T08:00:00Z"}}
        for n, p in ((1, "p1"), (2, "p1"), (3, "p1"), (4, "p2"))
    ]  # fmt: skip
    write_jsonl(folder / "Patient.ndjson", patients)
    write_jsonl(folder / "Observation.ndjson", observations)
    write_jsonl(folder / "MedicationRequest.ndjson", [medication])
    write_jsonl(folder / "Encounter.ndjson", encounters)
    write_jsonl(folder / "tasks.jsonl", [
        {"id": "t1", "patient_id": "p1", "kind": "latest_value", "code": "2160-0",
         "question": "What is the patient's most recent serum creatinine, in mg/dL?"},
        {"id": "t2", "patient_id": "p1", "kind": "trend", "code": "2160-0",
         "question": "Is the patient's creatinine rising, falling or stable?"},
        {"id": "t3", "patient_id": "p1", "kind": "medication_dose", "medication": "metformin",
         "question": "What metformin dose is the patient on?"},
        {"id": "t4", "patient_id": "p2", "kind": "encounter_count",
         "question": "How many encounters does the record hold for this patient?"},
    ])  # fmt: skip


CASES = [
    {"OSCE_Examination": {
        "Objective_for_Doctor": "Assess and diagnose the patient presenting with cough.",
        "Patient_Actor": {
            "Demographics": "45-year-old man",
            "History": "Three days of cough with yellow sputum; fever since yesterday.",
            "Symptoms": {"Primary_Symptom": "Cough with yellow sputum",
                         "Secondary_Symptoms": ["Fever", "Pain on the right side of the chest when breathing in"]},
            "Past_Medical_History": "None", "Social_History": "Smokes 10 cigarettes a day",
            "Review_of_Systems": "No leg swelling"},
        "Physical_Examination_Findings": {"Auscultation": "Crackles at the right base"},
        "Test_Results": {"Chest X-ray": "Right lower lobe consolidation"},
        "Correct_Diagnosis": "Community-acquired pneumonia"}},
    {"OSCE_Examination": {
        "Objective_for_Doctor": "Assess and diagnose the patient presenting with abdominal pain.",
        "Patient_Actor": {
            "Demographics": "19-year-old woman",
            "History": "Pain that began around the navel and moved to the lower right abdomen over a day.",
            "Symptoms": {"Primary_Symptom": "Abdominal pain", "Secondary_Symptoms": ["Nausea", "Loss of appetite"]},
            "Past_Medical_History": "None", "Social_History": "Student", "Review_of_Systems": "No urinary symptoms"},
        "Physical_Examination_Findings": {"Abdomen": "Tender at McBurney's point"},
        "Test_Results": {"White cell count": "14.2 x10^9/L"},
        "Correct_Diagnosis": "Acute appendicitis"}},
]  # fmt: skip


def consult(data: Path) -> None:
    """AgentClinic's layout: agentclinic_medqa.jsonl, one OSCE case a line."""
    write_jsonl(data / "Consult" / "agentclinic_medqa.jsonl", CASES)
