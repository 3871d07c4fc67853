"""A consultation on the synthetic rare-disease patient: the real graph, the real tools and
store, a scripted model. The tool's candidate reaches the cited, verified differential."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage

from agent.resources import Resources
from agent.session import Lingshu
from agent.settings import Settings
from knowledge.imaging import ImageStore
from tests.fakes import ScriptedChatModel, call
from tests.phenotypes.records import PID
from tools import ALL_TOOLS


def _answer(messages: list[BaseMessage]) -> str:
    """The model's final reply, citing the ids the tool gave it."""
    result = "\n".join(m.text for m in messages)
    fabry = re.search(r"Fabry disease \((OMIM:\d+|ORPHA:\d+)[^\]]*\[(G\d+)\]", result)
    letter = re.search(r"Paresthesia \(HP:0003401\) from '[^']*' \[(E\d+)\]", result)
    assert fabry and letter, result
    differential = {
        "summary": "Multi-system picture most consistent with Fabry disease.",
        "diagnoses": [
            {
                "name": "Fabry disease",
                "icd10": "E75.21",
                "disease_id": "omim:301500",
                "likelihood": 0.6,
                "supporting": [
                    {
                        "text": "Fabry disease explains the paresthesia, hypohidrosis, "
                        "angiokeratoma, corneal opacity and proteinuria",
                        "evidence": [fabry.group(2), letter.group(1)],
                    }
                ],
                "next_steps": [
                    {
                        "action": "Alpha-galactosidase A activity and GLA sequencing",
                        "kind": "test",
                        "evidence": [fabry.group(2)],
                    }
                ],
            }
        ],
    }
    return "```json\n" + json.dumps(differential) + "\n```"


def _agent(tmp_path: Path, store: Any, script: list[Any]) -> tuple[Lingshu, ScriptedChatModel]:
    settings = Settings(data_dir=tmp_path / "data")
    resources = Resources(images=ImageStore(tmp_path / "images"), ehr=store)
    model = ScriptedChatModel(script=script)
    return Lingshu(settings, model=model, tools=ALL_TOOLS, resources=resources), model


def test_candidates_reach_the_cited_verified_differential(tmp_path: Path, rare_store: Any) -> None:
    agent, model = _agent(
        tmp_path, rare_store, [call("phenotype_differential", findings=""), _answer]
    )
    result = agent.ask(
        "Burning pain in his hands, kidney disease and skin spots: could this be a rare disease?",
        patient_id=PID,
    )
    answer = result.answer
    assert answer["produced_by"] == "model", answer
    (dx,) = answer["differential"]["diagnoses"]
    assert dx["disease_id"] == "OMIM:301500" and dx["icd10"] == "E75.21"
    cited = dx["supporting"][0]["evidence"]
    by_id = {r["id"]: r for r in answer["references"]}
    candidate = by_id[cited[0]]
    assert candidate["kind"] == "guideline"
    assert "Fabry disease" in candidate["label"]
    assert by_id[cited[1]]["kind"] == "ehr"
    assert not [w for w in answer["warnings"] if "not" in w and cited[0] in w]
    # every face shows the disease id beside the ICD-10-CM code, and the candidate's source
    assert "E75.21, OMIM:301500" in result.markdown()
    assert "<code>OMIM:301500</code>" in result.html()
    assert "omim.org/entry/" in result.markdown() or "orpha.net" in result.markdown()
    # the tool was offered because the clinician asked about a rare disease
    assert '"name": "phenotype_differential"' in model.prompts[0][0].text


def test_not_offered_for_an_ordinary_question(tmp_path: Path, rare_store: Any) -> None:
    agent, model = _agent(tmp_path, rare_store, ["Blood pressure is fine."])
    agent.ask("How is his blood pressure?", patient_id=PID)
    system = model.prompts[0][0].text
    assert '"name": "phenotype_differential"' not in system
    assert '"name": "calculate"' in system


def test_unknown_disease_id_is_sent_back_for_repair(tmp_path: Path, rare_store: Any) -> None:
    def wrong(messages: list[BaseMessage]) -> str:
        return _answer(messages).replace("omim:301500", "OMIM:999999")

    agent, model = _agent(
        tmp_path, rare_store, [call("phenotype_differential", findings=""), wrong, _answer]
    )
    result = agent.ask("Could this be a rare genetic disease?", patient_id=PID)
    assert "OMIM:999999" in model.prompts[2][-1].text  # the repair names it
    assert result.answer["differential"]["diagnoses"][0]["disease_id"] == "OMIM:301500"
