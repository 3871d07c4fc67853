"""Split mode through the whole graph: a planner server and a Lingshu server on loopback.

The planner (native tool calls) zooms, asks Lingshu about the crop with ``look``, and
answers citing Lingshu's finding; the planner down gives the evidence brief naming it;
Lingshu down gives look's clear error and the planner still answers. With one endpoint
the prompts and the offered tools are today's.
"""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from agent.acting import offered_tools
from agent.report import render_html, to_markdown
from agent.resources import Resources
from agent.session import Lingshu
from agent.settings import Settings
from knowledge.imaging import ImageStore
from testing.fakes import ScriptedChatModel, call
from testing.openai_server import OpenAICompatibleServer
from tests.split.conftest import LINGSHU, chest_png
from tools import ALL_TOOLS

PLANNER = "Qwen/Qwen2.5-7B-Instruct"
CLOSED = "http://127.0.0.1:9/v1"  # nothing listens on the discard port
QUESTION = "Is there a focal opacity in the upper right?"
IMAGE_TOOLS = {"list_images", "zoom", "window", "select_slice", "enhance"}


@pytest.fixture
def planner() -> Iterator[OpenAICompatibleServer]:
    server = OpenAICompatibleServer([], model=PLANNER).start()
    yield server
    server.stop()


@pytest.fixture
def lingshu() -> Iterator[OpenAICompatibleServer]:
    server = OpenAICompatibleServer([], model=LINGSHU).start()
    yield server
    server.stop()


def agent_for(tmp_path: Path, lingshu_url: str, planner_url: str | None, **more: Any) -> Lingshu:
    settings = Settings(
        base_url=lingshu_url,
        model=LINGSHU,
        planner_base_url=planner_url,
        planner_model=PLANNER if planner_url else None,
        data_dir=tmp_path / "data",
        connect_retries=0,
        tool_timeout_s=5.0,
        **more,
    )
    return Lingshu(settings, resources=Resources(images=ImageStore(tmp_path / "images")))


def parts(request: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [
        p
        for m in request["messages"]
        if isinstance(m.get("content"), list)
        for p in m["content"]
        if p.get("type") == kind
    ]


def texts(request: dict[str, Any]) -> str:
    """Every text the request carries (a message's content is a string or a list of parts)."""
    out = [m["content"] for m in request["messages"] if isinstance(m.get("content"), str)]
    return "\n".join([*out, *(p["text"] for p in parts(request, "text"))])


def tool_names(request: dict[str, Any]) -> list[str]:
    return [t["function"]["name"] for t in request.get("tools", [])]


def pixels(part: dict[str, Any]) -> np.ndarray:
    data = part["image_url"]["url"].split(",", 1)[1]
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("L"))


@pytest.mark.parametrize("face", ["sync", "async"])
def test_planner_zooms_asks_lingshu_and_cites_its_finding(
    tmp_path: Path, planner: OpenAICompatibleServer, lingshu: OpenAICompatibleServer, face: str
) -> None:
    planner.replies += [
        {
            "tool_calls": [
                {"name": "zoom", "arguments": {"image_id": "I1", "box": [0.5, 0, 1, 0.5]}}
            ]
        },
        {
            "tool_calls": [
                {"name": "look", "arguments": {"image_ids": ["I2"], "question": QUESTION}}
            ]
        },
        {"content": "A bright focal opacity sits in the upper right of the film [F1, I2]."},
    ]
    lingshu.replies.append({"content": "A uniformly bright square opacity fills this view."})
    agent = agent_for(tmp_path, lingshu.base_url, planner.base_url)
    image = chest_png(tmp_path / "cxr.png")
    if face == "async":  # the service's path: the graph's steps awaited on an event loop
        assert agent.runs_on_loop
        result = asyncio.run(agent.aask("What is in the upper right?", images=[image]))
    else:
        result = agent.ask("What is in the upper right?", images=[image])

    # the planner drove the loop, natively, and was never sent an image
    assert len(planner.requests) == 3
    first = planner.requests[0]
    assert first["model"] == PLANNER
    assert {"look", "zoom"} <= set(tool_names(first))
    assert all(parts(r, "image_url") == [] for r in planner.requests)
    assert "Image [I1]" in texts(first) and "call look with its id" in texts(first)
    system = first["messages"][0]["content"]
    assert "you cannot see images" in system and "<tools>" not in system  # native calling
    # the zoom's result told the planner to pass the crop to look (it is sent no pixels)
    zoomed = [m for m in planner.requests[1]["messages"] if m["role"] == "tool"][-1]
    assert "call look with [I2]" in zoomed["content"] and "shown to you" not in zoomed["content"]
    # Lingshu was asked once, about the crop (bright), not the whole film (mostly dark)
    (asked,) = lingshu.requests
    assert asked["model"] == LINGSHU and "tools" not in asked
    (shown,) = parts(asked, "image_url")
    assert pixels(shown).mean() > 100  # the crop is 44% bright square; the whole film, 11%
    assert QUESTION in texts(asked) and "Image [I2]" in texts(asked)
    # the look's answer came back to the planner as a finding citing the crop
    tool_reply = [m for m in planner.requests[2]["messages"] if m["role"] == "tool"][-1]
    assert "[F1]" in tool_reply["content"] and "uniformly bright" in tool_reply["content"]

    answer = result.answer
    assert answer["produced_by"] == "model"
    assert answer["citations"] == ["F1", "I2"] and answer["unknown_citations"] == []
    finding = next(r for r in answer["references"] if r["id"] == "F1")
    assert finding["kind"] == "finding" and finding["citation"]["images"] == ["I2"]
    assert finding["citation"]["model"] == LINGSHU
    (statement,) = answer["statements"]
    assert statement["evidence"] == ["F1", "I2"] and statement["check"]["status"] == "checked"
    markdown = to_markdown(answer)
    assert "F1" in markdown and "uniformly bright square opacity" in markdown
    page = render_html(answer)
    assert 'id="ref-F1"' in page or "F1" in page
    assert "uniformly bright square opacity" in page


