"""EHR tool latency on a patient with 10,000 observations (embedded SQLite store).

Builds a store with the synthetic chest-pain patient plus 10,000 generated lab and
vital-sign Observations over five years, then times ``patient_summary`` and
``get_labs`` as the graph calls them (free text redacted of identifiers, the source
wrapped once as agent/resources.py does), and without redaction for comparison.
Prints one JSON line.

    .venv/bin/python benchmarks/ehr.py
"""

from __future__ import annotations

import json
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from knowledge.ehr import EmbeddedFhirStore
from knowledge.ehr.parse import validate
from knowledge.ehr.redacting import redacting
from knowledge.patients import BUNDLE_DIR
from tools.ehr import get_labs, patient_summary
from tools.evidence import EvidenceLedger
from tools.runtime import ToolContext, tool_runtime

PATIENT = "chest-pain"
N_OBSERVATIONS = 10_000
RUNS = 60
CODES = [  # (LOINC, unit, typical value, spread)
    ("67151-1", "ng/L", 20, 15),
    ("2160-0", "mg/dL", 1.1, 0.3),
    ("2345-7", "mg/dL", 140, 40),
    ("718-7", "g/dL", 13.5, 1.5),
    ("6690-2", "10*3/uL", 8, 3),
    ("2951-2", "mmol/L", 139, 3),
    ("2823-3", "mmol/L", 4.3, 0.4),
    ("1988-5", "mg/L", 8, 10),
    ("4548-4", "%", 7.5, 0.8),
    ("8867-4", "/min", 80, 12),
    ("9279-1", "/min", 16, 3),
    ("8310-5", "Cel", 36.9, 0.4),
    ("59408-5", "%", 97, 2),
    ("29463-7", "kg", 90, 3),
]


def _observations(n: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    start = datetime(2021, 3, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        code, unit, mean, spread = CODES[i % len(CODES)]
        when = start + timedelta(minutes=int(i * 5 * 365 * 24 * 60 / n))
        out.append(
            {
                "resourceType": "Observation",
                "id": f"bench-{i}",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": code}], "text": code},
                "subject": {"reference": f"Patient/{PATIENT}"},
                "effectiveDateTime": when.isoformat().replace("+00:00", "Z"),
                "valueQuantity": {"value": round(rng.gauss(mean, spread), 2), "unit": unit},
                "referenceRange": [{"high": {"value": mean + spread, "unit": unit}}],
            }
        )
    return out


def _time(fn: Any, args: dict[str, Any], store: Any, show: bool = False) -> list[float]:
    """Tool latency; ``store`` wrapped once for redaction as agent/resources.py opens it,
    or, with ``show``, raw with identifiers shown (no redaction, for comparison)."""
    times = []
    for _ in range(RUNS):
        extras = {"ehr_show_identifiers": show}
        ctx = ToolContext(ledger=EvidenceLedger(), patient_id=PATIENT, ehr=store, extras=extras)
        rt = tool_runtime(ctx, call_id="b")
        call = {"type": "tool_call", "id": "b", "name": fn.name, "args": {**args, "runtime": rt}}
        t0 = time.perf_counter()
        fn.invoke(call)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def _pct(values: list[float], q: int) -> float:
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 2)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = EmbeddedFhirStore(Path(tmp) / "ehr.sqlite")
        store.import_paths([BUNDLE_DIR / f"{PATIENT}.json"])
        t0 = time.perf_counter()
        store.add([validate(o) for o in _observations(N_OBSERVATIONS)])
        import_s = time.perf_counter() - t0
        n_obs = len(store.search("Observation", PATIENT))
        source = redacting(store)
        summary = _time(patient_summary, {}, source)
        labs = _time(get_labs, {"name_or_loinc": "troponin"}, source)
        summary_raw = _time(patient_summary, {}, store, show=True)
        labs_raw = _time(get_labs, {"name_or_loinc": "troponin"}, store, show=True)
        store.close()
    print(
        json.dumps(
            {
                "benchmark": "ehr_tools_embedded",
                "patient_observations": n_obs,
                "runs": RUNS,
                "patient_summary_ms_p50": _pct(summary, 50),
                "patient_summary_ms_p95": _pct(summary, 95),
                "get_labs_troponin_ms_p50": _pct(labs, 50),
                "get_labs_troponin_ms_p95": _pct(labs, 95),
                "unredacted_patient_summary_ms_p50": _pct(summary_raw, 50),
                "unredacted_get_labs_troponin_ms_p50": _pct(labs_raw, 50),
                "import_10k_observations_s": round(import_s, 2),
                "python": platform.python_version(),
                "machine": platform.machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
