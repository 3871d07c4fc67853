"""A model server that misbehaves: every fault ends the turn in the evidence brief, naming it.

Through the real graph, the real SQLite session store and a real loopback HTTP server
(tests/models/faulty_server.py), on each face a user has: ``ask`` (CLI, Python API),
``aask`` (the service's plain turns, over the aiohttp lane) and ``stream`` (the SSE
turns, where the model's reply is streamed). After the fault, the same session answers
the next turn from a model that works again: one bad reply never corrupts a session.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import openai
import pytest

from agent.session import Lingshu, TurnResult
from agent.settings import Settings
from tests.models.faulty_server import FaultyModelServer, faulty

BAD_REPLIES = {
    "non_json": "model_bad_reply: the model server's reply is not JSON",
    "empty_choices": "model_bad_reply: the model server's reply has an empty choices list",
    "no_choices": "model_bad_reply: the model server's reply has no choices",
    "null_message": "model_bad_reply: the model server's reply has a choice without a message",
    "stream_null_content": "model_bad_reply: the model sent an empty reply",
    "cut_body": "model_bad_reply: the model server's reply was cut off mid-body",
    "not_http": "model_bad_reply: the model server did not answer in HTTP",
    "stream_garbage": "model_bad_reply: the model server's reply is not JSON",
    "status_500": "model_http_error: the model server refused the request (HTTP 500",
}
# A streamed request gets a stream; these faults have no stream of their own to send.
STREAMED = {
    "non_json": "model_bad_reply: the model server's stream carried no reply",
    "empty_choices": "model_bad_reply: the model server's stream carried no reply",
    "no_choices": "model_bad_reply: the model server's stream carried no reply",
    "null_message": "model_bad_reply: the model server's stream carried no reply",
    "stream_garbage": "model_bad_reply: the model server's stream is not JSON",
}


def _agent(tmp_path: Path, server: FaultyModelServer, **overrides: Any) -> Lingshu:
    values: dict[str, Any] = {
        "base_url": server.base_url,
        "data_dir": tmp_path / "data",
        "connect_retries": 0,
        "request_timeout_s": 30.0,
    }
    return Lingshu(Settings(**(values | overrides)))


def _turn(agent: Lingshu, face: str, text: str, session_id: str | None = None) -> TurnResult:
    if face == "ask":
        return agent.ask(text, session_id=session_id)
    if face == "aask":

        async def run() -> TurnResult:
            try:
                return await agent.aask(text, session_id=session_id)
            finally:
                await agent.deps.model.aclose_loop_client()

        return asyncio.run(run())
    events = list(agent.stream(text, session_id=session_id))
    (answer,) = [e for e in events if e["type"] == "answer"]
    kinds = {e["type"] for e in events}
    assert "error" not in kinds, events
    result: TurnResult = answer["result"]  # the one record the stream's last event carries
    return result


@pytest.mark.parametrize("face", ["ask", "aask", "stream"])
def test_a_bad_reply_gives_the_named_brief_and_the_session_goes_on(
    face: str, tmp_path: Path
) -> None:
    script = [step for fault in BAD_REPLIES for step in (fault, "ok")]
    with faulty(script, answer="Back to normal.") as server:
        agent = _agent(tmp_path, server)
        for fault, expected in BAD_REPLIES.items():
            said = STREAMED.get(fault, expected) if face == "stream" else expected
            first = _turn(agent, face, f"Fever and cough ({fault}). Differential?")
            second = _turn(agent, face, "And now?", session_id=first.session_id)
            assert first.answer["produced_by"] == "evidence_brief", (fault, first.answer)
            assert first.answer["model_error"].startswith(said), (fault, first.answer)
            assert "produced without a reasoning model" in first.answer["text"]
            # The same session answers the next turn; the model sees the first question.
            assert second.answer["produced_by"] == "model", (fault, second.answer)
            assert second.answer["text"] == "Back to normal."
            asked = [m for m in server.requests[-1]["messages"] if m["role"] == "user"]
            assert f"({fault})" in str(asked[0]["content"])
            turns = agent.turns(first.session_id)
            assert [t["role"] for t in turns] == ["user", "assistant", "user", "assistant"]
    assert server.served == script


def test_a_client_library_fault_gives_the_brief_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upgraded dependency that renamed a member the backend uses (AttributeError), or
    changed a signature (TypeError), degrades the turn; it does not crash it."""
    from langchain_openai.chat_models import base

    with faulty(["ok"], answer="Works again.") as server:
        agent = _agent(tmp_path, server)
        for broken in (AttributeError("no attribute '_create_chat_result'"), TypeError("bad")):

            def renamed(self: Any, *args: Any, _error: Exception = broken, **kw: Any) -> Any:
                raise _error

            with monkeypatch.context() as patch:  # the stock path and the SDK post path
                patch.setattr(base.BaseChatOpenAI, "_get_request_payload", renamed)
                patch.setattr(openai.OpenAI, "post", renamed)
                first = agent.ask("Chest pain?")
            kind = type(broken).__name__
            assert first.answer["produced_by"] == "evidence_brief"
            assert first.answer["model_error"].startswith(
                f"model_client_error: the model client failed: {kind}"
            )
        again = agent.ask("Still there?", session_id=first.session_id)
    assert again.answer["text"] == "Works again."


