"""Identifiers written in free text never reach the model, the answer or sessions.sqlite.

A synthetic patient whose notes, condition text, dosage text and observation comments
are full of its own identifiers (and its relatives' and clinicians' names), read through
the real graph, the real EHR tools and the real embedded store opened from settings.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

from agent.session import Lingshu
from agent.settings import Settings
from knowledge.ehr import EmbeddedFhirStore
from knowledge.ehr.redact import COMMON_WORD_NAMES, Redactor, identity_of
from tests.ehr.conftest import call, context, write_bundle
from tests.fakes import ScriptedChatModel
from tools.ehr import EHR_TOOLS

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

PID = "ident"
SECRETS = (
    "Marguerite",
    "Okonkwo-Hale",
    "OKONKWO-HALE",
    "H7781204",
    "1958-02-17",
    "17/02/1958",
    "February 17, 1958",
    "42 Wren Crescent",
    "Thornbury",
    "TB4 2WX",
    "555-0148",
    "(555) 0148",
    "mokonkwo@example.net",
    "Femi",
    "Ashworth",
    "Beatrix",
    "321-54-9876",
    "J99887766",
)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _record() -> list[dict[str, Any]]:
    ref = {"reference": f"Patient/{PID}"}
    note = (
        "Marguerite Okonkwo-Hale (MRN H7781204, DOB 17/02/1958) of 42 Wren Crescent, Thornbury "
        "TB4 2WX. Son Femi on (555) 0148, e-mail mokonkwo@example.net. Seen with Dr Ashworth. "
        "Sister Beatrix visited. SSN 321-54-9876. Hospital no: J99887766. Born February 17, "
        "1958. OKONKWO-HALE, M. Crushing chest pain for 2 h, troponin 96 ng/L, brown sputum."
    )
    return [
        {
            "resourceType": "Patient",
            "id": PID,
            "gender": "female",
            "birthDate": "1958-02-17",
            "name": [{"given": ["Marguerite"], "family": "Okonkwo-Hale"}],
            "identifier": [{"value": "H7781204"}],
            "telecom": [
                {"system": "phone", "value": "555-0148"},
                {"system": "email", "value": "mokonkwo@example.net"},
            ],
            "address": [
                {"line": ["42 Wren Crescent"], "city": "Thornbury", "postalCode": "TB4 2WX"}
            ],
            "contact": [{"name": {"given": ["Femi"], "family": "Okonkwo-Hale"}}],
            "generalPractitioner": [{"reference": "Practitioner/gp1"}],
        },
        {
            "resourceType": "Practitioner",
            "id": "gp1",
            "name": [{"given": ["Lionel"], "family": "Ashworth"}],
        },
        {
            "resourceType": "RelatedPerson",
            "id": "rp1",
            "patient": ref,
            "name": [{"given": ["Beatrix"], "family": "Hale"}],
        },
        {
            "resourceType": "DocumentReference",
            "id": "n1",
            "status": "current",
            "subject": ref,
            "date": "2026-03-01T08:00:00Z",
            "author": [{"reference": "Practitioner/gp1", "display": "Dr Lionel Ashworth"}],
            "content": [
                {
                    "attachment": {
                        "contentType": "text/plain",
                        "title": "ED note for Marguerite Okonkwo-Hale",
                        "data": _b64(note),
                    }
                }
            ],
        },
        {
            "resourceType": "Condition",
            "id": "c1",
            "subject": ref,
            "clinicalStatus": {"coding": [{"code": "active"}]},
            "code": {"text": "Chest pain (Marguerite, call 555-0148)"},
            "onsetDateTime": "2026-03-01",
        },
        {
            "resourceType": "MedicationRequest",
            "id": "m1",
            "status": "active",
            "intent": "order",
            "subject": ref,
            "medicationCodeableConcept": {"text": "Aspirin 300 mg"},
            "dosageInstruction": [{"text": "300 mg once; son Femi to collect from Thornbury"}],
            "authoredOn": "2026-03-01",
        },
        {
            "resourceType": "Observation",
            "id": "o1",
            "status": "final",
            "subject": ref,
            "code": {
                "coding": [{"system": "http://loinc.org", "code": "67151-1"}],
                "text": "hs-Troponin T",
            },
            "effectiveDateTime": "2026-03-01T08:05:00Z",
            "valueQuantity": {"value": 96, "unit": "ng/L"},
            "note": [{"text": "Phoned result to Dr Ashworth and to 555-0148"}],
        },
    ]


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s.lower() in text.lower()]


def test_identifiers_reach_neither_model_nor_answer_nor_session_store(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    store = EmbeddedFhirStore(settings.ehr_path)
    assert store.import_file(write_bundle(tmp_path / "b.json", _record())).skipped == 0
    store.close()
    calls = [
        ("search_notes", {"query": "chest pain"}),
        ("list_conditions", {"status": "all"}),
        ("list_medications", {"status": "all"}),
        ("get_labs", {"name_or_loinc": "troponin"}),
    ]
    blocks = "\n".join(
        f"<tool_call>\n{json.dumps({'name': n, 'arguments': a})}\n</tool_call>" for n, a in calls
    )
    model = ScriptedChatModel(script=[blocks, "Chest pain with a raised troponin [E1]."])
    agent = Lingshu(settings, model=model, tools=EHR_TOOLS)
    result = agent.ask("What does the record say?", patient_id=PID)
    prompts = "\n".join(m.text for prompt in model.prompts for m in prompt)
    assert "troponin" in prompts.lower() and "[name]" in prompts and "[phone]" in prompts
    assert "brown sputum" in prompts  # an everyday word is not taken for a name
    assert _leaks(prompts) == []
    answer = json.dumps(result.answer, ensure_ascii=False, default=str)
    assert _leaks(answer) == []
    state = json.dumps(agent.state(result.session_id), ensure_ascii=False, default=str)
    assert "[name]" in state and _leaks(state) == []
    sessions = Path(settings.sessions_path)
    stored = b"".join(p.read_bytes() for p in sessions.parent.glob(sessions.name + "*"))
    assert stored, "no session store was written"
    assert [s for s in SECRETS if s.encode() in stored] == []


def test_structure_is_kept_and_a_deployment_may_show_identifiers(tmp_path: Path) -> None:
    store = EmbeddedFhirStore(tmp_path / "ehr.sqlite")
    store.import_file(write_bundle(tmp_path / "b.json", _record()))
    redacted = call(context(store, PID), "search_notes", query="chest pain")
    assert "ED note for [name] [name]" in str(redacted.content)
    assert redacted.artifact["data"]["resources"] == ["DocumentReference/n1"]
    shown = call(
        context(store, PID, extras={"ehr_show_identifiers": True}),
        "search_notes",
        query="chest pain",
    )
    assert "Marguerite Okonkwo-Hale" in str(shown.content)
    labs = str(call(context(store, PID), "get_labs", name_or_loinc="troponin").content)
    assert "2026-03-01 08:05: 96 ng/L" in labs and "67151-1" in labs
    store.close()


def test_labelled_notes_recall_and_precision() -> None:
    """The labelled set of benchmarks/redaction.py: every identifier the record knows is caught."""
    from redaction import NOTES, unmark

    data = json.loads(NOTES.read_text(encoding="utf-8"))
    assert len(data["notes"]) >= 40
    caught = total = 0
    for note in data["notes"]:
        patient = data["patients"][note["patient"]]
        redactor = Redactor(identity_of(patient["patient"], patient["related"]))
        known = redactor.identity.names | {w for t in redactor.identity.literals for w in t.split()}
        text, gold = unmark(note["text"])
        covered = {i for span in redactor.spans(text) for i in range(span.start, span.end)}
        for start, end, kind in gold:
            value = text[start:end]
            total += 1
            if {i for i in range(start, end) if not text[i].isspace()} <= covered:
                caught += 1
            elif kind in {"identifier", "birth date", "email", "SSN", "phone", "address"}:
                raise AssertionError(f"{kind} {value!r} leaked from {text!r}")
            else:  # a name the record does not hold, or an everyday word standing alone
                assert value not in known or value.lower() in COMMON_WORD_NAMES, (value, text)
    assert caught / total >= 0.9


def test_everyday_words_that_are_names_or_towns_stay_when_used_as_words() -> None:
    patient = {
        "resourceType": "Patient",
        "name": [{"given": ["May"], "family": "Brown"}],
        "address": [{"line": ["3 High St"], "city": "Bath", "postalCode": "BA1 1AA"}],
    }
    redactor = Redactor(identity_of(patient))
    text = "May Brown of Bath (BA1 1AA): brown sputum since May; needs help with a bath."
    assert redactor.text(text) == (
        "[name] [name] of [address] ([address]): brown sputum since May; needs help with a bath."
    )
    assert redactor.text("Mrs Brown, 3 high st.") == "Mrs [name], [address]."


# Tried by the red team after the first fix: the record's own identifiers written in other
# forms, and in fields the first test did not fill. Each one reached the EHR layer's output
# before the fix ("07-Mar-1956", "19560307", "5552013344", "DM47QT", "quennell", a UTF-16
# note, SSNs with spaces, international and trunk-0 phone numbers, "MRN-00451").
OTHER_FORMS = (
    "born 07-Mar-1956",
    "DOB 19560307",
    "DOB 1956/03/07",
    "DOB 1956.03.07",
    "DOB 7 Mar 56",
    "DOB Mar. 7th, '56",
    "call 5552013344",
    "call +1 (555) 201 3344",
    "postcode DM47QT",
    "quennell, alexandra",
    "SSN 123 45 6789",
    "SSN: 123456789",
    "daughter on +44 7700 900123",
    "neighbour 07700 900123",
    "MRN-00451",
    "hospital no. 00451",
)
OTHER_SECRETS = (
    "1956",
    "201",
    "3344",
    "DM4",
    "7QT",
    "quennell",
    "alexandra",
    "6789",
    "900123",
    "00451",
)


def _other_record(pid: str) -> list[dict[str, Any]]:
    ref = {"reference": f"Patient/{pid}"}
    forms = "; ".join(OTHER_FORMS)
    return [
        {
            "resourceType": "Patient",
            "id": pid,
            "birthDate": "1956-03-07",
            "name": [{"given": ["Alexandra"], "family": "Quennell"}],
            "identifier": [{"value": "MRN00451"}],
            "telecom": [{"system": "phone", "value": "+1-555-201-3344"}],
            "address": [{"line": ["12 Larch Close"], "city": "Dunmore", "postalCode": "DM4 7QT"}],
        },
        {
            "resourceType": "DocumentReference",
            "id": f"{pid}-utf16",
            "status": "current",
            "subject": ref,
            "date": "2026-03-02T08:00:00Z",
            "content": [
                {
                    "attachment": {
                        "contentType": "text/plain",
                        "title": "Chest pain note",
                        "data": base64.b64encode(f"Chest pain. {forms}".encode("utf-16")).decode(),
                    }
                }
            ],
        },
        {
            "resourceType": "Observation",
            "id": f"{pid}-o1",
            "status": "final",
            "subject": ref,
            "code": {
                "coding": [{"system": "http://loinc.org", "code": "67151-1"}],
                "text": "hs-TnT",
            },
            "effectiveDateTime": "2026-03-02T08:05:00Z",
            "valueQuantity": {"value": 40, "unit": "ng/L"},
            "note": [{"text": forms}],
        },
        {
            "resourceType": "Condition",
            "id": f"{pid}-c1",
            "subject": ref,
            "code": {"text": "Chest pain"},
            "note": [{"text": forms}],
        },
        {
            "resourceType": "DiagnosticReport",
            "id": f"{pid}-dr1",
            "status": "final",
            "subject": ref,
            "code": {"text": "Chest X-ray"},
            "conclusion": f"Clear lungs. {forms}",
        },
        {
            "resourceType": "Encounter",
            "id": f"{pid}-enc1",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "EMER"},
            "subject": ref,
            "reasonCode": [{"text": f"Chest pain. {forms}"}],
        },
    ]


def test_the_records_identifiers_in_other_forms_and_fields_are_redacted(tmp_path: Path) -> None:
    from knowledge.ehr.redacting import redacting

    pid = "forms"
    raw = EmbeddedFhirStore(tmp_path / "ehr.sqlite")
    assert raw.import_file(write_bundle(tmp_path / "b.json", _other_record(pid))).skipped == 0
    store = redacting(raw)
    left = []
    for rtype in ("Observation", "Condition", "DiagnosticReport", "Encounter", "DocumentReference"):
        found = store.search(rtype, pid)
        assert found, rtype
        text = json.dumps(found, ensure_ascii=False)
        for doc in found:
            for content in doc.get("content") or []:
                text += base64.b64decode(content["attachment"]["data"]).decode("utf-8")
        left += [(rtype, s) for s in OTHER_SECRETS if s.lower() in text.lower()]
    assert left == []
    note = str(call(context(raw, pid), "search_notes", query="chest pain").content)
    assert "Chest pain" in note and "[birth date]" in note and "[phone]" in note
    assert [s for s in OTHER_SECRETS if s.lower() in note.lower()] == []
    raw.close()
