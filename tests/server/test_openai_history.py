"""Chatbots that resend the whole conversation and name no session, through the official
``openai`` client: the conversation sent is the session's (continued when known, carried
into a new session when not), so the model sees the same context, and gives the same
answer, as for a client that names its session. And ``usage`` is the model's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import openai

from agent.server import create_app
from agent.settings import Settings
from tests.loopback import ThreadedUvicorn
from tests.openai_server import serving
from tests.server.model_server import DelayedModelServer

U1, U2, U3, U4 = (
    "Fever, cough and right basal crackles.",
    "What would change your mind?",
    "And the CURB-65?",
    "Admit or not?",
)


def _app(tmp_path: Path, base_url: str, name: str) -> Any:
    settings = Settings(
        base_url=base_url, data_dir=tmp_path / name, connect_retries=0, server_api_keys=[]
    )
    return create_app(settings)


def _ask(client: openai.OpenAI, messages: list[dict[str, str]], **kw: Any) -> tuple[str, str]:
    reply = client.chat.completions.create(model="lingshu", messages=messages, **kw)
    return reply.choices[0].message.content or "", (reply.model_extra or {})["lingshu"][
        "session_id"
    ]


def _stream(client: openai.OpenAI, messages: list[dict[str, str]]) -> tuple[str, str]:
    chunks = list(client.chat.completions.create(model="lingshu", messages=messages, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    sid = next(c.model_extra["lingshu"]["session_id"] for c in chunks if c.model_extra)
    return text, sid


def _user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def _bot(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def test_resending_history_gives_the_same_context_as_naming_the_session(tmp_path: Path) -> None:
    with DelayedModelServer() as model:
        app = _app(tmp_path, model.base_url, "one")
        with ThreadedUvicorn(app) as server, httpx.Client(base_url=server.url) as http:
            client = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0)
            system = {"role": "system", "content": "You are a helpful assistant."}

            # A client that names its session.
            a1, named = _ask(client, [_user(U1)])
            head = {"X-Lingshu-Session": named}
            a2, _ = _ask(client, [_user(U2)], extra_headers=head)
            named_context = model.requests[-1]["messages"]

            # A client that only resends the conversation (with its own system prompt).
            b1, resent = _ask(client, [system, _user(U1)])
            b2, again = _ask(client, [system, _user(U1), _bot(b1), _user(U2)])
            assert again == resent != named
            assert b2 == a2 and "Seen 2 questions" in b2
            assert model.requests[-1]["messages"] == named_context

            # Streamed, and with the reply reflowed by the front end: still the same session.
            b3, third = _stream(client, [_user(U1), _bot(b1), _user(U2), _bot(b2), _user(U3)])
            reflowed = " ".join(b3.split())
            history = [_user(U1), _bot(b1), _user(U2), _bot(b2), _user(U3), _bot(reflowed)]
            b4, fourth = _ask(client, [*history, _user(U4)])
            assert third == fourth == resent and "Seen 4 questions" in b4

            # An older point of the conversation taken up again is a new branch, not a write
            # into the session that has moved on.
            fork, forked = _ask(client, [_user(U1), _bot(b1), _user("Something else?")])
            assert forked not in (resent, named) and "Seen 2 questions" in fork
            mine = {s["session_id"] for s in http.get("/v1/sessions").json()}
            assert mine == {named, resent, forked}
            asked = [t["text"] for t in http.get(f"/v1/sessions/{resent}").json()["turns"]]
            assert asked[::2] == [U1, U2, U3, U4]

        # A conversation the service has never seen (another store): carried into a new
        # session, so the model still sees the earlier turns and answers the same.
        other = _app(tmp_path, model.base_url, "two")
        with ThreadedUvicorn(other) as server, httpx.Client(base_url=server.url) as http:
            client = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0)
            c2, carried = _ask(client, [system, _user(U1), _bot(a1), _user(U2)])
            assert c2 == a2
            seen = [(m["role"], m["content"]) for m in model.requests[-1]["messages"][1:]]
            assert seen[0] == ("user", U1) and seen[-1] == ("user", U2)
            assert seen[1][0] == "assistant" and "Seen 1 questions" in str(seen[1][1])
            turns = http.get(f"/v1/sessions/{carried}").json()["turns"]
            assert [t["role"] for t in turns] == ["user", "assistant"] * 2


def test_usage_is_the_model_usage_of_the_turn(tmp_path: Path) -> None:
    replies = [{"content": "First answer."}, {"content": "Second answer."}]
    with serving(replies) as model:
        app = _app(tmp_path, model.base_url, "usage")
        with ThreadedUvicorn(app) as server:
            client = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0)
            reply = client.chat.completions.create(model="lingshu", messages=[_user(U1)])
            assert reply.usage is not None
            assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (100, 20)
            assert reply.usage.total_tokens == 120
            chunks = list(
                client.chat.completions.create(
                    model="lingshu",
                    messages=[_user(U1), _bot(reply.choices[0].message.content or ""), _user(U2)],
                    stream=True,
                    stream_options={"include_usage": True},
                )
            )
            last = chunks[-1]
            assert last.choices == [] and last.usage is not None
            assert "Second answer." in "".join(
                c.choices[0].delta.content or "" for c in chunks if c.choices
            )
            assert (
                last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens
            )
