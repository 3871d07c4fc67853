"""FHIR tasks in the MedAgentBench style: questions whose answer is a value in the patient's
record, scored by exact value against the embedded store the record was loaded into.

Layout (``--data DIR/FHIR``): FHIR Bulk Data NDJSON files (``Patient.ndjson``,
``Observation.ndjson``, ``MedicationRequest.ndjson``, ``Encounter.ndjson``, ...) and
``tasks.jsonl``, one task a line::

    {"id": "t1", "patient_id": "p1", "kind": "latest_value", "code": "2160-0",
     "question": "What is the most recent serum creatinine?"}

Kinds: ``latest_value`` (an Observation's newest value, by LOINC ``code``), ``trend``
(rising / falling / stable between its two newest values), ``medication_dose`` (the
dosage text of the newest MedicationRequest whose drug name contains ``medication``),
``encounter_count`` (how many Encounters the record holds). The expected answer is read
from the store at load time, never written in the task file.

The agent arm's session is bound to the task's patient over that store (its EHR tools
read it); the bare arm gets the patient's resources as JSON in the prompt, cut to
``RECORD_CHARS``: the model without tools, with the record in front of it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from evals.items import DatasetError, Item
from evals.scoring import parse_reply
from knowledge.ehr.embedded import EmbeddedFhirStore
from knowledge.ehr.records import dosage_text, measurements, medication_name
from knowledge.untrusted import untrusted

KINDS = ("latest_value", "trend", "medication_dose", "encounter_count")
RECORD_CHARS = 24_000
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _expected(store: EmbeddedFhirStore, task: dict[str, Any]) -> str:
    patient, kind = task["patient_id"], task["kind"]
    if kind in ("latest_value", "trend"):
        found = store.search("Observation", patient, codes=[str(task["code"])])
        values = [
            m.value
            for o in found
            for m in measurements(o)
            if m.code == task["code"] and m.value is not None
        ]
        if kind == "latest_value":
            if not values:
                raise DatasetError(f"FHIR task {task['id']}: no {task['code']} value")
            return _number(values[0])
        if len(values) < 2:
            raise DatasetError(f"FHIR task {task['id']}: fewer than two {task['code']} values")
        newest, before = values[0], values[1]
        return "rising" if newest > before else "falling" if newest < before else "stable"
    if kind == "medication_dose":
        wanted = str(task["medication"]).lower()
        for request in store.search("MedicationRequest", patient):
            if wanted in medication_name(request, None).lower() and dosage_text(request):
                return dosage_text(request)
        raise DatasetError(f"FHIR task {task['id']}: no dosed {task['medication']} request")
    if kind == "encounter_count":
        return str(len(store.search("Encounter", patient)))
    raise DatasetError(f"FHIR task {task['id']}: unknown kind {kind!r}; known: {KINDS}")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _record_text(store: EmbeddedFhirStore, patient: str) -> str:
    resources = [store.patient(patient) or {}]
    for kind in ("Observation", "MedicationRequest", "Encounter", "Condition"):
        # each resource is over 24 characters: RECORD_CHARS is spent before this many
        resources += store.search(kind, patient, count=RECORD_CHARS // 24)
    text = "\n".join(json.dumps(r, separators=(",", ":")) for r in resources)
    return untrusted(text, limit=RECORD_CHARS)


def load(folder: Path, cache: Path) -> list[Item]:
    tasks_path = folder / "tasks.jsonl"
    if not tasks_path.is_file():
        raise DatasetError(f"FHIR: no {tasks_path}")
    cache.mkdir(parents=True, exist_ok=True)
    db = cache / "ehr.sqlite"
    db.unlink(missing_ok=True)  # the store is rebuilt from the NDJSON every run
    store = EmbeddedFhirStore(db)
    try:
        report = store.import_paths(sorted(folder.glob("*.ndjson")))
        if not report.imported:
            raise DatasetError(f"FHIR: no resources imported from {folder}/*.ndjson")
        out = []
        for n, line in enumerate(tasks_path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                task = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{tasks_path}:{n}: not JSON ({exc.msg})") from None
            missing = [k for k in ("id", "patient_id", "kind", "question") if k not in task]
            if missing:
                raise DatasetError(f"{tasks_path}:{n}: missing {', '.join(missing)}")
            if store.patient(task["patient_id"]) is None:
                raise DatasetError(f"{tasks_path}:{n}: no patient {task['patient_id']!r}")
            answer = _expected(store, task)
            record = _record_text(store, task["patient_id"])
            out.append(
                Item(
                    "FHIR",
                    str(task["id"]),
                    "fhir",
                    task["question"],
                    untrusted(task["question"]),
                    answer,
                    meta={
                        "patient_id": task["patient_id"],
                        "task": task["kind"],
                        "ehr_db": str(db),
                        "record": record,
                    },
                )
            )
        return out
    finally:
        store.close()


def bare_prompt(item: Item) -> str:
    """The question with the patient's record in data tags (the bare arm has no tools)."""
    return (
        f"<patient_record>\n{item.meta['record']}\n</patient_record>\n\n{item.prompt}\n"
        "Answer with the value only."
    )


def grade_fhir(item: Item, reply: str) -> dict[str, Any]:
    """Exact value: a number equal to the record's, the trend word, the dose text, or the
    count, read from the answer part of the reply."""
    parsed = parse_reply(reply).strip().rstrip(".")
    gold = item.answer.lower()
    if item.meta["task"] in ("latest_value", "encounter_count"):
        numbers = _NUMBER.findall(parsed)
        value = numbers[0] if numbers else ""
        correct = bool(value) and float(value) == float(gold)
        how = "number" if value else "unparsed"
        parsed = value
    elif item.meta["task"] == "trend":
        words = [w for w in ("rising", "falling", "stable") if w in parsed.split()]
        correct, how = words == [gold], "trend" if words else "unparsed"
    else:
        correct = " ".join(parsed.split()) == " ".join(gold.split())
        how = "exact"
    return {
        "parsed": parsed,
        "correct": correct,
        "how": how,
        "metrics": {},
        "score": float(correct),
    }
