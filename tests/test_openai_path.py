"""The openai backend end to end: ``lingshu consult --json`` against a real local server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from agent.cli import app
from tests.openai_server import serving


@pytest.fixture
def xray(tmp_path: Path) -> Path:
    """A synthetic chest-radiograph-like grey image with a bright blob lower right."""
    rng = np.random.default_rng(0)
    pixels = rng.normal(90, 10, size=(320, 256)).clip(0, 255).astype(np.uint8)
    pixels[200:260, 160:220] = 230
    path = tmp_path / "cxr.png"
    Image.fromarray(pixels, mode="L").save(path)
    return path


def consult(*args: str) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(app, ["consult", "--json", *args])
    payload = json.loads(result.stdout.strip().splitlines()[-1]) if result.stdout.strip() else {}
    return result.exit_code, payload, result.stderr


def image_parts(request: dict[str, Any]) -> list[str]:
    urls = []
    for message in request["messages"]:
        if isinstance(message.get("content"), list):
            urls += [
                p["image_url"]["url"] for p in message["content"] if p.get("type") == "image_url"
            ]
    return urls


def test_prompted_tool_call_with_image_round_trip(xray: Path, tmp_path: Path) -> None:
    zoom = '<tool_call>\n{"name": "zoom", "arguments": {"image_id": "I1", "box": [0.5, 0.5, 1.0, 1.0]}}\n</tool_call>'
    replies = [
        {"content": "Let me look closer at the lower right.\n" + zoom},
        {"content": "A dense opacity in the right lower zone [I1, I2]; consolidation is possible."},
    ]
    with serving(replies) as server:
        code, out, _ = consult(
            "--base-url",
            server.base_url,
            "--image",
            str(xray),
            "--outline",
            str(tmp_path / "outlines"),
            "--report",
            str(tmp_path / "report.html"),
            "Opacity?",
        )
    assert code == 0, out
    assert out["produced_by"] == "model"
    assert out["citations"] == ["I1", "I2"]
    assert out["evidence"]["I2"]["citation"]["parent"] == "I1"
    first, second = server.requests
    # Prompted mode: tool specs in the system prompt, no tools field, the stop string sent.
    assert "tools" not in first
    assert '"name": "zoom"' in first["messages"][0]["content"]
    assert first["stop"] == ["<tool_response>"]
    # The user image went as a data URL; the zoomed crop came back as a second image.
    assert len(image_parts(first)) == 1 and image_parts(first)[0].startswith(
        "data:image/png;base64,"
    )
    assert len(image_parts(second)) == 2
    assert any("<tool_response>" in str(m["content"]) for m in second["messages"])
    assert {m["role"] for m in second["messages"]} <= {"system", "user", "assistant"}
    # People see where the model looked: the zoomed region outlined on the original ...
    (outlined,) = (tmp_path / "outlines").glob("*-I1.png")
    with Image.open(outlined) as picture:
        red_or_coloured = sum(
            1 for r, g, b in picture.convert("RGB").getdata() if abs(r - g) > 60 or abs(g - b) > 60
        )
    assert red_or_coloured > 100  # the outline is drawn in colour on a grey film
    # ... and in the self-contained HTML report, which resolves every cited id.
    html = (tmp_path / "report.html").read_text()
    assert 'id="ref-I1"' in html and 'id="ref-I2"' in html and "data:image/png;base64," in html


def test_native_tool_calls(xray: Path) -> None:
    replies = [
        {"content": None, "tool_calls": [{"name": "list_images", "arguments": {}}]},
        {"content": "One chest image is available [I1]."},
    ]
    with serving(replies) as server:
        code, out, _ = consult(
            "--base-url",
            server.base_url,
            "--tool-calling",
            "native",
            "--image",
            str(xray),
            "Images?",
        )
    assert code == 0, out
    assert out["text"] == "One chest image is available [I1]."
    first, second = server.requests
    assert "list_images" in {t["function"]["name"] for t in first["tools"]}
    assert "<tools>" not in first["messages"][0]["content"]
    tool_msgs = [m for m in second["messages"] if m["role"] == "tool"]
    assert tool_msgs and tool_msgs[0]["tool_call_id"] == "chatcmpl-tool-0"


def test_server_down_gives_evidence_brief_and_one_line_hint() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, out, stderr = consult("--base-url", f"http://127.0.0.1:{port}/v1", "Chest pain?")
    assert code == 3  # the documented exit code of an evidence brief
    assert out["produced_by"] == "evidence_brief"
    assert "produced without a reasoning model" in out["text"]
    assert "lingshu vllm-command" in " ".join(stderr.split())


def test_server_error_is_explained_and_session_continues() -> None:
    oom = {"status": 500, "error": "CUDA out of memory"}
    replies = [oom, oom, {"content": "Back online."}]  # the client retries once by default
    with serving(replies) as server:
        code, first, _ = consult("--base-url", server.base_url, "First question")
        assert code == 3 and first["produced_by"] == "evidence_brief"
        assert "CUDA out of memory" in first["text"]
        code, second, _ = consult(
            "--base-url", server.base_url, "--session", first["session_id"], "Second question"
        )
    assert second["text"] == "Back online."
    user_turns = [m for m in server.requests[-1]["messages"] if m["role"] == "user"]
    assert [m["content"] for m in user_turns] == ["First question", "Second question"]


def test_unknown_session_and_empty_question_fail_clearly() -> None:
    result = CliRunner().invoke(app, ["consult", "--session", "nope", "Hello"])
    assert result.exit_code == 2 and "no session 'nope'" in result.stderr
    result = CliRunner().invoke(app, ["consult", "  "])
    assert result.exit_code == 2 and "question is empty" in result.stderr


def test_console_script_runs_in_a_fresh_process(tmp_path: Path) -> None:
    replies = [{"content": "Hello from the served model."}]
    with serving(replies) as server:
        env = {**os.environ, "LINGSHU_BASE_URL": server.base_url}
        proc = subprocess.run(
            [sys.executable, "-m", "agent.cli", "consult", "--json", "Hi"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["text"] == "Hello from the served model."


def test_chat_repl_keeps_the_conversation(tmp_path: Path) -> None:
    replies = [{"content": "First reply."}, {"content": "Second reply, remembering the first."}]
    with serving(replies) as server:
        result = CliRunner().invoke(
            app,
            ["chat", "--base-url", server.base_url],
            input="Patient with fever.\n/image /no/such.png\nAny news?\nWhat next?\n/quit\n",
        )
    assert result.exit_code == 0, result.output
    assert "First reply." in result.stdout and "Second reply" in result.stdout
    # The bad image path was refused with a clear message and lost nothing.
    assert "no such image file" in result.stderr
    last = server.requests[-1]["messages"]
    assert [m["content"] for m in last if m["role"] == "user"] == [
        "Patient with fever.",
        "What next?",
    ]


def test_two_processes_share_the_session_store(tmp_path: Path) -> None:
    replies = [{"content": "Answer A."}, {"content": "Answer B."}]
    with serving(replies) as server:
        env = {**os.environ, "LINGSHU_BASE_URL": server.base_url}
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "agent.cli", "consult", "--json", f"Question {i}"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for i in (1, 2)
        ]
        outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    answers = sorted(json.loads(out)["text"] for out, _ in outputs)
    assert answers == ["Answer A.", "Answer B."]
    assert len({json.loads(out)["session_id"] for out, _ in outputs}) == 2
