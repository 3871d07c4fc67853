"""Questions back to the clinician: the ``ask_clinician`` answering tool, and the checks
made before a turn stops at a question.

The model may ask ONE focused question instead of guessing. Before the turn is
interrupted the ``ask`` node (``agent/nodes/ask.py``) checks, deterministically and
without side effects (the node is re-run from its start when the answer comes):

- the bound: ``max_questions_per_turn`` questions a turn (0: never ask);
- the record: the question's key terms are looked up in the patient's record
  (observations, conditions, medications, allergies, notes); what the record holds is
  sent back to the model instead of the question;
- the images: a question about what an image shows, in a session with images, is sent
  back naming the images to look at.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field

from agent.answer import DISCLAIMERS, Answer
from agent.differential import Diagnosis
from knowledge.ehr.parse import date_of
from knowledge.ehr.records import concept_text, note_text, note_title
from knowledge.ehr.source import FhirSource, FhirUnavailable
from knowledge.untrusted import protocol_safe, untrusted

QUESTION = "question"
"""Marker of the model's question to the clinician (an AIMessage)."""
CLINICIAN_ANSWER = "clinician_answer"
"""Marker of the clinician's answer to it (a HumanMessage)."""
ASKED = "asked"
"""``additional_kwargs`` key of a reply that called ``ask_clinician``: its arguments."""


class AskClinician(BaseModel):
    """Ask the clinician ONE focused question instead of guessing: only when the evidence is
    insufficient and the answer is not in the patient's record or the images (look there
    first). The turn waits for the answer, then goes on with it."""

    question: str = Field(min_length=1, max_length=500, description="One focused question.")
    why: str = Field("", max_length=500, description="What the answer would decide.")


def _ask_clinician(question: str, why: str = "") -> str:
    """Never run as a tool: the reason node reads its arguments (an answering tool)."""
    return question


ASK_CLINICIAN = StructuredTool.from_function(
    _ask_clinician,
    name="ask_clinician",
    description=AskClinician.__doc__ or "",
    args_schema=AskClinician,
)

# --- what the record holds ---------------------------------------------------------------------

_WORD = re.compile(r"[a-z][a-z0-9]{2,}")
_STOP_WORDS = """
    about after again also been before being does done ever from have has had having into
    just last more most much none once only other over same since some such than that their
    them then there these they this those under until very were what when where which while
    with within would could should will your yours patient patients history current currently
    recent recently any anything known previous prior today yesterday ago now level levels
    value values result results taking take takes took given give used using use record
    records chart please tell know there's whether still new old test tests check checked
"""
_STOP = frozenset(_STOP_WORDS.split())
_TYPES = (
    "Condition",
    "MedicationRequest",
    "AllergyIntolerance",
    "Observation",
    "DocumentReference",
)
_IMAGE_TERMS = """
    image images film films radiograph radiographs x-ray xray scan scans ct mri ultrasound
    picture pictures photo photograph view views shown show shows visible appear appears
    opacity opacities lesion lesions fracture consolidation effusion
"""
_IMAGE_WORDS = frozenset(_IMAGE_TERMS.split())
_ANY_WORD = re.compile(r"[a-z][a-z\-]*")


def key_terms(question: str) -> list[str]:
    """The question's content words (lower case, stop words out), in order, once."""
    words = _WORD.findall(question.lower())
    return list(dict.fromkeys(w for w in words if w not in _STOP))


def _describe(resource: dict[str, Any]) -> tuple[str, str]:
    """(the text the terms are matched in, a one-line label) of one record resource."""
    kind = resource.get("resourceType", "")
    when = (date_of(resource) or "")[:10]
    if kind == "DocumentReference":
        title, body = note_title(resource), note_text(resource)
        return f"{title} {body}", f"note {title!r} ({when}): {' '.join(body.split())}"
    concept = resource.get("code") or resource.get("medicationCodeableConcept")
    name = concept_text(concept) if concept else ""
    value = resource.get("valueQuantity") or {}
    shown = f" {value.get('value')} {value.get('unit', '')}".rstrip() if value else ""
    return name, f"{kind} {name}{shown} ({when})".strip()


def record_hits(
    question: str, ehr: FhirSource | None, patient_id: str | None, limit: int = 3
) -> list[str]:
    """Lines of the patient's record that answer the question's key terms (at most ``limit``;
    empty without a record, or when nothing matches). Read only: safe to re-run."""
    terms = key_terms(question)
    if ehr is None or not patient_id or not terms:
        return []
    hits: list[str] = []
    for kind in _TYPES:
        try:
            found = ehr.search(kind, patient_id, count=200)
        except FhirUnavailable:
            return []  # the record cannot be read now: the question may be asked
        for resource in found:
            text, label = _describe(resource)
            words = set(_WORD.findall(text.lower()))
            matched = [t for t in terms if t in words]
            # a short coded entry: one term of its name; a note: half of the question's terms
            enough = (len(matched) * 2 >= len(terms)) if kind == "DocumentReference" else matched
            if matched and enough:
                hits.append(label)
            if len(hits) >= limit:
                return hits
    return hits


