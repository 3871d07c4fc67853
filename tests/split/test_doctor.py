"""`lingshu doctor` with a planner: both endpoints checked, the planner's tool calling probed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.cli.doctor import probe_tool_call
from agent.cli.options import console
from testing.loopback import free_port
from testing.openai_server import OpenAICompatibleServer

LINGSHU = "lingshu-medical-mllm/Lingshu-7B"
PLANNER = "Qwen/Qwen2.5-7B-Instruct"
CALLS = {"tool_calls": [{"name": "record_word", "arguments": {"word": "ready"}}]}


@pytest.fixture
def lingshu() -> Iterator[OpenAICompatibleServer]:
    server = OpenAICompatibleServer([], model=LINGSHU).start()
    yield server
    server.stop()


@pytest.fixture
def planner() -> Iterator[OpenAICompatibleServer]:
    server = OpenAICompatibleServer([], model=PLANNER).start()
    yield server
    server.stop()


def doctor(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: dict[str, str]) -> str:
    monkeypatch.setattr(console, "width", 400)  # one table row per line
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["doctor", "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    return result.stdout


def row(output: str, part: str) -> str:
    def first_cell(line: str) -> str:
        cells = line.split("│")
        return cells[1].strip() if len(cells) > 2 else ""

    (line,) = [ln for ln in output.splitlines() if first_cell(ln).split(" (")[0] == part]
    return " ".join(line.split())


def test_single_model_says_so_and_probes_no_planner(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, lingshu: OpenAICompatibleServer
) -> None:
    out = doctor(monkeypatch, tmp_path, {"LINGSHU_BASE_URL": lingshu.base_url})
    assert f"single model: {LINGSHU} at {lingshu.base_url}" in row(out, "mode")
    assert "planner" not in out and "split mode" not in out
    assert lingshu.requests == []


def test_split_mode_with_both_up_checks_both_and_the_planners_tool_call(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    lingshu: OpenAICompatibleServer,
    planner: OpenAICompatibleServer,
) -> None:
    planner.replies.append(CALLS)
    out = doctor(
        monkeypatch,
        tmp_path,
        {
            "LINGSHU_BASE_URL": lingshu.base_url,
            "LINGSHU_PLANNER_BASE_URL": planner.base_url,
            "LINGSHU_PLANNER_MODEL": PLANNER,
        },
    )
    assert (
        f"split mode: planner {PLANNER} at {planner.base_url}, Lingshu {LINGSHU} at "
        f"{lingshu.base_url}" in row(out, "mode")
    )
    assert row(out, "model").split("│")[2].strip() == "ok"
    planner_row = row(out, "planner")
    assert planner_row.split("│")[2].strip() == "ok", planner_row
    assert "answers a one-tool probe with a native tool call" in planner_row
    (probe,) = planner.requests
    assert probe["model"] == PLANNER and probe["tools"][0]["function"]["name"] == "record_word"
    assert probe["tool_choice"] == "auto"


def test_a_planner_that_is_down_is_named_and_lingshu_still_checked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, lingshu: OpenAICompatibleServer
) -> None:
    down = f"http://127.0.0.1:{free_port()}/v1"
    out = doctor(
        monkeypatch,
        tmp_path,
        {
            "LINGSHU_BASE_URL": lingshu.base_url,
            "LINGSHU_PLANNER_BASE_URL": down,
            "LINGSHU_PLANNER_MODEL": PLANNER,
        },
    )
    assert row(out, "model").split("│")[2].strip() == "ok"
    planner_row = row(out, "planner")
    assert planner_row.split("│")[2].strip() == "no"
    assert f"{down} does not answer" in planner_row


def test_lingshu_down_and_the_planner_up_says_which(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, planner: OpenAICompatibleServer
) -> None:
    planner.replies.append(CALLS)
    down = f"http://127.0.0.1:{free_port()}/v1"
    out = doctor(
        monkeypatch,
        tmp_path,
        {
            "LINGSHU_BASE_URL": down,
            "LINGSHU_PLANNER_BASE_URL": planner.base_url,
            "LINGSHU_PLANNER_MODEL": PLANNER,
        },
    )
    assert row(out, "model").split("│")[2].strip() == "no"
    assert f"{down} does not answer" in row(out, "model")
    assert row(out, "planner").split("│")[2].strip() == "ok"


def test_a_planner_that_answers_in_text_or_refuses_tools_is_reported(
    planner: OpenAICompatibleServer,
) -> None:
    planner.replies.append({"content": '<tool_call>{"name": "record_word"}</tool_call>'})
    ok, detail = probe_tool_call(planner.base_url, PLANNER, "EMPTY")
    assert not ok and "without a native tool call" in detail and "--tool-call-parser" in detail
    planner.replies.append(
        {"status": 400, "error": '"auto" tool choice requires --enable-auto-tool-choice'}
    )
    ok, detail = probe_tool_call(planner.base_url, PLANNER, "EMPTY")
    assert not ok and "refused (HTTP 400" in detail and "--enable-auto-tool-choice" in detail


def test_a_planner_serving_another_model_is_named(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    lingshu: OpenAICompatibleServer,
    planner: OpenAICompatibleServer,
) -> None:
    out = doctor(
        monkeypatch,
        tmp_path,
        {
            "LINGSHU_BASE_URL": lingshu.base_url,
            "LINGSHU_PLANNER_BASE_URL": planner.base_url,
            "LINGSHU_PLANNER_MODEL": "meta-llama/Llama-3.1-8B-Instruct",
        },
    )
    planner_row = row(out, "planner")
    assert planner_row.split("│")[2].strip() == "no"
    assert f"serves ['{PLANNER}'], not meta-llama/Llama-3.1-8B-Instruct" in planner_row
    assert planner.requests == []  # no probe of a server that serves another model
