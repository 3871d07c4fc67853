"""The CLI starts without importing what a command does not use, and lists every command."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from agent.cli import COMMANDS, app
from agent.cli.app import ALIASES, load_command

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ["torch", "sentence_transformers", "chromadb", "openai", "agent.graph", "agent.session"]

PROBE = """
import json, sys
sys.argv = ["lingshu", *sys.argv[1:]]
from agent.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
heavy = [m for m in HEAVY if m in sys.modules]
print("\\n@@" + json.dumps({"code": code, "heavy": heavy}))
"""


def _probe(*args: str) -> tuple[int, list[str], str]:
    env = os.environ | {"HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", f"HEAVY = {HEAVY!r}\n" + PROBE, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output, _, tail = done.stdout.rpartition("\n@@")
    result = json.loads(tail)
    return result["code"], result["heavy"], output + done.stderr


def test_help_lists_every_command_without_importing_them() -> None:
    code, heavy, output = _probe("--help")
    assert code == 0 and heavy == []
    for name in COMMANDS:
        assert name in output


def test_patients_runs_without_the_graph_or_the_embedding_model(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert CliRunner().invoke(app, ["ehr", "load-demo", "--data-dir", str(data)]).exit_code == 0
    code, heavy, output = _probe("patients", "--data-dir", str(data))
    assert code == 0, output
    assert heavy == []
    assert len([line for line in output.splitlines() if line.strip()]) >= 10  # demo patients


def test_the_command_table_matches_what_the_modules_register() -> None:
    # Every module of the CLI package, so that a new command module left out of the
    # table is found here rather than by a user whose command is missing.
    import agent.cli

    for found in pkgutil.iter_modules(agent.cli.__path__):
        if found.name != "__main__":
            importlib.import_module(f"agent.cli.{found.name}")
    for name, (module, _) in COMMANDS.items():
        assert load_command(name) is not None, f"{module} does not register {name!r}"
    group = typer.main.get_command(app)
    assert isinstance(group, TyperGroup)
    registered = set(group.commands)
    assert registered - set(COMMANDS) == set(), "a command is missing from agent.cli.app.COMMANDS"
    for name, (_, short_help) in COMMANDS.items():
        command = load_command(name)
        assert command is not None
        real = command.get_short_help_str(limit=200)
        assert real == short_help, f"{name}: the table says {short_help!r}, the command {real!r}"
    assert set(ALIASES) <= set(COMMANDS)


def test_a_lazily_loaded_command_runs_and_reports_bad_input() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["icd10", "I21.4", "--json"])
    assert result.exit_code == 0, result.output
    assert "I21.4" in result.output
    result = runner.invoke(app, ["no-such-command"])
    assert result.exit_code == 2 and "No such command" in result.output