@pytest.mark.parametrize("face", ["ask", "aask", "stream"])
@pytest.mark.parametrize("fault", ["hang", "stall_mid_body", "slow_drip"])
def test_a_hung_model_gives_the_brief_by_the_turn_deadline(
    fault: str, face: str, tmp_path: Path
) -> None:
    """The old client waited two request timeouts (240 s) for a hung server; the turn now
    ends at its deadline, retries included, whatever the server does with the body."""
    with faulty([fault, "ok"], answer="Recovered.") as server:
        agent = _agent(tmp_path, server, turn_deadline_s=1.0, connect_retries=1)
        started = time.monotonic()
        first = _turn(agent, face, "Sudden headache. Differential?")
        took = time.monotonic() - started
        second = _turn(agent, face, "Next?", session_id=first.session_id)
    assert first.answer["produced_by"] == "evidence_brief"
    assert first.answer["model_error"].startswith("model_timeout:"), first.answer
    assert "turn's deadline" in first.answer["model_error"]
    assert took < 20, took  # the request timeout here is 30 s, the old wait 240 s
    assert second.answer["text"] == "Recovered."


@pytest.mark.parametrize("face", ["ask", "aask", "stream"])
@pytest.mark.parametrize("fault", ["huge", "huge_stream"])
def test_a_huge_reply_is_cut_at_the_reply_cap_and_not_stored_whole(
    fault: str, face: str, tmp_path: Path
) -> None:
    with faulty([fault]) as server:
        agent = _agent(tmp_path, server, max_new_tokens=64)  # cap: 64 x 16 = 1,024 chars
        result = _turn(agent, face, "Summarise the case.")
    text = result.answer["text"]
    assert 0 < len(text) <= 1024, len(text)
    assert set(text) <= {"x", "y"}
    assert any("cut at 1,024 characters" in w for w in result.answer["warnings"]), result.answer
    stored = agent.state(result.session_id)["messages"]
    assert max(len(str(m.content)) for m in stored) <= 1024
    assert (tmp_path / "data" / "sessions.sqlite").stat().st_size < 2_000_000


@pytest.mark.parametrize("face", ["ask", "aask", "stream"])
def test_a_refused_connection_names_the_unreachable_model(face: str, tmp_path: Path) -> None:
    from tests.loopback import free_port

    settings = Settings(
        base_url=f"http://127.0.0.1:{free_port()}/v1", data_dir=tmp_path / "data", connect_retries=1
    )
    started = time.monotonic()
    first = _turn(Lingshu(settings), face, "Chest pain?")
    assert first.answer["produced_by"] == "evidence_brief"
    assert first.answer["model_error"].startswith(
        "model_unreachable: cannot connect to the model server"
    ), first.answer["model_error"]
    assert time.monotonic() - started < 20


@pytest.mark.parametrize("stream", [False, True])
def test_the_service_answers_200_with_the_brief_never_500(stream: bool, tmp_path: Path) -> None:
    """Through the real service (uvicorn) and the official openai client: a bad model
    reply is the caller's 200 with the evidence brief, plain or streamed."""
    import openai

    from agent.server import create_app
    from tests.loopback import ThreadedUvicorn

    faults = ["stream_null_content", "non_json", "empty_choices", "cut_body"]
    script = [step for fault in faults for step in (fault, "ok")]
    with faulty(script, answer="Back to normal.") as model:
        settings = Settings(base_url=model.base_url, data_dir=tmp_path / "data", connect_retries=0)
        with ThreadedUvicorn(create_app(settings), lifespan="on") as service:
            client = openai.OpenAI(base_url=service.url + "/v1", api_key="none", max_retries=0)
            for fault in faults:
                for expected in ("model_bad_reply", "Back to normal."):
                    ask = [{"role": "user", "content": f"Chest pain ({fault})?"}]
                    if stream:
                        chunks = client.chat.completions.create(
                            model="lingshu", messages=ask, stream=True
                        )
                        text = "".join(
                            c.choices[0].delta.content or "" for c in chunks if c.choices
                        )
                    else:
                        reply = client.chat.completions.create(model="lingshu", messages=ask)
                        text = reply.choices[0].message.content or ""
                    assert expected in text, (fault, text[:300])
    assert model.served == script


def test_a_slow_stream_past_the_deadline_is_no_longer_read(tmp_path: Path) -> None:
    """An SSE turn whose model streams a word every 0.2 s: at the deadline the turn gives
    the brief, and the abandoned call stops reading (it does not stream on for 20 s)."""
    with faulty(["slow_stream"]) as server:
        agent = _agent(tmp_path, server, turn_deadline_s=1.0)
        events = list(agent.stream("Chest pain?"))
        (answer,) = [e for e in events if e["type"] == "answer"]
        assert answer["produced_by"] == "evidence_brief"
        assert answer["model_error"].startswith("model_timeout:")
        assert server.hung_up.wait(5), "the abandoned call kept reading the stream"
