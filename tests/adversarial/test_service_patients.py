"""Class 1, wrong patient: everywhere a session and a patient meet, on every face of the
service (sessions API plain and SSE, the OpenAI endpoint by ``user``, by
``X-Lingshu-Session`` and by resent history, plain and streamed) and the Python API, a
request that names another patient than the session's is a 409 that names both ids, and
the session keeps its patient and its turns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from agent.session import PatientMismatch
from tests.loopback import ThreadedUvicorn
from tests.server.conftest import KEY_A, ehr_path, keys_entries, make_service
from tests.server.test_api import auth

__all__ = ["ehr_path"]  # the fixture, shared with the service tests


def _refused(exc: openai.APIStatusError, sid: str) -> None:
    assert exc.status_code == 409
    text = exc.message
    assert "chest-pain" in text and "sepsis" in text and sid in text, text


def test_every_face_refuses_another_patient_for_a_session(tmp_path: Path, ehr_path: Path) -> None:
    script = ["Chest pain: troponin first."] * 6
    app, model = make_service(tmp_path, script, ehr_path, server_api_keys=keys_entries())
    with (
        ThreadedUvicorn(app) as server,
        httpx.Client(base_url=server.url, timeout=30, headers=auth(KEY_A)) as http,
    ):
        client = openai.OpenAI(base_url=server.url + "/v1", api_key=KEY_A, max_retries=0)
        first = client.chat.completions.with_raw_response.create(
            model="lingshu",
            messages=[{"role": "user", "content": "Chest pain. What first?"}],
            user="ward-chatbot-7",
            extra_headers={"X-Lingshu-Patient": "chest-pain"},
        )
        sid = first.headers["x-lingshu-session"]
        septic = [{"role": "user", "content": "Differential for this septic patient?"}]
        cases: list[dict[str, Any]] = [
            {"user": "ward-chatbot-7", "extra_headers": {"X-Lingshu-Patient": "sepsis"}},
            {"extra_headers": {"X-Lingshu-Session": sid, "X-Lingshu-Patient": "sepsis"}},
        ]
        for kwargs in cases:
            for stream in (False, True):
                with pytest.raises(openai.APIStatusError) as caught:
                    client.chat.completions.create(
                        model="lingshu", messages=septic, stream=stream, **kwargs
                    )
                _refused(caught.value, sid)
                assert "septic" not in model.prompt_text()

        # Resending the conversation (no session named) with another patient: same answer.
        history = [
            {"role": "user", "content": "Chest pain. What first?"},
            {"role": "assistant", "content": first.parse().choices[0].message.content},
            *septic,
        ]
        with pytest.raises(openai.APIStatusError) as caught:
            client.chat.completions.create(
                model="lingshu", messages=history, extra_headers={"X-Lingshu-Patient": "sepsis"}
            )
        _refused(caught.value, sid)

        # The sessions API: in the body or the header, plain or SSE.
        turns = f"/v1/sessions/{sid}/turns"
        for body, headers in [
            ({"text": "Septic now?", "patient_id": "sepsis"}, {}),
            ({"text": "Septic now?"}, {"X-Lingshu-Patient": "sepsis"}),
            (
                {"text": "Septic now?"},
                {"X-Lingshu-Patient": "sepsis", "Accept": "text/event-stream"},
            ),
        ]:
            res = http.post(turns, json=body, headers=headers)
            assert res.status_code == 409, res.text
            assert {"chest-pain", "sepsis", sid} <= set(
                res.json()["detail"].replace(",", " ").split()
            )
        # Reading, an image of, or deleting the session while naming another patient.
        other = {"X-Lingshu-Patient": "sepsis"}
        for method, path in [
            ("GET", f"/v1/sessions/{sid}"),
            ("GET", f"/v1/sessions/{sid}/images/I1"),
            ("DELETE", f"/v1/sessions/{sid}"),
            ("POST", f"/v1/sessions/{sid}/answer"),
        ]:
            body = {"text": "No."} if path.endswith("/answer") else None
            res = http.request(method, path, headers=other, json=body)
            assert res.status_code == 409 and "sepsis" in res.json()["detail"], res.text
        same = http.post(turns, json={"text": "Still chest pain?", "patient_id": "chest-pain"})
        assert same.status_code == 200, same.text

        state = http.get(f"/v1/sessions/{sid}").json()
        assert state["patient_id"] == "chest-pain"
        asked = [t["text"] for t in state["turns"] if t["role"] == "user"]
        assert asked == ["Chest pain. What first?", "Still chest pain?"]
        assert "septic" not in model.prompt_text().lower()

        # The Python API refuses the same with its typed error (the service's 409).
        agent = app.state.service.agent
        with pytest.raises(PatientMismatch, match=r"chest-pain.*sepsis"):
            agent.ask("Septic?", session_id=sid, patient_id="sepsis")
