"""Verify-node time for a 10-diagnosis differential over 40 evidence items.

All checks run as in a consultation: citations exist, each diagnosis is supported,
ICD-10-CM codes exist (simple-icd-10-cm), likelihoods, and the guideline support
score with all-MiniLM-L6-v2 on the CPU, and (since issue 21) every claim checked against
what it cites: record values, units, flags and trends, and the guideline support steps.
Prints one JSON line. ``--module`` times another verification module with the same
``verify_reply`` (e.g. the previous version, for a same-machine comparison).

    .venv/bin/python benchmarks/verify.py [--runs 30] [--module PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.verification import embedding_scorer
from knowledge.guidelines import get_embedder
from knowledge.icd10 import check_code
from tools.evidence import EvidenceRecord

CODES = ["I21.4", "I20.0", "I26.99", "J18.9", "I71.00", "I30.9", "K21.9", "J93.0", "M94.0", "F41.0"]


def evidence() -> dict[str, EvidenceRecord]:
    records: dict[str, EvidenceRecord] = {}
    for i in range(1, 21):
        text = (
            f"Guideline statement {i}: in patients with acute chest pain, measure high-sensitivity "
            f"troponin and obtain a 12-lead ECG; consider alternative diagnosis number {i}. "
            "Reassess when symptoms change."
        )
        records[f"G{i}"] = EvidenceRecord(
            id=f"G{i}",
            kind="guideline",
            key=f"chunk-{i}",
            label=f"Guideline {i}",
            excerpt=text,
            citation={},
        )
    for i in range(1, 21):
        label = f"Observation {i}: troponin {10 + i} ng/L"
        citation = {
            "resource_type": "Observation",
            "id": str(i),
            "date": f"2026-03-01T{i % 24:02d}:00:00",
            "code": "67151-1",
            "display": "hs-Troponin T",
            "value": float(10 + i),
            "value_text": str(10 + i),
            "unit": "ng/L",
            "reference_range": "<14",
            "interpretation": "H" if 10 + i >= 14 else "N",
        }
        records[f"E{i}"] = EvidenceRecord(
            id=f"E{i}",
            kind="ehr",
            key=f"Observation/{i}",
            label=label,
            excerpt=label,
            citation=citation,
        )
    return records


def differential() -> dict[str, Any]:
    diagnoses = []
    for i in range(10):
        diagnoses.append(
            {
                "name": f"Diagnosis {i + 1}",
                "icd10": CODES[i],
                "likelihood": 0.09,
                "supporting": [
                    {
                        "text": "high-sensitivity troponin and a 12-lead ECG are needed",
                        "evidence": [f"G{i + 1}"],
                    },
                    {"text": f"troponin {11 + i} ng/L", "evidence": [f"E{i + 1}"]},
                ],
                "against": [{"text": "reassess when symptoms change", "evidence": [f"G{i + 11}"]}],
                "next_steps": [
                    {"action": "repeat troponin", "why": "trend", "evidence": [f"E{i + 11}"]}
                ],
            }
        )
    return {"summary": "ten possibilities", "diagnoses": diagnoses, "missing": []}


def _verifier(path: Path | None) -> Any:
    if path is None:
        from agent.verification import verify_reply

        return verify_reply
    import importlib.util

    spec = importlib.util.spec_from_file_location("verification_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module.verify_reply


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--module", type=Path, help="a verification.py to time instead")
    args = parser.parse_args()
    verify_reply = _verifier(args.module)
    records = evidence()
    text = "```json\n" + json.dumps(differential()) + "\n```"
    embedder = get_embedder()
    warm_scorer = embedding_scorer(embedder)
    verify_reply(text, records, check_code=check_code, score_support=warm_scorer)  # warm-up
    full, warm, without_support = [], [], []
    for _ in range(args.runs):
        # Cold: the first check of a turn embeds every claim and passage sentence.
        t0 = time.perf_counter()
        cold_scorer = embedding_scorer(embedder)
        verdict = verify_reply(text, records, check_code=check_code, score_support=cold_scorer)
        full.append(time.perf_counter() - t0)
        # Warm: the re-check after a repair finds the passage sentences cached.
        t0 = time.perf_counter()
        verify_reply(text, records, check_code=check_code, score_support=warm_scorer)
        warm.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        verify_reply(text, records, check_code=check_code)
        without_support.append(time.perf_counter() - t0)
    assert not verdict.problems, verdict.problems
    claims = getattr(verdict, "claims", {})
    print(
        json.dumps(
            {
                "benchmark": "verify",
                "diagnoses": 10,
                "evidence_items": len(records),
                "claims_scored": len(verdict.support),
                "claims_checked": sum(c.status == "checked" for c in claims.values()),
                "runs": args.runs,
                "verify_ms_p50": round(statistics.median(full) * 1000, 2),
                "verify_recheck_ms_p50": round(statistics.median(warm) * 1000, 2),
                "verify_without_support_ms_p50": round(
                    statistics.median(without_support) * 1000, 2
                ),
                "python": platform.python_version(),
                "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            }
        )
    )


if __name__ == "__main__":
    main()
