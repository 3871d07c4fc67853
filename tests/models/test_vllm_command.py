"""The vLLM serving kit: the command line the CLI prints."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

import prompts
from agent.models.vllm import TRAINED_CONTEXT, valid_gpu_counts, vllm_command


def flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_default_command_serves_lingshu_7b_with_tools_images_and_prefix_caching() -> None:
    argv = vllm_command()
    assert argv[:3] == ["vllm", "serve", "lingshu-medical-mllm/Lingshu-7B"]
    assert flag(argv, "--served-model-name") == "lingshu-medical-mllm/Lingshu-7B"
    assert flag(argv, "--tensor-parallel-size") == "1"
    assert int(flag(argv, "--max-model-len")) <= TRAINED_CONTEXT == 8192
    assert json.loads(flag(argv, "--limit-mm-per-prompt")) == {"image": 2, "video": 0}  # fits 8k
    assert json.loads(flag(argv, "--mm-processor-kwargs")) == {
        "min_pixels": 256 * 28 * 28,
        "max_pixels": 1280 * 28 * 28,
    }
    assert "--enable-prefix-caching" in argv
    assert flag(argv, "--tool-call-parser") == "hermes"
    assert "--enable-auto-tool-choice" in argv
    template = Path(flag(argv, "--chat-template"))
    assert template == Path(prompts.path("chat_template_tools_vision.jinja"))
    assert "<tool_response>" in template.read_text()


def test_32b_on_two_gpus_uses_tensor_parallelism_and_local_weights() -> None:
    argv = vllm_command("32b", 2, weights="/models/Lingshu-32B", host="0.0.0.0", port=8001)
    assert argv[2] == "/models/Lingshu-32B"
    assert flag(argv, "--served-model-name") == "lingshu-medical-mllm/Lingshu-32B"
    assert flag(argv, "--tensor-parallel-size") == "2"
    assert (flag(argv, "--host"), flag(argv, "--port")) == ("0.0.0.0", "8001")


def test_gpu_counts_that_do_not_divide_the_heads_are_refused() -> None:
    assert valid_gpu_counts("7b") == [1, 2, 4]
    assert valid_gpu_counts("32b") == [1, 2, 4, 8]
    with pytest.raises(ValueError, match=r"use one of \[1, 2, 4\]"):
        vllm_command("7b", 3)
    with pytest.raises(ValueError, match="unknown Lingshu size"):
        vllm_command("70b")
    with pytest.raises(ValueError, match="trained length"):
        vllm_command(max_model_len=32768)


def test_cli_prints_the_same_command_with_the_settings_pixel_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agent.cli import app

    monkeypatch.setenv("LINGSHU_MAX_PIXELS", str(512 * 28 * 28))
    result = CliRunner().invoke(app, ["vllm-command", "--model", "32b", "--gpus", "4"])
    assert result.exit_code == 0, result.output
    argv = shlex.split(result.stdout.strip().splitlines()[0])
    assert argv == vllm_command("32b", 4, max_pixels=512 * 28 * 28)


def test_cli_refuses_an_impossible_split() -> None:
    from agent.cli import app

    result = CliRunner().invoke(app, ["vllm-command", "--gpus", "3"])
    assert result.exit_code == 2
    assert "use one of [1, 2, 4]" in result.stderr
