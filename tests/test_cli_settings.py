"""Every command builds its settings one way (``agent.cli.options.build_settings``):
``--data-dir``, ``--config`` and ``LINGSHU_DATA_DIR`` reach ``serve``, ``mcp``, ``api-key``,
``consult``, ``ingest`` and ``eval`` alike, each seen by what the command does in that
folder; and every error reads ``error: ...`` with its exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.server.auth import key_entry, new_key
from tests.evals import datasets
from tests.loopback import free_port
from tests.openai_server import serving

TWO_WARDS = "two API keys are named 'ward'"


@pytest.fixture(autouse=True)
def _no_data_dir_in_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No LINGSHU_DATA_DIR (the suite's conftest sets one, and the environment beats a
    TOML file); the default data dir is a folder of this test's, which must stay unused."""
    monkeypatch.delenv("LINGSHU_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


def _env(tmp_path: Path) -> dict[str, str]:
    return {"LINGSHU_CONFIG": str(tmp_path / "none.toml")}


def _broken_keys(folder: Path) -> Path:
    """A data dir whose keys file names one key twice: a command that reads it refuses."""
    folder.mkdir(parents=True, exist_ok=True)
    keys = {"keys": [key_entry("ward", new_key(), None), key_entry("ward", new_key(), None)]}
    (folder / "api-keys.json").write_text(json.dumps(keys), encoding="utf-8")
    return folder


def _three_ways(tmp_path: Path) -> list[tuple[list[str], dict[str, str]]]:
    """The same data dir given by flag, by a TOML file and by the environment."""
    env = _env(tmp_path)
    config = tmp_path / "lingshu-test.toml"
    config.write_text(f"data_dir = {str(_broken_keys(tmp_path / 'by-toml'))!r}\n")
    return [
        (["--data-dir", str(_broken_keys(tmp_path / "by-flag"))], env),
        (["--config", str(config)], env),
        ([], env | {"LINGSHU_DATA_DIR": str(_broken_keys(tmp_path / "by-env"))}),
    ]


@pytest.mark.parametrize(
    "command", [["serve"], ["mcp", "--transport", "http"]], ids=["serve", "mcp"]
)
def test_the_servers_read_keys_from_the_data_dir_given_any_way(
    command: list[str], tmp_path: Path
) -> None:
    # A public address: were the data dir ignored, the open service would be refused with
    # another message (and nothing would start listening).
    runner = CliRunner()
    for given, env in _three_ways(tmp_path):
        result = runner.invoke(app, [*command, "--host", "0.0.0.0", *given], env=env)
        assert result.exit_code == 2, (given, result.output)
        assert "error: API keys:" in result.output and TWO_WARDS in result.output, given
    assert not (tmp_path / "xdg").exists()


def test_api_key_writes_into_the_data_dir_given(tmp_path: Path) -> None:
    data = tmp_path / "keys-here"
    made = CliRunner().invoke(
        app, ["api-key", "--name", "ward-9", "--data-dir", str(data)], env=_env(tmp_path)
    )
    assert made.exit_code == 0, made.output
    names = [k["name"] for k in json.loads((data / "api-keys.json").read_text())["keys"]]
    assert names == ["ward-9"] and not (tmp_path / "xdg").exists()


def test_a_missing_config_file_and_a_bad_value_are_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(
        app, ["search", "sepsis", "--config", str(tmp_path / "nope.toml")], env=_env(tmp_path)
    )
    assert missing.exit_code == 2
    assert "error: invalid setting: no configuration file at" in missing.output
    bad = runner.invoke(
        app, ["consult", "--backend", "telepathy", "Chest pain?"], env=_env(tmp_path)
    )
    assert bad.exit_code == 2 and "error: invalid setting:" in bad.output
    assert "backend" in bad.output


def test_consult_keeps_its_session_in_the_data_dir_given(tmp_path: Path) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/v1"  # no model: the evidence brief, exit 3
    config = tmp_path / "lingshu-test.toml"
    config.write_text(f"data_dir = {str(tmp_path / 'by-toml')!r}\nbase_url = {nobody!r}\n")
    runner = CliRunner()
    for given in (["--data-dir", str(tmp_path / "by-flag"), "--base-url", nobody],
                  ["--config", str(config)]):  # fmt: skip
        result = runner.invoke(
            app, ["consult", "--json", *given, "Chest pain?"], env=_env(tmp_path)
        )
        assert result.exit_code == 3, result.output
        session = json.loads(result.stdout)["session_id"]
        shown = runner.invoke(app, ["audit", session, *given[:2]], env=_env(tmp_path))
        assert shown.exit_code == 0, shown.output
    assert (tmp_path / "by-flag" / "sessions.sqlite").is_file()
    assert (tmp_path / "by-toml" / "sessions.sqlite").is_file()
    assert not (tmp_path / "xdg").exists()


def test_ingest_and_search_use_the_data_dir_given(tmp_path: Path) -> None:
    guideline = tmp_path / "qsofa.md"
    guideline.write_text(
        "---\ntitle: Test guideline\npublisher: Test\nyear: 2021\n---\n\n"
        "# Screening\n\nA qSOFA score of 2 or more suggests sepsis in adults.\n",
        encoding="utf-8",
    )
    data = tmp_path / "store-here"
    runner = CliRunner()
    added = runner.invoke(
        app, ["ingest", "--data-dir", str(data), str(guideline)], env=_env(tmp_path)
    )
    assert added.exit_code == 0, added.output
    assert "1 added" in added.output and (data / "guidelines").is_dir()
    found = runner.invoke(
        app, ["search", "qSOFA", "--json", "--data-dir", str(data)], env=_env(tmp_path)
    )
    assert found.exit_code == 0, found.output
    assert json.loads(found.stdout)["passages"][0]["title"] == "Test guideline"
    elsewhere = runner.invoke(app, ["search", "qSOFA"], env=_env(tmp_path))
    assert elsewhere.exit_code == 2 and "error: guideline store:" in elsewhere.output


def test_eval_runs_the_agent_arm_in_the_data_dir_given(tmp_path: Path) -> None:
    datasets.medqa(tmp_path / "data")
    data_dir = tmp_path / "agent-data"
    with serving([{"content": "Answer: A"}], repeat_last=True) as model:
        result = CliRunner().invoke(
            app,
            ["eval", "MedQA_USMLE", "--data", str(tmp_path / "data"), "--out",
             str(tmp_path / "out"), "--arms", "agent", "--limit", "1", "--base-url",
             model.base_url, "--data-dir", str(data_dir), "--no-meteor"],
            env=_env(tmp_path),
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (data_dir / "sessions.sqlite").is_file()
    assert not (tmp_path / "xdg").exists()
