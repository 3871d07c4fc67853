"""`lingshu vllm-command --planner`: Lingshu and a tool-calling planner on one GPU or several."""

from __future__ import annotations

import shlex

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.models.vllm import guess_tool_parser, planner_command, vllm_command
from agent.settings import Settings

PLANNER = "Qwen/Qwen2.5-7B-Instruct"


def flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def run(*args: str) -> tuple[list[tuple[dict[str, str], list[str]]], dict[str, str], str]:
    """The serve lines (env prefix, argv), the exports, and the notes of one invocation."""
    result = CliRunner().invoke(app, ["vllm-command", *args])
    assert result.exit_code == 0, result.output
    serves, exports = [], {}
    for line in result.stdout.strip().splitlines():
        words = shlex.split(line)
        if words[0] == "export":
            name, value = words[1].split("=", 1)
            exports[name] = value
            continue
        env = dict(w.split("=", 1) for w in words[: words.index("vllm")])
        serves.append((env, words[len(env) :]))
    return serves, exports, result.stderr


def test_one_gpu_shares_its_memory_between_two_ports() -> None:
    serves, exports, notes = run("--planner", PLANNER)
    (lingshu_env, lingshu), (planner_env, planner) = serves
    assert lingshu_env == planner_env == {}  # one GPU: both see it
    assert lingshu == vllm_command(gpu_memory_utilization=0.45)
    assert planner[:3] == ["vllm", "serve", PLANNER]
    assert flag(planner, "--served-model-name") == PLANNER
    assert float(flag(lingshu, "--gpu-memory-utilization")) + float(
        flag(planner, "--gpu-memory-utilization")
    ) == pytest.approx(0.9)
    assert flag(lingshu, "--port") == "8000" and flag(planner, "--port") == "8001"
    assert (
        "--enable-auto-tool-choice" in planner and flag(planner, "--tool-call-parser") == "hermes"
    )
    assert "--chat-template" not in planner  # the planner's own template
    assert exports == {
        "LINGSHU_BASE_URL": "http://127.0.0.1:8000/v1",
        "LINGSHU_MODEL": "lingshu-medical-mllm/Lingshu-7B",
        "LINGSHU_PLANNER_BASE_URL": "http://127.0.0.1:8001/v1",
        "LINGSHU_PLANNER_MODEL": PLANNER,
        "LINGSHU_PLANNER_TOOL_CALLING": "native",
    }
    assert "one GPU" in notes


def test_the_exports_configure_split_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    _, exports, _ = run("--planner", PLANNER, "--planner-port", "9001")
    for name, value in exports.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.split_mode and settings.planner_model == PLANNER
    assert settings.planner_base_url == "http://127.0.0.1:9001/v1"
    assert settings.planner_tool_calling == "native"


def test_two_gpus_give_each_model_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    serves, exports, notes = run(
        "--planner", "meta-llama/Llama-3.1-8B-Instruct", "--gpus", "2", "--host", "0.0.0.0"
    )
    (lingshu_env, lingshu), (planner_env, planner) = serves
    assert lingshu_env == {"CUDA_VISIBLE_DEVICES": "0"}
    assert planner_env == {"CUDA_VISIBLE_DEVICES": "1"}
    assert flag(lingshu, "--tensor-parallel-size") == "1"
    assert (
        flag(lingshu, "--gpu-memory-utilization")
        == flag(planner, "--gpu-memory-utilization")
        == "0.9"
    )
    assert flag(planner, "--tool-call-parser") == "llama3_json"
    assert "tool_chat_template_llama3.1_json.jinja" in notes
    assert exports["LINGSHU_PLANNER_BASE_URL"] == "http://127.0.0.1:8001/v1"  # bound on 0.0.0.0


def test_three_gpus_give_lingshu_two_in_tensor_parallel() -> None:
    serves, _, _ = run("--planner", PLANNER, "--gpus", "3", "--model", "32b")
    (lingshu_env, lingshu), (planner_env, _) = serves
    assert lingshu_env == {"CUDA_VISIBLE_DEVICES": "0,1"} and planner_env == {
        "CUDA_VISIBLE_DEVICES": "2"
    }
    assert flag(lingshu, "--tensor-parallel-size") == "2"
    assert flag(lingshu, "--served-model-name") == "lingshu-medical-mllm/Lingshu-32B"


def test_without_a_planner_the_output_is_todays_single_command() -> None:
    serves, exports, _ = run()
    assert serves == [({}, vllm_command())] and exports == {}


@pytest.mark.parametrize(
    ("model", "parser"),
    [
        ("Qwen/Qwen2.5-7B-Instruct", "hermes"),
        ("Qwen/Qwen3-8B", "hermes"),
        ("meta-llama/Llama-3.3-70B-Instruct", "llama3_json"),
        ("meta-llama/Meta-Llama-3.1-8B-Instruct", "llama3_json"),
        ("mistralai/Mistral-7B-Instruct-v0.3", "mistral"),
    ],
)
def test_the_parser_is_guessed_from_the_family(model: str, parser: str) -> None:
    assert guess_tool_parser(model) == parser
    assert flag(planner_command(model), "--tool-call-parser") == parser


def test_an_unknown_family_needs_the_parser_named_and_an_explicit_one_wins() -> None:
    result = CliRunner().invoke(app, ["vllm-command", "--planner", "acme/planner-1"])
    assert result.exit_code == 2 and "give --planner-parser" in result.stderr
    serves, _, _ = run("--planner", "acme/planner-1", "--planner-parser", "pythonic")
    assert flag(serves[1][1], "--tool-call-parser") == "pythonic"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--gpus", "4"], "Lingshu gets 3 (all but the last)"),
        (["--planner-port", "8000"], "a port other than Lingshu's 8000"),
    ],
)
def test_impossible_layouts_are_refused(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["vllm-command", "--planner", PLANNER, *args])
    assert result.exit_code == 2 and message in " ".join(result.stderr.split())
