"""Questions back to the clinician over real HTTP: the sessions API (JSON and SSE, the
answer endpoint) and the OpenAI-compatible endpoint through the official client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import openai

from testing.loopback import ThreadedUvicorn
from tests.questions.conftest import QUESTION, asking
from tests.server.conftest import KEY_A, KEY_B, keys_entries, make_service


def sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) of each server-sent event."""
    out = []
    for frame in text.split("\n\n"):
        lines = frame.splitlines()
        name = next((x[6:].strip() for x in lines if x.startswith("event:")), "message")
        data = [x[5:].strip() for x in lines if x.startswith("data:")]
        if data:
            out.append((name, json.loads("\n".join(data))))
    return out


def test_sessions_api_asks_and_the_answer_endpoint_resumes(tmp_path: Path, ehr_path: Path) -> None:
    script = [asking(), "No travel: ACS first [E1].", asking(), "Then PE is unlikely."]
    app, model = make_service(tmp_path, script, ehr_path, server_api_keys=keys_entries())
    a = {"Authorization": f"Bearer {KEY_A}"}
    with ThreadedUvicorn(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        sid = http.post("/v1/sessions", json={"patient_id": "chest-pain"}, headers=a).json()[
            "session_id"
        ]
        # no question yet: the answer endpoint says so
        early = http.post(f"/v1/sessions/{sid}/answer", json={"text": "No."}, headers=a)
        assert early.status_code == 409 and "no question is pending" in early.json()["detail"]

        first = http.post(f"/v1/sessions/{sid}/turns", json={"text": "Chest pain?"}, headers=a)
        assert first.status_code == 200, first.text
        body = first.json()
        assert body["question"]["question"] == QUESTION and body["produced_by"] == "question"
        assert body["differential"] is None
        got = http.get(f"/v1/sessions/{sid}", headers=a).json()
        assert got["question"]["question"] == QUESTION
        # another key cannot answer it; an empty answer is refused; the question stays
        other = {"Authorization": f"Bearer {KEY_B}"}
        assert http.post(f"/v1/sessions/{sid}/answer", json={"text": "x"}, headers=other).is_error
        assert http.post(f"/v1/sessions/{sid}/answer", json={"text": ""}, headers=a).is_error

        done = http.post(f"/v1/sessions/{sid}/answer", json={"text": "No travel."}, headers=a)
        assert done.status_code == 200, done.text
        assert done.json()["text"].startswith("No travel: ACS first")
        assert "question" not in done.json()
        assert http.get(f"/v1/sessions/{sid}", headers=a).json()["question"] is None

        # SSE: the turn's stream names the question; the answer resumes as a stream too
        stream = {**a, "Accept": "text/event-stream"}
        asked = sse(
            http.post(f"/v1/sessions/{sid}/turns", json={"text": "Go on"}, headers=stream).text
        )
        names = [n for n, _ in asked]
        assert "question" in names and dict(asked)["question"]["question"] == QUESTION
        resumed = sse(
            http.post(f"/v1/sessions/{sid}/answer", json={"text": "None."}, headers=stream).text
        )
        assert resumed[-1][0] == "answer" and resumed[-1][1]["text"] == "Then PE is unlikely."
        assert "None." in model.prompt_text(-1)

        paths = http.get("/openapi.json").json()["paths"]
        assert "409" in paths["/v1/sessions/{session_id}/answer"]["post"]["responses"]


def test_openai_endpoint_asks_and_the_next_user_message_resumes(
    tmp_path: Path, ehr_path: Path
) -> None:
    script = [asking(), "No travel, so ACS first.", asking(), "Understood: ACS first."]
    app, model = make_service(tmp_path, script, ehr_path, server_api_keys=keys_entries())
    with ThreadedUvicorn(app) as server:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key=KEY_A, max_retries=0)
        opening = [{"role": "user", "content": "Chest pain, what first?"}]
        first = client.chat.completions.create(model="lingshu", messages=opening)  # type: ignore[arg-type]
        choice = first.choices[0]
        assert choice.finish_reason == "stop" and QUESTION in (choice.message.content or "")
        # the chatbot resends the conversation with the clinician's reply: it resumes
        history = [*opening, {"role": "assistant", "content": choice.message.content}]
        second = client.chat.completions.create(
            model="lingshu",
            messages=[*history, {"role": "user", "content": "He has not travelled."}],  # type: ignore[list-item]
        )
        assert "No travel, so ACS first." in (second.choices[0].message.content or "")
        assert "He has not travelled." in model.prompt_text(-1)
        sid = (second.model_extra or {})["lingshu"]["session_id"]
        assert (first.model_extra or {})["lingshu"]["session_id"] == sid

        # by the session header, streamed: the question, then the answer resumes
        head = {"X-Lingshu-Session": sid}
        pieces = client.chat.completions.create(
            model="lingshu",
            messages=[{"role": "user", "content": "Anything else?"}],
            stream=True,
            extra_headers=head,
        )
        assert QUESTION in "".join(c.choices[0].delta.content or "" for c in pieces if c.choices)
        last = client.chat.completions.create(
            model="lingshu",
            messages=[{"role": "user", "content": "No."}],
            extra_headers=head,
        )
        assert last.choices[0].message.content.startswith("Understood: ACS first.")  # type: ignore[union-attr]
