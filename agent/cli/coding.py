"""``lingshu icd10 TERM``: ICD-10-CM codes for a diagnosis term, or a check of one code."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from agent.cli.app import app
from agent.cli.output import console
from knowledge.icd10 import check_code, looks_like_code, lookup, release


def _table(title: str, rows: list[tuple[str, bool, str]]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("Code", style="bold cyan", no_wrap=True)
    table.add_column("Billable")
    table.add_column("Description")
    for code, billable, description in rows:
        mark = "[green]yes[/green]" if billable else "[yellow]category[/yellow]"
        table.add_row(code, mark, description)
    return table


@app.command("icd10")
def icd10(
    term: Annotated[list[str], typer.Argument(help="A diagnosis in words, or a code (I21.4).")],
    k: Annotated[int, typer.Option("--k", min=1, max=50, help="How many codes to show.")] = 8,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Find ICD-10-CM codes for a diagnosis term, or say whether a code exists and is billable."""
    text = " ".join(term).strip()
    check = check_code(text) if looks_like_code(text) else None
    if check is not None and not check.exists:
        matches = [m for c in check.candidates[:k] for m in lookup(c, 1)]
    else:
        matches = lookup(text, k)
    if as_json:
        payload = {
            "term": text,
            "release": release(),
            "check": check.to_dict() if check else None,
            "matches": [m.to_dict() for m in matches],
        }
        console.print_json(json.dumps(payload))
        return
    if check is not None:
        if check.exists:
            state = "billable" if check.billable else "a category (not billable)"
            console.print(f"[bold]{check.code}[/bold] exists and is {state}: {check.description}")
        else:
            console.print(f"[red]{check.suggestion.split(';')[0]}.[/red]")
    if not matches:
        console.print(f"No ICD-10-CM code matches {text!r}.")
        raise typer.Exit(1 if check is None else 0)
    title = f"ICD-10-CM ({release()}) for {text!r}"
    if check is not None and not check.exists:
        title = f"Closest ICD-10-CM codes to {check.code}"
    console.print(_table(title, [(m.code, m.billable, m.description) for m in matches]))
