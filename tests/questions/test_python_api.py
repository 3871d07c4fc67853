"""Questions back to the clinician through the Python API: interrupt, resume, bound, record."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.session import InputError, Lingshu, PatientMismatch
from tests.questions.conftest import QUESTION, asking, make_agent


def test_the_turn_stops_at_the_question_and_the_answer_resumes_it(
    tmp_path: Path, ehr_path: Path
) -> None:
    script = [asking(), "No travel: pulmonary embolism is less likely; repeat troponin."]
    agent, model = make_agent(tmp_path, script, ehr_path)
    asked = agent.ask("Chest pain since this morning. What next?", patient_id="chest-pain")
    sid = asked.session_id
    assert asked.question == {
        "question": QUESTION,
        "why": "Travel changes the pre-test odds of PE.",
    }
    assert asked.final.produced_by == "question" and asked.final.text == QUESTION
    assert asked.final.differential is None
    assert agent.pending(sid) == asked.question
    # the question is offered in the prompt as a tool beside the record tools
    assert "ask_clinician" in model.prompt_text(0)

    # a wrong patient or an image on the answering call: a clear error, the question stays
    with pytest.raises(PatientMismatch):
        agent.ask("No.", session_id=sid, patient_id="sepsis")
    with pytest.raises(InputError, match="waits for the answer"):
        agent.ask("No.", session_id=sid, images=[tmp_path / "x.png"])
    assert agent.pending(sid) == asked.question

    done = agent.ask("No, he has not left the country.", session_id=sid)
    assert done.question is None and done.final.produced_by == "model"
    assert done.final.text.startswith("No travel")
    assert agent.pending(sid) is None
    # the model saw its question and the clinician's answer, in that order
    seen = model.prompt_text(1)
    assert seen.index(QUESTION) < seen.index("No, he has not left the country.")
    audit = agent.state(sid)["audit"]
    tools = [e["tool"] for e in audit]
    assert tools.index("ask_clinician") < tools.index("clinician_answer")
    assert audit[tools.index("clinician_answer")]["args"]["text"].startswith("No, he has")
    roles = [(t["role"], t["text"][:12]) for t in agent.turns(sid)]
    assert roles == [
        ("user", "Chest pain s"),
        ("assistant", QUESTION[:12]),
        ("user", "No, he has n"),
        ("assistant", "No travel: p"),
    ]


def test_the_question_survives_a_new_process_and_the_stream_says_question(
    tmp_path: Path, ehr_path: Path
) -> None:
    agent, _ = make_agent(tmp_path, [asking()], ehr_path)
    events = list(agent.stream("Chest pain. What next?", patient_id="chest-pain"))
    kinds = [e["type"] for e in events]
    assert "question" in kinds and kinds[-1] == "answer"
    assert events[kinds.index("question")]["question"] == QUESTION
    sid = events[0]["session_id"]
    assert events[-1]["result"].question["question"] == QUESTION
    del agent

    again, model = make_agent(tmp_path, ["Then the leading cause is ACS."], ehr_path)
    assert again.pending(sid) == {"question": QUESTION, "why": events[-1]["question"]["why"]}

    async def resume() -> str:
        result = await again.aask("No travel.", session_id=sid)
        return result.final.text

    assert asyncio.run(resume()) == "Then the leading cause is ACS."
    assert again.pending(sid) is None
    assert "No travel." in model.prompt_text(0)


def test_a_second_question_in_one_turn_is_refused(tmp_path: Path, ehr_path: Path) -> None:
    second = "Has he had a recent long-haul flight?"
    script = [asking(), asking(second, "flights"), "Answer with what I have: ACS first."]
    agent, model = make_agent(tmp_path, script, ehr_path)
    sid = agent.ask("Chest pain. What next?", patient_id="chest-pain").session_id
    done = agent.ask("No travel.", session_id=sid)
    assert done.question is None
    assert done.final.text == "Answer with what I have: ACS first."
    assert "already asked 1 question" in model.prompt_text(-1)
    assert agent.pending(sid) is None
    # the bound is per turn: the next turn may ask again
    model.script.extend([asking(second, "flights")])
    assert agent.ask("And now?", session_id=sid).question is not None


def test_no_question_is_offered_when_the_bound_is_zero(tmp_path: Path, ehr_path: Path) -> None:
    agent, model = make_agent(tmp_path, ["ACS first."], ehr_path, max_questions_per_turn=0)
    agent.ask("Chest pain. What next?", patient_id="chest-pain")
    assert "ask_clinician" not in model.prompt_text(0)


@pytest.mark.parametrize(
    ("question", "held"),
    [
        ("Is the patient allergic to penicillin?", "Penicillin"),
        ("What was his last troponin?", "hs-Troponin T"),
        ("Is he on aspirin already?", "Aspirin 300 mg"),
    ],
)
def test_a_question_the_record_answers_is_not_asked(
    tmp_path: Path, ehr_path: Path, question: str, held: str
) -> None:
    agent, model = make_agent(tmp_path, [asking(question, "to decide"), "ACS first."], ehr_path)
    result = agent.ask("Chest pain. What next?", patient_id="chest-pain")
    assert result.question is None and agent.pending(result.session_id) is None
    told = model.prompt_text(-1)
    assert "already answers it" in told and held in told
    assert result.final.text == "ACS first."


def test_without_a_record_the_same_question_is_asked(tmp_path: Path) -> None:
    agent: Lingshu
    agent, _ = make_agent(tmp_path, [asking("Is the patient allergic to penicillin?")], None)
    assert agent.ask("Chest pain. What next?").question is not None


def test_a_question_about_what_an_image_shows_is_not_asked(tmp_path: Path) -> None:
    from PIL import Image

    film = tmp_path / "cxr.png"
    Image.new("L", (64, 64), 90).save(film)
    script = [asking("Is there an opacity on the film?", "pneumonia"), "Looking at I1 myself."]
    agent, model = make_agent(tmp_path, script, None)
    result = agent.ask("Cough and fever. What next?", images=[film])
    assert result.question is None and result.final.text == "Looking at I1 myself."
    told = model.prompt_text(-1)
    assert "about what an image shows" in told and "I1:" in told
