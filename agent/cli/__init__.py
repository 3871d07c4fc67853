"""Command-line interface: ``lingshu consult | chat | demo | doctor | vllm-command ...``."""

from __future__ import annotations

from agent.cli.app import app

# Command modules register themselves on ``app`` when imported.
from agent.cli import coding as _coding  # noqa: F401  isort: skip
from agent.cli import consult as _consult  # noqa: F401  isort: skip
from agent.cli import demo as _demo  # noqa: F401  isort: skip
from agent.cli import doctor as _doctor  # noqa: F401  isort: skip
from agent.cli import records as _records  # noqa: F401  isort: skip
from agent.cli import ehr as _ehr  # noqa: F401  isort: skip
from agent.cli import ingest as _ingest  # noqa: F401  isort: skip
from agent.cli import serving as _serving  # noqa: F401  isort: skip
from agent.cli import serve as _serve  # noqa: F401  isort: skip


def main() -> None:
    app()


__all__ = ["app", "main"]
