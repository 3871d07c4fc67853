"""Class 7, request side, through the real service on loopback: hostile bodies are a 4xx
with the reason, never a 500; a misbehaving model ends the turn in the evidence brief with
the model's error named, on every face of the service, and the session goes on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from agent.server import create_app
from agent.server.guards import lone_surrogate, too_deep
from agent.settings import Settings
from tests.loopback import ThreadedUvicorn
from tests.models.faulty_server import faulty
from tests.server.conftest import make_service
from tests.server.test_api import sse

DEEP = 100_000


def _deep(depth: int, inner: str = '"x"') -> bytes:
    return ("[" * depth + inner + "]" * depth).encode()


def _routes(sid: str) -> list[tuple[str, bytes]]:
    deep = _deep(DEEP)
    return [
        ("/v1/sessions", b'{"patient_id": ' + deep + b"}"),
        (f"/v1/sessions/{sid}/turns", b'{"text": "hi", "images": ' + deep + b"}"),
        ("/v1/chat/completions", b'{"messages": ' + deep + b"}"),
        ("/v1/chat/completions", deep),
        (f"/v1/sessions/{sid}/turns", _deep(DEEP, "{}").replace(b"[", b'{"a":', 1)),
        (f"/v1/sessions/{sid}/answer", b'{"text": ' + deep + b"}"),
    ]


def test_deep_json_and_lone_surrogates_are_a_400_on_every_route(tmp_path: Path) -> None:
    app, _ = make_service(tmp_path, ["An answer [G1]."] * 8)
    with ThreadedUvicorn(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        sid = http.post("/v1/sessions", json={}).json()["session_id"]
        for path, body in _routes(sid):
            res = http.post(path, content=body, headers={"Content-Type": "application/json"})
            assert res.status_code == 400, (path, res.status_code, res.text[:200])
            assert "nested deeper than 64 levels" in res.json()["detail"]
        surrogate_bodies = [
            rb'{"text": "chest pain \ud800 now"}',
            rb'{"text": "low half alone \udc00"}',
            rb'{"text": "high then text \ud83d x"}',
            b'{"text": "raw bytes \xed\xa0\x80"}',
        ]
        for body in surrogate_bodies:
            res = http.post(
                f"/v1/sessions/{sid}/answer",
                content=body,
                headers={"Content-Type": "application/json"},
            )
            assert res.status_code == 400, (body, res.status_code, res.text[:200])
            for headers in ({}, {"Accept": "text/event-stream"}):
                res = http.post(
                    f"/v1/sessions/{sid}/turns",
                    content=body,
                    headers={"Content-Type": "application/json", **headers},
                )
                assert res.status_code == 400, (body, headers, res.text)
                assert "surrogate" in res.json()["detail"]
            chat = (
                json.dumps({"messages": [{"role": "user", "content": "x"}]})
                .encode()
                .replace(b'"x"', body[9:-1])
            )
            res = http.post("/v1/chat/completions", content=chat)
            assert res.status_code == 400 and "surrogate" in res.json()["detail"], res.text
        # A valid pair (an emoji sent as \ud83d\ude00) and an escaped backslash are text.
        fine = rb'{"text": "pain score \ud83d\ude00 and a literal \\ud800"}'
        streamed = http.post(
            f"/v1/sessions/{sid}/turns",
            content=fine,
            headers={"Content-Type": "application/json", "Accept": "text/event-stream"},
        )
        assert streamed.status_code == 200
        assert sse(streamed.text)[-1]["type"] == "answer"
        # The session took none of the refused turns, and goes on.
        turns = http.get(f"/v1/sessions/{sid}").json()["turns"]
        assert [t["text"] for t in turns if t["role"] == "user"] == [
            "pain score \U0001f600 and a literal \\ud800"
        ]
        # Moderately nested but legal JSON still passes (64 levels are allowed).
        legal = http.post(
            "/v1/sessions",
            content=b'{"patient_id": null, "x": ' + _deep(60) + b"}",
            headers={"Content-Type": "application/json"},
        )
        assert legal.status_code == 201, legal.text


def test_body_size_and_multipart_text_are_bounded(tmp_path: Path) -> None:
    app, _ = make_service(tmp_path, ["ok"], server_max_body_bytes=4096)
    with ThreadedUvicorn(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        sid = http.post("/v1/sessions", json={}).json()["session_id"]
        big = http.post(f"/v1/sessions/{sid}/turns", json={"text": "x" * 10_000})
        assert big.status_code == 413 and "4,096 bytes" in big.json()["detail"]

        def chunks() -> Any:  # no Content-Length: the limit holds while the body streams in
            for _ in range(10):
                yield b'{"text": "' + b"y" * 1000

        streamed = http.post(f"/v1/sessions/{sid}/turns", content=chunks())
        assert streamed.status_code == 413
        bad_utf8 = http.post(
            f"/v1/sessions/{sid}/turns",
            files={"text": (None, b"chest \xed\xa0\x80 pain")},
        )
        # Handled: the form's bytes are decoded with replacement, never stored as a surrogate.
        assert bad_utf8.status_code == 200, bad_utf8.text
        turns = http.get(f"/v1/sessions/{sid}").json()["turns"]
        assert turns[0]["text"].startswith("chest ") and "\ud800" not in turns[0]["text"]


def test_guards_decide_exactly() -> None:
    assert not too_deep(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', 4)
    assert too_deep(b'{"a": [[[[1]]]]}', 4) and not too_deep(b'{"a": [[[1]]]}', 4)
    assert not too_deep(_deep(64), 64) and too_deep(_deep(65), 64)
    assert lone_surrogate(rb'"\ud800"') and lone_surrogate(rb'"\udfff"')
    assert lone_surrogate(rb'"\ud800\ud800"') and lone_surrogate(rb'"\ud800 \udc00"')
    assert not lone_surrogate(rb'"\ud800\udc00"') and not lone_surrogate(rb'"\\ud800"')
    assert lone_surrogate(rb'"\\\ud800"') and not lone_surrogate(rb'"\u00e9 \u4e2d"')


def _service_over(server: Any, tmp_path: Path) -> Any:
    settings = Settings(
        base_url=server.base_url,
        data_dir=tmp_path / "data",
        connect_retries=0,
        request_timeout_s=30.0,
        server_api_keys=[],
    )
    return create_app(settings)


@pytest.mark.parametrize(
    ("fault", "face"),
    [
        ("non_json", "turn"),
        ("empty_choices", "sse"),
        ("non_json", "openai"),
        ("stream_null_content", "openai_stream"),
    ],
)
def test_a_misbehaving_model_gives_the_brief_through_the_service(
    fault: str, face: str, tmp_path: Path
) -> None:
    with faulty([fault, "ok"], answer="Back to normal.") as model:
        app = _service_over(model, tmp_path)
        with ThreadedUvicorn(app) as server, httpx.Client(base_url=server.url, timeout=60) as http:
            sid = http.post("/v1/sessions", json={}).json()["session_id"]
            first = _ask(http, server.url, face, sid, "Fever and cough. Differential?")
            assert first["produced_by"] == "evidence_brief", first
            assert first["model_error"].startswith("model_bad_reply"), first["model_error"]
            second = _ask(http, server.url, face, sid, "And now?")
            assert second["produced_by"] == "model" and "Back to normal." in second["text"]
            turns = http.get(f"/v1/sessions/{sid}").json()["turns"]
            assert [t["role"] for t in turns] == ["user", "assistant"] * 2


def _ask(http: httpx.Client, url: str, face: str, sid: str, text: str) -> dict[str, Any]:
    if face == "turn":
        res = http.post(f"/v1/sessions/{sid}/turns", json={"text": text})
        assert res.status_code == 200, res.text
        return dict(res.json())
    if face == "sse":
        res = http.post(
            f"/v1/sessions/{sid}/turns",
            json={"text": text},
            headers={"Accept": "text/event-stream"},
        )
        assert res.status_code == 200, res.text
        events = sse(res.text)
        assert events[-1]["type"] == "answer", events[-1]
        return events[-1]
    client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
    headers = {"X-Lingshu-Session": sid}
    messages: list[Any] = [{"role": "user", "content": text}]
    if face == "openai":
        reply = client.chat.completions.create(
            model="lingshu", messages=messages, extra_headers=headers
        )
        extra = (reply.model_extra or {})["lingshu"]
        content = reply.choices[0].message.content or ""
    else:
        stream = client.chat.completions.create(
            model="lingshu", messages=messages, extra_headers=headers, stream=True
        )
        chunks = list(stream)
        content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        extra = next(
            c.model_extra["lingshu"] for c in chunks if (c.model_extra or {}).get("lingshu")
        )
    state = http.get(f"/v1/sessions/{sid}").json()["answer"]
    assert extra["produced_by"] == state["produced_by"]
    return {
        "produced_by": state["produced_by"],
        "model_error": state.get("model_error") or "",
        "text": content,
    }
