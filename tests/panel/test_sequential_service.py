"""Sequential mode through the HTTP service: the sessions API's ``mode`` and the
OpenAI-compatible endpoint's ``X-Lingshu-Mode`` header both run the panel."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from testing.fakes import call
from tests.loopback import ThreadedUvicorn
from tests.panel.cases import price_file
from tests.panel.test_sequential_mode import CHALLENGE
from tests.server.conftest import PASSAGE, make_service

DIFFERENTIAL = json.dumps(
    {
        "summary": "chest pain",
        "red_flags": [],
        "diagnoses": [
            {
                "name": name,
                "icd10": code,
                "likelihood": p,
                "supporting": [{"text": PASSAGE, "evidence": ["G1"]}],
                "against": [],
                "next_steps": [{"action": step, "kind": "test", "why": "", "evidence": ["G1"]}],
            }
            for name, code, p, step in (
                ("NSTEMI", "I21.4", 0.6, "troponin"),
                ("Pulmonary embolism", "I26.99", 0.3, "D-dimer"),
            )
        ],
        "missing": [],
    }
)
TURN = [call("lookup_guideline", topic="chest pain"), f"```json\n{DIFFERENTIAL}\n```", CHALLENGE]


def test_the_sessions_api_and_the_openai_endpoint_run_sequential_mode(tmp_path: Path) -> None:
    # the clinical turn has no challenger: two model calls, not three
    app, _ = make_service(
        tmp_path, [*TURN, *TURN[:2], *TURN], server_api_keys=[], price_table=price_file(tmp_path)
    )
    with ThreadedUvicorn(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        made = http.post("/v1/sessions", json={"mode": "sequential"})
        assert made.status_code == 201 and made.json()["mode"] == "sequential"
        sid = made.json()["session_id"]
        answer = http.post(f"/v1/sessions/{sid}/turns", json={"text": "Chest pain?"}).json()
        assert [h["name"] for h in answer["hypotheses"]] == ["NSTEMI", "Pulmonary embolism"]
        assert answer["costs"]["proposed"]["price_usd"] == answer["next_action"]["price_usd"]
        assert set(answer["panel"]) >= {"keeper", "chooser", "challenger", "checklist"}

        plain = http.post(f"/v1/sessions/{sid}/turns", json={"text": "Again?", "mode": "clinical"})
        assert plain.json()["hypotheses"] == [] and plain.json()["costs"] is None

        bad = http.post("/v1/sessions", json={"mode": "sequentail"})
        assert bad.status_code == 422

        chat = http.post(
            "/v1/chat/completions",
            json={"model": "lingshu", "messages": [{"role": "user", "content": "Chest pain?"}]},
            headers={"X-Lingshu-Mode": "sequential"},
        )
        assert chat.status_code == 200, chat.text
        text = chat.json()["choices"][0]["message"]["content"]
        assert "## Panel (turn 1)" in text and "Tests so far: $0.00; proposed next:" in text
        assert "| NSTEMI | I21.4 | 0.60 | new at turn 1 |" in text
