"""``lingshu prices``: the test price table the sequential mode weighs tests with.

Shows the shipped table, or the table with a user's CSV (``--file`` or the setting
``price_table``) laid over it, and looks a test up by name, synonym or code. A bad
row of the user's CSV is named (row, column) and the command exits 2. For
demonstration and education: not for billing, not for clinical use.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from agent.cli.app import app
from agent.cli.options import with_settings
from agent.cli.output import console, err, fail
from agent.settings import Settings
from knowledge.costs import NOTICE, PriceRow, PriceTableError, load_table


def _price(row: PriceRow) -> str:
    return "price unknown" if row.price_usd is None else f"${row.price_usd:,.2f}"


@app.command("prices")
@with_settings()
def prices(
    settings: Settings,
    term: Annotated[
        list[str] | None, typer.Argument(help="A test's name, synonym or CPT/HCPCS code.")
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="Your own price CSV (same columns).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Show test prices (CPT/HCPCS, USD, source, year), or look one test up by name or code."""
    try:
        table = load_table(file or settings.price_table)
    except PriceTableError as exc:
        fail(str(exc))
    rows = list(table.rows.values())
    if term:
        text = " ".join(term)
        found = table.lookup(text)
        if found is None:
            fail(f"no test in the price table matches {text!r}")
        rows = [found]
    if as_json:
        console.print_json(json.dumps({"rows": [r.to_dict() for r in rows], "notice": NOTICE}))
        return
    view = Table("Code", "Test", "Price (USD)", "Source", "Year")
    for row in rows:
        view.add_row(
            row.code, escape(row.name), _price(row), escape(row.source), str(row.year or "")
        )
    console.print(view)
    err.print(NOTICE)
