"""The official ``openai`` client against ``/v1/chat/completions``, plain and streaming."""

from __future__ import annotations

import base64
from pathlib import Path

import openai
import pytest

from tests.fakes import call
from tests.loopback import ThreadedUvicorn
from tests.server.conftest import KEY_A, KEY_B, keys_entries, make_service
from tests.server.test_api import png_bytes


def test_plain_and_streamed_chat_continue_one_session(tmp_path: Path) -> None:
    script = [
        call("lookup_guideline", topic="chest pain"),
        "Exclude acute coronary syndrome: troponin now [G1].",
        "Repeat it at 1-3 hours [G1].",
    ]
    app, model = make_service(tmp_path, script, server_api_keys=keys_entries())
    with ThreadedUvicorn(app) as server:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key=KEY_A, max_retries=0)
        assert [m.id for m in client.models.list()] == ["lingshu"]
        first = client.chat.completions.create(
            model="lingshu",
            messages=[
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "Chest pain, what first?"},
            ],
            user="chatbot-user-17",
        )
        text = first.choices[0].message.content or ""
        # The answer carries its citation and the references list that resolves it.
        assert "troponin now [G1]" in text
        assert "**References**" in text and "[G1] Test chest pain guideline" in text
        extra = first.model_extra or {}
        sid = extra["lingshu"]["session_id"]

        stream = client.chat.completions.create(
            model="lingshu",
            messages=[{"role": "user", "content": "And then?"}],
            user="chatbot-user-17",
            stream=True,
        )
        pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
        streamed = "".join(pieces)
        assert len(pieces) > 2 and "Repeat it at 1-3 hours [G1]." in streamed
        assert "[G1] Test chest pain guideline" in streamed
        # Same chatbot user, same session: the model saw the first question again.
        assert "Chest pain, what first?" in model.prompt_text()

        # The other key cannot reach that session, by header or by user.
        other = openai.OpenAI(base_url=server.url + "/v1", api_key=KEY_B, max_retries=0)
        with pytest.raises(openai.NotFoundError):
            other.chat.completions.create(
                model="lingshu",
                messages=[{"role": "user", "content": "hi"}],
                extra_headers={"X-Lingshu-Session": sid},
            )
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(
                base_url=server.url + "/v1", api_key="nope", max_retries=0
            ).chat.completions.create(model="lingshu", messages=[{"role": "user", "content": "x"}])


def test_image_parts_header_session_and_bad_requests(tmp_path: Path) -> None:
    script = ["I see one image [I1].", "Still [I1]."]
    app, _ = make_service(tmp_path, script)
    url = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    with ThreadedUvicorn(app) as server:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
        raw = client.chat.completions.with_raw_response.create(
            model="lingshu",
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is on this radiograph?"},
                        {"type": "image_url", "image_url": {"url": url}},
                    ],
                }
            ],
        )
        sid = raw.headers["x-lingshu-session"]
        assert "I see one image [I1]." in (raw.parse().choices[0].message.content or "")
        again = client.chat.completions.create(
            model="lingshu",
            messages=[{"role": "user", "content": "Again?"}],
            extra_headers={"X-Lingshu-Session": sid},
        )
        assert (again.model_extra or {})["lingshu"]["session_id"] == sid
        with pytest.raises(openai.BadRequestError, match="last message must be the user"):
            client.chat.completions.create(
                model="lingshu", messages=[{"role": "assistant", "content": "hi"}]
            )
        with pytest.raises(openai.UnprocessableEntityError):
            client.chat.completions.create(model="lingshu", messages=[])
        with pytest.raises(openai.BadRequestError, match="data: URLs"):
            client.chat.completions.create(
                model="lingshu",
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {"type": "image_url", "image_url": {"url": "https://x.org/a.png"}}
                        ],
                    }
                ],
            )
