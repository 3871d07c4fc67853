"""The command line's one console for results (stdout), one for everything else (stderr),
and its one way to stop with an error: ``fail(message, code)``.

Results (answers, tables, JSON) go to ``console``; progress, notes, warnings and errors
go to ``err``, so ``lingshu ... --json > out.json`` and MCP over stdio keep stdout clean.
Every error reads ``error: <what went wrong>`` and ends the command with its exit code.
"""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.text import Text

console = Console()
"""Results: stdout."""
err = Console(stderr=True, soft_wrap=True)
"""Progress, notes, warnings and errors: stderr."""

EXIT_FAILED, EXIT_INPUT = 1, 2
"""Something failed while running / the input (an option, a file, a setting) was refused."""


def fail(message: str, code: int = EXIT_INPUT) -> NoReturn:
    """Print ``error: message`` on stderr (as plain text: no markup is read in it) and exit."""
    err.print(Text.assemble(("error: ", "bold red"), message))
    raise typer.Exit(code)


def warn(message: str) -> None:
    """A note on stderr that something was skipped or is not as asked; the command goes on."""
    err.print(Text.assemble(("warning: ", "yellow"), message))


__all__ = ["EXIT_FAILED", "EXIT_INPUT", "console", "err", "fail", "warn"]
