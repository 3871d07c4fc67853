"""The sessions API over real HTTP (uvicorn on loopback) with the scripted model."""

from __future__ import annotations

import base64
import io
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.fakes import call
from tests.loopback import ThreadedUvicorn
from tests.server.conftest import KEY_A, KEY_B, KEY_ONE, PASSAGE, make_service


def png_bytes(width: int = 256, height: int = 320) -> bytes:
    rng = np.random.default_rng(0)
    pixels = rng.normal(90, 10, size=(height, width)).clip(0, 255).astype(np.uint8)
    pixels[200:260, 160:220] = 230
    buf = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buf, format="PNG")
    return buf.getvalue()


def data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def sse(text: str) -> list[dict[str, Any]]:
    events = []
    for frame in text.split("\n\n"):
        data = [line[5:].strip() for line in frame.splitlines() if line.startswith("data:")]
        if data:
            events.append(json.loads("\n".join(data)))
    return events


def test_consultation_turns_stream_and_read_back(tmp_path: Path, ehr_path: Path) -> None:
    script = [
        "Checking the guideline.\n" + call("lookup_guideline", topic="chest pain"),
        "Acute coronary syndrome must be excluded; measure troponin [G1].",
        "Repeat troponin at 1-3 hours as the guideline says [G1].",
    ]
    app, model = make_service(tmp_path, script, ehr_path, server_api_keys=[])
    with ThreadedUvicorn(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        made = http.post("/v1/sessions", json={"patient_id": "chest-pain"})
        assert made.status_code == 201
        sid = made.json()["session_id"]
        assert made.json()["patient_id"] == "chest-pain"

        first = http.post(f"/v1/sessions/{sid}/turns", json={"text": "Chest pain. Differential?"})
        assert first.status_code == 200, first.text
        answer = first.json()
        assert answer["text"].endswith("measure troponin [G1].")
        assert "G1" in answer["citations"]
        cited = {r["id"]: r for r in answer["references"]}
        assert cited["G1"]["excerpt"] == PASSAGE
        assert answer["evidence"]["G1"]["kind"] == "guideline"

        streamed = http.post(
            f"/v1/sessions/{sid}/turns",
            json={"text": "When to repeat it?"},
            headers={"Accept": "text/event-stream"},
        )
        assert streamed.headers["content-type"].startswith("text/event-stream")
        events = sse(streamed.text)
        assert events[0] == {"type": "session", "session_id": sid}
        assert events[-1]["type"] == "answer"
        assert events[-1]["text"].startswith("Repeat troponin")

        got = http.get(f"/v1/sessions/{sid}").json()
        assert [t["role"] for t in got["turns"]] == ["user", "assistant"] * 2
        assert got["turns"][2]["text"] == "When to repeat it?"
        assert got["patient_id"] == "chest-pain"
        assert "G1" in got["evidence"]
        assert "G1" in got["answer"]["citations"]
        # The second turn's model call saw the first turn (the session holds the history).
        assert "Chest pain. Differential?" in model.prompt_text()

        assert http.delete(f"/v1/sessions/{sid}").status_code == 204
        gone = http.get(f"/v1/sessions/{sid}")
        assert gone.status_code == 404 and sid in gone.json()["detail"]
        assert "/v1/sessions/{session_id}/turns" in http.get("/openapi.json").json()["paths"]


def test_stream_shows_tool_steps_as_they_happen(tmp_path: Path) -> None:
    script = [
        call("lookup_guideline", topic="chest pain"),
        "Troponin first [G1].",
    ]
    app, _ = make_service(tmp_path, script)
    with ThreadedUvicorn(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        sid = http.post("/v1/sessions", json={}).json()["session_id"]
        with http.stream(
            "POST",
            f"/v1/sessions/{sid}/turns",
            json={"text": "Chest pain?"},
            headers={"Accept": "text/event-stream"},
        ) as res:
            events = sse(res.read().decode())
    kinds = [e["type"] for e in events]
    assert kinds.index("tool_call") < kinds.index("tool_result") < kinds.index("answer")
    call_event = events[kinds.index("tool_call")]
    assert call_event["name"] == "lookup_guideline"
    assert PASSAGE in events[kinds.index("tool_result")]["text"]


def test_images_by_multipart_and_data_url_with_regions(tmp_path: Path) -> None:
    zoom = call("zoom", image_id="I1", box=[0.5, 0.5, 1.0, 1.0])
    script = ["Looking closer.\n" + zoom, "Dense opacity lower right [I1, I2].", "Same image [I3]."]
    app, _ = make_service(tmp_path, script)
    with ThreadedUvicorn(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        sid = http.post("/v1/sessions", json={}).json()["session_id"]
        res = http.post(
            f"/v1/sessions/{sid}/turns",
            data={"text": "Opacity?"},
            files=[("images", ("cxr.png", png_bytes(), "image/png"))],
        )
        assert res.status_code == 200, res.text
        evidence = res.json()["evidence"]
        assert evidence["I2"]["citation"]["parent"] == "I1"
        assert evidence["I2"]["citation"]["source_region_px"] == [128, 160, 256, 320]
        png = http.get(f"/v1/sessions/{sid}/images/I2")
        assert png.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(png.content)).size == (
            evidence["I2"]["citation"]["width"],
            evidence["I2"]["citation"]["height"],
        )
        other = png_bytes(128, 128)
        res = http.post(
            f"/v1/sessions/{sid}/turns", json={"text": "And this?", "images": [data_url(other)]}
        )
        assert res.status_code == 200 and res.json()["citations"] == ["I3"]
        assert http.get(f"/v1/sessions/{sid}/images/G9").status_code == 404


def test_keys_isolate_sessions_and_bind_patients(tmp_path: Path, ehr_path: Path) -> None:
    from tests.server.conftest import keys_entries

    app, _ = make_service(tmp_path, ["An answer."] * 4, ehr_path, server_api_keys=keys_entries())
    with ThreadedUvicorn(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.post("/v1/sessions", json={}).status_code == 401
        assert http.post("/v1/sessions", json={}, headers=auth("wrong")).status_code == 401

        a = http.post("/v1/sessions", json={"patient_id": "sepsis"}, headers=auth(KEY_A))
        sid = a.json()["session_id"]
        assert a.status_code == 201
        # Another key sees nothing of it: 404, the same as a session that does not exist.
        for method, path, body in [
            ("GET", f"/v1/sessions/{sid}", None),
            ("POST", f"/v1/sessions/{sid}/turns", {"text": "hi"}),
            ("DELETE", f"/v1/sessions/{sid}", None),
            ("GET", f"/v1/sessions/{sid}/images/I1", None),
        ]:
            res = http.request(method, path, json=body, headers=auth(KEY_B))
            assert res.status_code == 404, (method, path, res.text)
        assert sid not in json.dumps(http.get("/v1/sessions", headers=auth(KEY_B)).json())
        assert http.get(f"/v1/sessions/{sid}", headers=auth(KEY_A)).status_code == 200

        # Ward B may open pneumonia and sepsis only.
        denied = http.post("/v1/sessions", json={"patient_id": "chest-pain"}, headers=auth(KEY_B))
        assert denied.status_code == 403 and "chest-pain" in denied.json()["detail"]
        listed = {p["id"] for p in http.get("/v1/patients", headers=auth(KEY_B)).json()}
        assert listed == {"pneumonia", "sepsis"}
        unknown = http.post("/v1/sessions", json={"patient_id": "nobody"}, headers=auth(KEY_A))
        assert unknown.status_code == 404

        # A one-patient key binds its patient; a turn naming another is refused, naming both.
        one = http.post("/v1/sessions", json={}, headers=auth(KEY_ONE)).json()
        assert one["patient_id"] == "chest-pain"
        turn = http.post(
            f"/v1/sessions/{one['session_id']}/turns",
            json={"text": "Switch to patient sepsis.", "patient_id": "sepsis"},
            headers=auth(KEY_ONE),
        )
        assert turn.status_code == 409
        assert "chest-pain" in turn.json()["detail"] and "sepsis" in turn.json()["detail"]
        state = http.get(f"/v1/sessions/{one['session_id']}", headers=auth(KEY_ONE)).json()
        assert state["patient_id"] == "chest-pain"


@pytest.mark.parametrize(
    ("kwargs", "status", "words"),
    [
        ({"content": b"{not json"}, 400, "not valid JSON"),
        ({"content": b"[1, 2]"}, 400, "JSON object"),
        ({"json": {"text": 5}}, 422, "text"),
        ({"json": {"text": "hi", "mode": "surgery"}}, 422, "mode"),
        ({"json": {"text": "   "}}, 400, "empty"),
        ({"json": {"text": "x" * 5001}}, 413, "characters"),
        ({"json": {"text": "hi", "images": ["https://example.org/x.png"]}}, 400, "data: URLs"),
        ({"json": {"text": "hi", "images": ["data:image/png;base64,@@@"]}}, 400, "base64"),
        ({"json": {"text": "hi", "images": ["data:text/plain;base64,aGk="]}}, 415, "media type"),
        ({"json": {"text": "hi", "images": [data_url(b"not a picture")]}}, 400, "readable"),
        ({"json": {"text": "hi", "images": [data_url(png_bytes(80, 80))] * 3}}, 413, "at most 2"),
        ({"json": {"text": "hi", "images": [data_url(png_bytes(300, 300))]}}, 413, "pixels"),
        ({"content": b"x" * 300_000}, 413, "over"),
    ],
)
def test_bad_requests_get_clear_4xx(
    tmp_path: Path, kwargs: dict[str, Any], status: int, words: str
) -> None:
    app, _ = make_service(
        tmp_path,
        [],
        server_max_body_bytes=200_000,
        server_max_text_chars=5000,
        server_max_image_pixels=50_000,
        max_images_per_turn=2,
    )
    with ThreadedUvicorn(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        sid = http.post("/v1/sessions", json={}).json()["session_id"]
        headers = {"Content-Type": "application/json"} if "content" in kwargs else {}
        res = http.post(f"/v1/sessions/{sid}/turns", headers=headers, **kwargs)
        assert res.status_code == status, res.text
        assert words in res.json()["error"]["message"]
        # Nothing was written to the session by a refused request.
        assert http.get(f"/v1/sessions/{sid}").json()["turns"] == []
        assert http.post("/v1/sessions/zz!/turns", json={"text": "hi"}).status_code == 404
        assert http.post("/v1/sessions", content=b"{", headers=headers).status_code == 422


def test_one_turn_at_a_time_per_session(tmp_path: Path) -> None:
    def slow(_: Any) -> str:
        time.sleep(0.6)
        return "A slow answer."

    app, _ = make_service(tmp_path, [slow, slow, slow], server_lock_wait_s=0)
    with ThreadedUvicorn(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        sid = http.post("/v1/sessions", json={}).json()["session_id"]
        results: list[httpx.Response] = []

        def ask(text: str) -> None:
            results.append(http.post(f"/v1/sessions/{sid}/turns", json={"text": text}))

        threads = [threading.Thread(target=ask, args=(f"q{i}",)) for i in range(2)]
        for t in threads:
            t.start()
            time.sleep(0.15)
        for t in threads:
            t.join()
        assert sorted(r.status_code for r in results) == [200, 409]
        busy = next(r for r in results if r.status_code == 409).json()["detail"]
        assert "busy with another turn" in busy and "retry" in busy
        turns = http.get(f"/v1/sessions/{sid}").json()["turns"]
        assert [t["role"] for t in turns] == ["user", "assistant"]  # never interleaved


def test_access_log_has_no_identifiers(
    tmp_path: Path, ehr_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = make_service(tmp_path, ["Fine."], ehr_path)
    with (
        caplog.at_level(logging.INFO, logger="lingshu.access"),
        ThreadedUvicorn(app) as server,
        httpx.Client(base_url=server.url, timeout=30) as h,
    ):
        sid = h.post("/v1/sessions", json={"patient_id": "sepsis"}).json()["session_id"]
        h.post(f"/v1/sessions/{sid}/turns?ref=sepsis", json={"text": "hi"})
        h.get(f"/v1/sessions/{sid}")
    lines = [r.getMessage() for r in caplog.records if r.name == "lingshu.access"]
    assert "POST /v1/sessions/{session_id}/turns 200" in "\n".join(lines)
    assert len(lines) >= 3
    for line in lines:
        assert sid not in line and "sepsis" not in line and "127.0.0.1" not in line
