"""ICD-10-CM look-up and red-flag screen latency; prints one JSON line.

Run: .venv/bin/python benchmarks/icd10_redflags.py
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from knowledge.ehr import ensure_demo_patients
from knowledge.icd10 import check_code, lookup
from knowledge.redflags import screen

TERMS = [
    "NSTEMI",
    "community acquired pneumonia",
    "pulmonary embolism without acute cor pulmonale",
    "DVT",
    "COPD exacerbation",
    "type 2 diabetes with hyperglycaemia",
    "urinary tract infection",
    "sepsis",
]


def _ms(samples: list[float], q: float) -> float:
    return round(statistics.quantiles(samples, n=100)[int(q) - 1] * 1000, 2)


def main() -> None:
    start = time.perf_counter()
    lookup("warm up")
    build_s = time.perf_counter() - start
    times = []
    for _ in range(25):
        for term in TERMS:
            t = time.perf_counter()
            lookup(term)
            times.append(time.perf_counter() - t)
    checks = []
    for _ in range(200):
        t = time.perf_counter()
        check_code("I21.49")
        checks.append(time.perf_counter() - t)
    with tempfile.TemporaryDirectory() as tmp:
        store = ensure_demo_patients(Path(tmp) / "ehr.sqlite")
        screens = []
        for _ in range(50):
            t = time.perf_counter()
            screen("fever, RR 24, confused", store, "sepsis", now=datetime(2026, 2, 11, 7))
            screens.append(time.perf_counter() - t)
        store.close()
    print(
        json.dumps(
            {
                "benchmark": "icd10_redflags",
                "icd10_index_build_s": round(build_s, 2),
                "icd10_lookup_p50_ms": _ms(times, 50),
                "icd10_lookup_p95_ms": _ms(times, 95),
                "icd10_check_code_p50_ms": _ms(checks, 50),
                "redflag_screen_text_and_record_p50_ms": _ms(screens, 50),
                "lookups": len(times),
            }
        )
    )


if __name__ == "__main__":
    main()
