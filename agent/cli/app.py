"""The Typer application object, whose commands are imported only when they run.

Importing every command module costs seconds (the graph, the OpenAI SDK, torch via
sentence-transformers, the ICD-10 tables), which ``lingshu --help`` and ``lingshu
patients`` should not pay. ``COMMANDS`` names each top-level command, the module
that registers it on ``app`` and its one-line help; the group lists commands from
that table and imports a command's module when the command is run (or its own
``--help`` is asked for). ``tests/guidelines/test_cli_startup.py`` checks the table
against what the modules register.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

COMMANDS: dict[str, tuple[str, str]] = {
    "api-key": (
        "agent.cli.serve",
        "Make an API key: its hash goes into the keys file, the key is printed once.",
    ),
    "audit": (
        "agent.cli.records",
        "Show the audit trail of a session: every model call, repair, tool call and record read.",
    ),
    "calc": (
        "agent.cli.calc",
        "Compute a clinical score from a patient's record (and reported values), with its DOI.",
    ),
    "chat": (
        "agent.cli.consult",
        "A multi-turn consultation in the terminal; the session is saved after every step.",
    ),
    "consult": (
        "agent.cli.consult",
        "Ask one question (with images and a patient) and print the cited answer.",
    ),
    "demo": (
        "agent.cli.demo",
        "Run a bundled sample case end to end (default: the synthetic chest-pain patient).",
    ),
    "doctor": (
        "agent.cli.doctor",
        "Say which model is set up and whether it answers, where sessions are, which stores exist.",
    ),
    "ehr": (
        "agent.cli.ehr",
        "The EHR: import FHIR R4 Bundles / Bulk Data NDJSON, list patients.",
    ),
    "eval": (
        "agent.cli.eval",
        "Run benchmarks through the bare model and the agent; write records, summary, page.",
    ),
    "icd10": (
        "agent.cli.coding",
        "Find ICD-10-CM codes for a diagnosis term, or say whether a code exists and is billable.",
    ),
    "ingest": (
        "agent.cli.ingest",
        "Add guideline files to the store (only new or changed files are embedded).",
    ),
    "mcp": (
        "agent.cli.mcp",
        "Serve the agent's tools and `consult` over MCP (stdio or streamable HTTP).",
    ),
    "patients": (
        "agent.cli.ehr",
        "List the patients in the EHR with a one-line synopsis (age, sex, active problems).",
    ),
    "phenotypes": (
        "agent.cli.calc",
        "Rank rare diseases (OMIM, Orphanet) by phenotype similarity (HPO), offline.",
    ),
    "prices": (
        "agent.cli.prices",
        "Show test prices (CPT/HCPCS, USD, source, year), or look one test up by name or code.",
    ),
    "report": (
        "agent.cli.consult",
        "Write a structured imaging report (Findings / Impression) citing the images.",
    ),
    "search": (
        "agent.cli.ingest",
        "Search the guideline store as the agent does, without a model.",
    ),
    "serve": (
        "agent.cli.serve",
        "Serve the sessions API, the OpenAI-compatible endpoint and the web chat page.",
    ),
    "vllm-command": (
        "agent.cli.serving",
        'Print the `vllm serve` command for Lingshu (run it: eval "$(lingshu vllm-command)").',
    ),
}
"""Top-level command -> (module that registers it, one-line help)."""

ALIASES: dict[str, tuple[str, ...]] = {"patients": ("ehr", "patients")}
"""Top-level shortcuts for a subcommand: ``lingshu patients`` is ``lingshu ehr patients``."""


def load_command(name: str) -> Any:
    """The real command ``name`` (a Typer command or group), importing its module."""
    module, _ = COMMANDS[name]
    importlib.import_module(module)
    command: Any = typer.main.get_command(app)
    if not isinstance(command, TyperGroup):  # pragma: no cover - app always has a callback
        raise TypeError("the lingshu app is not a command group")
    for part in ALIASES.get(name, (name,)):
        command = command.commands.get(part) if isinstance(command, TyperGroup) else None
    return command


class _LazyCommand(TyperCommand):
    """Stands for a command in listings; becomes the real one when it is run."""

    def __init__(self, name: str, short_help: str) -> None:
        super().__init__(name=name, short_help=short_help, help=short_help)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: Any = None,
        **extra: Any,
    ) -> Any:
        real = load_command(self.name or "")
        if real is None:  # pragma: no cover - the table test keeps COMMANDS true
            raise RuntimeError(f"command {self.name!r} is not registered by its module")
        return real.make_context(info_name, args, parent=parent, **extra)


class LazyGroup(TyperGroup):
    """A Typer group that lists ``COMMANDS`` and imports a command's module on use."""

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in COMMANDS:
            return command
        return _LazyCommand(cmd_name, COMMANDS[cmd_name][1])


app = typer.Typer(
    name="lingshu",
    cls=LazyGroup,
    help="Lingshu clinical reasoning agent: cited, verified differentials from a medical LLM.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _root() -> None:
    """Lingshu clinical reasoning agent: cited, verified differentials from a medical LLM."""
