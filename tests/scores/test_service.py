"""The HTTP service's agent has the score and phenotype tools (its default: ALL_TOOLS)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from agent.resources import Resources
from agent.server.app import create_app
from agent.session import Lingshu
from agent.settings import Settings
from knowledge.imaging import ImageStore
from tests.fakes import ScriptedChatModel, call
from tests.loopback import ThreadedUvicorn


def test_service_computes_a_cited_score_from_the_record(tmp_path: Path, score_store: Any) -> None:
    script = [
        call("calculate", calculator="CURB-65", reported={"confusion": False}),
        lambda messages: "CURB-65 is 4, high risk: admit [G1].",
    ]
    settings = Settings(data_dir=tmp_path / "data", server_api_keys=[])
    resources = Resources(images=ImageStore(settings.images_path), ehr=score_store)
    model = ScriptedChatModel(script=script)
    agent = Lingshu(settings, model=model, resources=resources)  # default tools
    app = create_app(settings, agent=agent)
    with ThreadedUvicorn(app) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        sid = http.post("/v1/sessions", json={"patient_id": "score-pneumonia"}).json()
        turn = http.post(
            f"/v1/sessions/{sid['session_id']}/turns",
            json={"text": "How severe is this pneumonia? He is not confused."},
        )
        assert turn.status_code == 200, turn.text
        answer = turn.json()
    refs = {r["id"]: r for r in answer["references"]}
    assert refs["G1"]["citation"]["doi"] == "10.1136/thorax.58.5.377"
    assert refs["G1"]["citation"]["computed_score"] == "curb65"
    tool_result = model.prompts[1][-1].text
    assert "CURB-65 = 4 [G1]" in tool_result and "(reported, not recorded)" in tool_result
    assert '"name": "calculate"' in model.prompts[0][0].text