def test_a_claim_that_misreports_the_finding_is_sent_back_to_the_planner(
    tmp_path: Path, planner: OpenAICompatibleServer, lingshu: OpenAICompatibleServer
) -> None:
    look = {"name": "look", "arguments": {"image_ids": ["I1"], "question": QUESTION}}
    planner.replies += [
        {"tool_calls": [look]},
        {"content": "A 25 mm opacity sits in the left upper zone [F1]."},  # Lingshu: right, 10 mm
        {"content": "A 10 mm opacity sits in the right upper zone [F1]."},
    ]
    lingshu.replies.append({"content": "A 10 mm bright opacity in the right upper zone."})
    agent = agent_for(tmp_path, lingshu.base_url, planner.base_url)
    result = agent.ask("What is in the upper right?", images=[chest_png(tmp_path / "cxr.png")])
    repair = planner.requests[2]["messages"][-1]
    assert repair["role"] == "user"
    assert "25 mm is not in what the vision model said (F1)" in repair["content"]
    (statement,) = result.answer["statements"]
    # the words now match Lingshu's; a size also needs pixel spacing in the image it saw
    assert statement["check"] == {
        "status": "unchecked",
        "reason": "I1 has no pixel spacing to measure 10 mm against",
    }
    assert result.answer["text"].startswith("A 10 mm opacity sits in the right upper zone")


def test_the_stream_shows_the_look_and_only_the_planner_speaks(
    tmp_path: Path, planner: OpenAICompatibleServer, lingshu: OpenAICompatibleServer
) -> None:
    planner.replies += [
        {
            "tool_calls": [
                {"name": "look", "arguments": {"image_ids": ["I1"], "question": QUESTION}}
            ]
        },
        {"content": "A bright opacity in the upper right [F1]."},
    ]
    lingshu.replies.append({"content": "LINGSHU-SAYS a bright opacity in the upper right."})
    agent = agent_for(tmp_path, lingshu.base_url, planner.base_url)
    events = list(
        agent.stream("What is in the upper right?", images=[chest_png(tmp_path / "cxr.png")])
    )
    calls = [e for e in events if e["type"] == "tool_call"]
    assert calls == [
        {"type": "tool_call", "name": "look", "args": {"image_ids": ["I1"], "question": QUESTION}}
    ]
    (looked,) = [e for e in events if e["type"] == "tool_result"]
    assert looked["status"] != "error" and "[F1]" in looked["text"]
    spoken = "".join(e["text"] for e in events if e["type"] == "token")
    assert "upper right [F1]" in spoken  # the planner's reply, streamed
    assert "LINGSHU-SAYS" not in spoken  # Lingshu's look answer is a tool result, not the reply
    assert events[-1]["type"] == "answer" and events[-1]["result"].answer["citations"] == ["F1"]


