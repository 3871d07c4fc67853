"""Answers to render, built the way a session builds them: real image files in a real
image store, a real zoom through the image tool, evidence cited through the ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFilter

from knowledge.imaging import ImageStore
from tools.evidence import EvidenceLedger
from tools.imaging import zoom
from tools.runtime import ToolContext, call_tool

PLANTED = "<script>alert('pwned')</script>"
GUIDELINE_URL = "https://www.escardio.org/Guidelines/Clinical-Practice-Guidelines/ACS"
RULE_URL = "https://www.ahajournals.org/doi/10.1161/CIR.0000000000001029"


def chest_film(path: Path) -> Path:
    """A synthetic frontal chest film: dark lungs, bright mediastinum, one dense opacity."""
    img = Image.new("L", (480, 420), 40)
    draw = ImageDraw.Draw(img)
    draw.ellipse((50, 40, 225, 380), fill=95)
    draw.ellipse((255, 40, 430, 380), fill=95)
    draw.rectangle((215, 20, 265, 400), fill=200)
    draw.ellipse((300, 230, 350, 280), fill=215)
    for rib in range(60, 380, 38):
        draw.arc((40, rib - 30, 440, rib + 40), 200, 340, fill=150, width=4)
    img.filter(ImageFilter.GaussianBlur(2)).save(path)
    return path


def _call(tool: Any, ctx: ToolContext, **args: Any) -> None:
    call_tool(tool, ctx, call_id="c1", **args)


def _cite_evidence(ledger: EvidenceLedger) -> None:
    ledger.cite(
        "ehr",
        "Observation/bp1",
        label="Observation Blood pressure 82/50 mmHg (2026-03-01)",
        excerpt="BP 82/50 mmHg (low)",
        citation={
            "resource_type": "Observation",
            "id": "bp1",
            "date": "2026-03-01T08:05:00",
            "display": "Blood pressure",
            "value_text": "82/50",
            "unit": "mmHg",
            "interpretation": "L",
        },
    )
    ledger.cite(
        "ehr",
        "Observation/trop1",
        label="Observation Troponin T 52 ng/L (2026-03-01)",
        excerpt="hs-troponin T 52 ng/L H",
        citation={
            "resource_type": "Observation",
            "id": "trop1",
            "date": "2026-03-01T08:20:00",
            "display": "Troponin T, high sensitivity",
            "value": 52,
            "value_text": "52",
            "unit": "ng/L",
            "interpretation": "H",
        },
    )
    ledger.cite(
        "guideline",
        "esc-acs-2023#diag",
        label="ESC Guidelines for acute coronary syndromes — Diagnosis (ESC 2023)",
        excerpt="High-sensitivity troponin above the 99th percentile with a rise and/or fall "
        "indicates acute myocardial injury; with ischaemic symptoms, myocardial infarction.",
        citation={
            "title": "ESC Guidelines for the management of acute coronary syndromes",
            "section": "Diagnosis: high-sensitivity troponin",
            "publisher": "European Society of Cardiology",
            "year": 2023,
            "url": GUIDELINE_URL,
            "page": 12,
        },
    )


def build_answer(tmp_path: Path, *, mode: str = "clinical") -> tuple[dict[str, Any], Path]:
    """(answer, image store folder) for a chest-pain consultation with a zoomed chest film."""
    store = ImageStore(tmp_path / "images")
    ctx = ToolContext(ledger=EvidenceLedger(), images=store)
    _cite_evidence(ctx.ledger)
    info = store.add(chest_film(tmp_path / "chest.png"))
    root = ctx.ledger.cite("image", info.sha256, label=info.label(), citation=info.citation())
    assert root == "I1"
    _call(zoom, ctx, image_id="I1", box=[0.55, 0.48, 0.80, 0.75], scale=2.0)
    _call(zoom, ctx, image_id="I1", box=[0.40, 0.02, 0.60, 0.40], scale=2.0)
    evidence = ctx.ledger.new_records
    differential = {
        "summary": "Chest pain with hypotension and a raised troponin: acute MI until shown "
        "otherwise [E2].",
        "red_flags": [{"text": "Systolic BP 82 mmHg: shock physiology", "evidence": ["E1"]}],
        "diagnoses": [
            {
                "name": "Acute myocardial infarction",
                "icd10": "I21.4",
                "likelihood": 0.55,
                "supporting": [
                    {
                        "text": "hs-troponin T 52 ng/L, above the 99th centile",
                        "evidence": ["E2", "G1"],
                    }
                ],
                "against": [{"text": "No ECG in the record yet", "evidence": ["E1"]}],
                "next_steps": [
                    {
                        "action": "12-lead ECG within 10 minutes",
                        "kind": "test",
                        "why": "STEMI changes the pathway",
                        "evidence": ["G1"],
                    }
                ],
            },
            {
                "name": "Aortic dissection",
                "icd10": "I71.0",
                "likelihood": 0.2,
                "supporting": [{"text": "Wide upper mediastinum on the film", "evidence": ["I3"]}],
                "against": [],
                "next_steps": [
                    {"action": "CT aortogram", "kind": "imaging", "why": "", "evidence": ["I3"]}
                ],
            },
            {
                "name": "Right lower zone pneumonia " + PLANTED,
                "icd10": "J18.99X",
                "likelihood": 0.1,
                "supporting": [{"text": "Dense opacity, right lower zone", "evidence": ["I2"]}],
                "against": [],
                "next_steps": [],
            },
        ],
        "missing": ["No ECG", "No lactate"],
    }
    answer = {
        "text": "The troponin [E2] and the opacity seen on the zoom [I2] need review. " + PLANTED,
        "produced_by": "model",
        "mode": mode,
        "turn": 1,
        "differential": differential,
        "red_flags": [
            {
                "id": "chest_pain_hypotension",
                "title": "Chest pain with hypotension",
                "action": "Resuscitation area now: ECG, IV access, senior review.",
                "matched": ["chest pain", "systolic BP 82 mmHg"],
                "evidence": ["E1"],
                "source": {
                    "guideline": "2021 AHA/ACC Chest Pain Guideline",
                    "publisher": "AHA/ACC",
                    "year": 2021,
                    "url": RULE_URL,
                },
            }
        ],
        "code_checks": {
            "I21.4": {"exists": True, "billable": True, "description": "NSTEMI"},
            "I71.0": {"exists": True, "billable": False, "description": "Dissection of aorta"},
            "J18.99X": {"exists": False, "billable": False, "description": ""},
        },
        "citations": ["E2", "I2"],
        "references": list(evidence.values()),
        "unknown_citations": [],
        "warnings": ["J18.99X is not an ICD-10-CM code"],
        "model_error": None,
        "disclaimer": "Decision support, not a medical device.",
    }
    return answer, store.root
