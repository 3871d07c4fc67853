"""Record claims (E#) checked against the cited entries: precision and recall on a labelled set.

The set (``benchmarks/claims_record.json``) holds hand-written claims over the synthetic
patients, each citing record entries by FHIR reference, labelled ``right`` or ``wrong``
with the class of error (wrong number, unit, direction, date, flag, negated, status).
Evidence is gathered with the real EHR tools on the embedded FHIR store, exactly as a
session would; each claim is checked with :func:`agent.claims.check_claim`.

Prints one JSON line: recall (wrong claims caught), false-flag rate (right claims
flagged), per-class counts and the time per claim.

Run: ``.venv/bin/python benchmarks/claims_record.py``
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.claims import check_claim  # noqa: E402
from knowledge.ehr import ensure_demo_patients, loinc  # noqa: E402
from tools.ehr import EHR_TOOLS  # noqa: E402
from tools.evidence import EvidenceLedger, EvidenceRecord  # noqa: E402
from tools.runtime import ToolContext, call_tool  # noqa: E402

SET = Path(__file__).with_name("claims_record.json")
TOOLS = {t.name: t for t in EHR_TOOLS}
VITALS = set(loinc.VITAL_CODES) | {"85354-9"}


def gather(store: Any, patient: str) -> dict[str, EvidenceRecord]:
    """Everything the EHR tools show for a patient, cited as a session would cite it."""
    ctx = ToolContext(
        ledger=EvidenceLedger(), patient_id=patient, ehr=store, max_output_chars=40000
    )

    def call(name: str, **args: Any) -> None:
        call_tool(TOOLS[name], ctx, call_id="c", **args)

    call("patient_summary")
    call("list_conditions", status="all")
    call("list_medications", status="all")
    call("list_allergies")
    call("get_vitals")
    vitals = {
        r["citation"].get("code")
        for r in ctx.ledger.new_records.values()
        if r["citation"].get("resource_type") == "Observation"
        and r["citation"].get("system") == "http://loinc.org"
        and r["citation"].get("code") in VITALS
    }
    labs = {
        m["code"]["coding"][0]["code"]
        for m in store.search("Observation", patient, count=500)
        if m.get("code", {}).get("coding")
    }
    for code in sorted(labs - vitals):
        try:
            call("get_labs", name_or_loinc=code)
        except Exception:  # a code the lab tool does not map is skipped
            continue
    return ctx.ledger.new_records


def run(items: list[dict[str, Any]], store: Any) -> dict[str, Any]:
    evidence: dict[str, dict[str, EvidenceRecord]] = {}
    rows = []
    started = time.perf_counter()
    for item in items:
        pid = item["patient"]
        if pid not in evidence:
            evidence[pid] = gather(store, pid)
        ev = evidence[pid]
        by_key = {r["key"]: i for i, r in ev.items()}
        ids = [by_key[k] for k in item["cites"]]
        verdict = check_claim(item["claim"], ids, ev)
        rows.append((item, verdict))
    elapsed = time.perf_counter() - started
    wrong = [(i, v) for i, v in rows if i["label"] == "wrong"]
    right = [(i, v) for i, v in rows if i["label"] == "right"]
    caught = [i for i, v in wrong if v.status == "mismatch"]
    flagged = [i for i, v in right if v.status == "mismatch"]
    by_class: dict[str, dict[str, int]] = {}
    for item, verdict in rows:
        entry = by_class.setdefault(item["class"], {"n": 0, "mismatch": 0, "checked": 0})
        entry["n"] += 1
        entry["mismatch"] += verdict.status == "mismatch"
        entry["checked"] += verdict.status == "checked"
    return {
        "benchmark": "claims_record",
        "claims": len(rows),
        "wrong": len(wrong),
        "right": len(right),
        "recall_wrong_caught": round(len(caught) / max(1, len(wrong)), 3),
        "right_flagged_rate": round(len(flagged) / max(1, len(right)), 3),
        "precision": round(len(caught) / max(1, len(caught) + len(flagged)), 3),
        "right_checked_rate": round(
            sum(v.status == "checked" for _, v in right) / max(1, len(right)), 3
        ),
        "missed": [i["claim"] for i, v in wrong if v.status != "mismatch"],
        "false_flags": [f"{i['claim']} -> {v.reason}" for i, v in right if v.status == "mismatch"],
        "by_class": by_class,
        "ms_per_claim_incl_gathering": round(1000 * elapsed / max(1, len(rows)), 2),
    }


def main() -> None:
    items = json.loads(SET.read_text(encoding="utf-8"))["claims"]
    with tempfile.TemporaryDirectory() as tmp:
        store = ensure_demo_patients(Path(tmp) / "ehr.sqlite")
        print(json.dumps(run(items, store)))
        store.close()


if __name__ == "__main__":
    main()