def about_images(question: str, evidence: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The session's images (``I#: label``) when the question asks what an image shows."""
    images = [r for r in evidence.values() if r.get("kind") == "image"]
    if not images or not set(_ANY_WORD.findall(question.lower())) & _IMAGE_WORDS:
        return []
    return [f"{r['id']}: {r.get('label', '')}" for r in images]


def refusal(hits: Sequence[str], images: Sequence[str]) -> str:
    """The problem told to the model when its question is not asked (record text escaped)."""
    if hits:
        held = "; ".join(untrusted(h, limit=300) for h in hits)
        return (
            "ask_clinician was not sent: the patient's record already answers it. "
            f"The record holds: {held}. Use the record tools to read it, and answer."
        )
    shown = "; ".join(untrusted(i, limit=200) for i in images)
    return (
        "ask_clinician was not sent: the question is about what an image shows, and the "
        f"session holds the images ({shown}). Look at them, and answer."
    )


def bound_reached(limit: int) -> str:
    """The problem told to the model when the questions of this turn are spent."""
    if limit <= 0:
        return "ask_clinician is not available here: answer with the evidence you have."
    return (
        f"ask_clinician was not sent: this turn already asked {limit} question(s), the most a "
        "turn may ask. Answer with the evidence you have, and say what remains uncertain."
    )


def asked_this_turn(messages: Sequence[BaseMessage], turn_start: int) -> int:
    """How many questions were put to the clinician in this turn."""
    return sum(
        1
        for m in messages[turn_start:]
        if isinstance(m, AIMessage) and m.additional_kwargs.get("lingshu") == QUESTION
    )


# --- the verifier's question ----------------------------------------------------------------

VERIFIER = "verifier"
"""``ASKED["by"]`` of a question the program built (the model's carry no ``by``)."""
_MAX_CANDIDATES = 4


def verifier_question(
    leader: Diagnosis,
    missing: Sequence[str],
    ehr: FhirSource | None,
    patient_id: str | None,
    evidence: Mapping[str, Mapping[str, Any]],
    asked_before: Sequence[str] = (),
) -> dict[str, str] | None:
    """ONE focused question for the clinician when nothing supports the leading diagnosis:
    the first of the differential's ``missing`` items, then of the leader's test or imaging
    next steps, that the record and the images do not answer (the checks a model's question
    passes), and that was not asked already. None when no candidate passes."""
    why = (
        f"Nothing in the evidence supports the leading diagnosis, {_short(leader.name)}; "
        "the answer would decide it."
    )
    candidates = [
        (m, f"Can you tell me this, which the record does not hold: {m}?")
        for m in (_short(m) for m in missing if m.strip())
    ]
    for step in leader.next_steps:
        if step.kind in ("test", "imaging"):
            action = _short(step.action)
            candidates.append((action, f"Has this been done, and what did it show: {action}?"))
    for item, question in candidates[:_MAX_CANDIDATES]:
        if question in asked_before:
            continue
        if record_hits(item, ehr, patient_id) or about_images(item, evidence):
            continue
        return {"question": question, "why": why, "by": VERIFIER}
    return None


def _short(text: str) -> str:
    """Model text put in a question: no protocol tokens, one line, at most 200 characters."""
    line = " ".join(protocol_safe(text).split())
    return line if len(line) <= 200 else line[:199] + "…"


# --- the turn's answer when it stops at a question ----------------------------------------------


def pending_question(interrupts: Sequence[Any]) -> dict[str, str] | None:
    """The question a session waits on, from its interrupts (``StateSnapshot.interrupts``)."""
    for item in interrupts or ():
        value = getattr(item, "value", None)
        if isinstance(value, dict) and value.get("question"):
            return {"question": str(value["question"]), "why": str(value.get("why") or "")}
    return None


def question_answer(values: Mapping[str, Any], asked: Mapping[str, str]) -> Answer:
    """The Answer record of a turn that stopped at a question: the question, no differential."""
    mode = str(values.get("mode") or "clinical")
    return Answer(
        text=asked["question"],
        produced_by="question",
        mode=mode,
        turn=int(values.get("turn") or 0),
        warnings=list(values.get("notes") or []),
        disclaimer=DISCLAIMERS.get(mode, DISCLAIMERS["clinical"]),
        question={"question": asked["question"], "why": asked.get("why", "")},
    )


__all__ = [
    "ASKED",
    "ASK_CLINICIAN",
    "CLINICIAN_ANSWER",
    "QUESTION",
    "VERIFIER",
    "about_images",
    "asked_this_turn",
    "bound_reached",
    "key_terms",
    "pending_question",
    "question_answer",
    "record_hits",
    "refusal",
    "verifier_question",
]
