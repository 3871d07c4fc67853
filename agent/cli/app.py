"""The Typer application object; command modules register on it."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="lingshu",
    help="Lingshu clinical reasoning agent: cited, verified differentials from a medical LLM.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