def test_a_planner_without_a_tool_parser_calls_look_in_prompted_form(
    tmp_path: Path, planner: OpenAICompatibleServer, lingshu: OpenAICompatibleServer
) -> None:
    planner.replies += [
        {"content": call("look", image_ids=["I1"], question=QUESTION)},
        {"content": "A bright opacity in the upper right [F1]."},
    ]
    lingshu.replies.append({"content": "A bright opacity in the upper right."})
    agent = agent_for(tmp_path, lingshu.base_url, planner.base_url, planner_tool_calling="prompted")
    result = agent.ask("What is in the upper right?", images=[chest_png(tmp_path / "cxr.png")])
    first = planner.requests[0]
    assert "tools" not in first  # the specs are in the system prompt, Hermes style
    assert '"name": "look"' in first["messages"][0]["content"]
    assert len(lingshu.requests) == 1
    assert result.answer["citations"] == ["F1"]
    assert result.answer["statements"][0]["check"]["status"] == "checked"


def test_planner_down_gives_the_evidence_brief_naming_the_planner(
    tmp_path: Path, lingshu: OpenAICompatibleServer
) -> None:
    agent = agent_for(tmp_path, lingshu.base_url, CLOSED)
    result = agent.ask("What is in the upper right?", images=[chest_png(tmp_path / "cxr.png")])
    answer = result.answer
    assert answer["produced_by"] == "evidence_brief"
    assert f"planner model {PLANNER} at {CLOSED}" in answer["text"]
    assert "[I1]" in answer["text"]  # the images are still listed for the clinician
    assert lingshu.requests == []  # Lingshu is reached only when the planner asks


def test_lingshu_down_look_fails_clearly_and_the_planner_answers(
    tmp_path: Path, planner: OpenAICompatibleServer
) -> None:
    planner.replies += [
        {
            "tool_calls": [
                {"name": "look", "arguments": {"image_ids": ["I1"], "question": QUESTION}}
            ]
        },
        {"content": "The image could not be read this turn; no finding can be given."},
    ]
    agent = agent_for(tmp_path, CLOSED, planner.base_url)
    result = agent.ask("What is in the upper right?", images=[chest_png(tmp_path / "cxr.png")])
    tool_reply = next(m for m in planner.requests[1]["messages"] if m["role"] == "tool")
    assert "Lingshu could not answer" in tool_reply["content"]
    answer = result.answer
    assert answer["produced_by"] == "model"
    assert answer["text"].startswith("The image could not be read this turn")
    assert agent.state(result.session_id)["evidence"].keys() == {"I1"}  # no finding recorded


def offer_if(tool: Any, state: Any) -> bool:
    """A tool's own rule for when it is worth offering (``metadata["offer_if"]``)."""
    rule = (tool.metadata or {}).get("offer_if")
    return rule is None or bool(rule(state))


def one_model_turn(tmp_path: Path, **settings: Any) -> tuple[Lingshu, list[Any], str]:
    model = ScriptedChatModel(script=["A bright square [I1]."])
    resources = Resources(images=ImageStore(tmp_path / "images"))
    agent = Lingshu(
        Settings(data_dir=tmp_path / "data", **settings),
        model=model,
        tools=ALL_TOOLS,
        resources=resources,
    )
    result = agent.ask("What is in the upper right?", images=[chest_png(tmp_path / "cxr.png")])
    assert agent.deps.split is None and agent.deps.model is model
    (prompt,) = model.prompts
    return agent, prompt, result.session_id


def test_one_endpoint_keeps_todays_prompts_and_tools(tmp_path: Path) -> None:
    agent, prompt, sid = one_model_turn(tmp_path / "a")
    state = agent.state(sid)
    offered = [t.name for t in agent.deps.offered(state)]
    parts = agent.resources.available() | {"images"}  # the one-model rule: no perceiver part
    rule = [t for t in offered_tools(ALL_TOOLS, parts) if offer_if(t, state)]
    assert offered == [t.name for t in rule]
    assert set(offered) >= IMAGE_TOOLS and "look" not in offered
    system = prompt[0].text
    assert '"name": "look"' not in system and "Split mode" not in system
    assert '"name": "zoom"' in system  # prompted tool calling: the tools are in the prompt
    user = prompt[-1]
    assert isinstance(user.content, list)
    (image,) = [p for p in user.content if isinstance(p, dict) and p["type"] == "image_url"]
    record = agent.state(sid)["evidence"]["I1"]
    s = agent.settings
    expected = agent.resources.images.data_url(
        record["citation"]["path"], s.min_pixels, s.max_pixels
    )
    assert image["image_url"]["url"] == expected  # Lingshu itself is shown the image
    # a planner named without an endpoint (or an empty LINGSHU_PLANNER_BASE_URL) is no planner
    _, same, _ = one_model_turn(tmp_path / "b", planner_model=PLANNER, planner_base_url="")
    assert [m.content for m in same] == [m.content for m in prompt]
