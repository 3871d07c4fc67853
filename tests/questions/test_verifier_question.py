"""The verifier's question: when nothing supports the leading diagnosis and the repairs are
spent, the turn asks the clinician one question built from the differential."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.questions.conftest import asking, make_agent


def unsupported(missing: list[str], steps: list[dict[str, Any]] | None = None) -> str:
    """A reply whose leading diagnosis cites nothing (a support problem the verifier names)."""
    differential = {
        "summary": "Chest pain, cause unclear.",
        "diagnoses": [
            {
                "name": "Pulmonary embolism",
                "likelihood": 0.6,
                "supporting": [{"text": "pleuritic pain", "evidence": []}],
                "next_steps": steps or [],
            },
            {"name": "Musculoskeletal pain", "likelihood": 0.2},
        ],
        "missing": missing,
    }
    return f"PE leads.\n```json\n{json.dumps(differential)}\n```"


def test_an_unsupported_leader_stops_at_a_question_and_the_answer_resumes(
    tmp_path: Path, ehr_path: Path
) -> None:
    script = [unsupported(["family history of venous thromboembolism"]), "No VTE: ACS leads."]
    agent, model = make_agent(tmp_path, script, ehr_path, max_repairs=0)
    asked = agent.ask("Chest pain. What next?", patient_id="chest-pain")
    assert asked.question is not None
    assert "family history of venous thromboembolism" in asked.question["question"]
    assert "Pulmonary embolism" in asked.question["why"]
    assert asked.final.produced_by == "question"
    sid = asked.session_id
    assert agent.pending(sid) == asked.question
    done = agent.ask("No family history of clots.", session_id=sid)
    assert done.question is None and done.final.text == "No VTE: ACS leads."
    seen = model.prompt_text(1)  # the model saw the question, then the clinician's answer
    assert seen.index("family history of venous") < seen.index("No family history of clots.")
    entry = next(e for e in agent.state(sid)["audit"] if e["tool"] == "ask_clinician")
    assert entry["args"]["by"] == "verifier"
    roles = [t["role"] for t in agent.turns(sid)]
    assert roles == ["user", "assistant", "user", "assistant"]  # the rejected reply is not shown


def test_the_question_comes_only_after_the_repairs(tmp_path: Path, ehr_path: Path) -> None:
    bad = unsupported(["family history of venous thromboembolism"])
    agent, model = make_agent(tmp_path, [bad, bad], ehr_path, max_repairs=1)
    asked = agent.ask("Chest pain. What next?", patient_id="chest-pain")
    assert asked.question is not None
    assert len(model.prompts) == 2  # one repair first
    assert "has no supporting finding" in model.prompt_text(1)


def test_what_the_record_answers_is_skipped_for_the_next_candidate(
    tmp_path: Path, ehr_path: Path
) -> None:
    # the ED note says "no recent travel or surgery"; the record holds the troponin
    steps = [{"action": "D-dimer", "kind": "test"}]
    reply = unsupported(["recent travel or immobilisation", "troponin"], steps)
    agent, _ = make_agent(tmp_path, [reply], ehr_path, max_repairs=0)
    asked = agent.ask("Chest pain. What next?", patient_id="chest-pain")
    assert asked.question is not None
    assert asked.question["question"] == "Has this been done, and what did it show: D-dimer?"


def test_no_question_when_the_record_answers_every_candidate(
    tmp_path: Path, ehr_path: Path
) -> None:
    reply = unsupported(["troponin", "penicillin allergy"])
    agent, _ = make_agent(tmp_path, [reply], ehr_path, max_repairs=0)
    result = agent.ask("Chest pain. What next?", patient_id="chest-pain")
    assert result.question is None and result.final.produced_by == "model"
    assert any("has no supporting finding" in w for w in result.final.warnings)


def test_no_question_about_what_the_images_show(tmp_path: Path) -> None:
    from PIL import Image

    film = tmp_path / "cxr.png"
    Image.new("L", (64, 64), 90).save(film)
    agent, _ = make_agent(tmp_path, [unsupported(["opacity on the film"])], None, max_repairs=0)
    result = agent.ask("Cough. What next?", images=[film])
    assert result.question is None and result.final.produced_by == "model"


def test_bounded_by_the_questions_of_the_turn(tmp_path: Path, ehr_path: Path) -> None:
    bad = unsupported(["family history of venous thromboembolism"])
    agent, _ = make_agent(tmp_path, [bad], ehr_path, max_repairs=0, max_questions_per_turn=0)
    assert agent.ask("Chest pain.", patient_id="chest-pain").question is None
    # the model's own question spends the turn's one question; the verifier asks no second
    agent, _ = make_agent(tmp_path / "b", [asking(), bad], ehr_path, max_repairs=0)
    sid = agent.ask("Chest pain.", patient_id="chest-pain").session_id
    done = agent.ask("No travel.", session_id=sid)
    assert done.question is None and done.final.produced_by == "model"
    assert any("has no supporting finding" in w for w in done.final.warnings)


def test_a_supported_leader_is_answered_without_a_question(tmp_path: Path, ehr_path: Path) -> None:
    agent, _ = make_agent(tmp_path, ["ACS leads; repeat troponin."], ehr_path, max_repairs=0)
    result = agent.ask("Chest pain.", patient_id="chest-pain")
    assert result.question is None and result.final.text == "ACS leads; repeat troponin."


def _leader_after_checks(leader_claim: str) -> str | None:
    from agent.verification import unsupported_leader, verify_reply
    from tests.split.test_finding_claims import evidence

    differential = {
        "summary": "Cough and a right lower zone opacity.",
        "diagnoses": [
            {"name": "Pneumonia", "likelihood": 0.3, "supporting": []},
            {
                "name": "Lung nodule",
                "likelihood": 0.5,  # the leader is the most likely, not the first listed
                "supporting": [{"text": leader_claim, "evidence": ["F1", "I1"]}],
            },
            {
                "name": "Atelectasis",
                "likelihood": 0.1,
                "supporting": [{"text": "volume loss", "evidence": []}],
            },
        ],
    }
    verdict = verify_reply(f"```json\n{json.dumps(differential)}\n```", evidence())
    found = unsupported_leader(verdict)
    return found.name if found else None


def test_a_leader_whose_only_support_is_a_mismatch_is_unsupported() -> None:
    # Lingshu said 12 mm: a 20 mm claim is a mismatch, so nothing supports the leader
    assert _leader_after_checks("A 20 mm rounded opacity in the right lower zone") == "Lung nodule"
    # the claim Lingshu's words hold supports it; the others' support does not matter
    assert _leader_after_checks("A rounded opacity in the right lower zone") is None


def test_the_service_path_asks_the_same_question(tmp_path: Path, ehr_path: Path) -> None:
    import asyncio

    reply = unsupported(["family history of venous thromboembolism"])
    agent, _ = make_agent(tmp_path, [reply, "No VTE: ACS leads."], ehr_path, max_repairs=0)

    async def turns() -> tuple[Any, Any]:
        asked = await agent.aask("Chest pain. What next?", patient_id="chest-pain")
        done = await agent.aask("No family history.", session_id=asked.session_id)
        return asked, done

    asked, done = asyncio.run(turns())
    assert "family history of venous thromboembolism" in asked.question["question"]
    assert done.question is None and done.final.text == "No VTE: ACS leads."
