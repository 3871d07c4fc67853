"""``lingshu audit SESSION`` (every record read in a session) and ``lingshu patients``."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from agent.cli.app import app
from agent.cli.ehr import patients as ehr_patients
from agent.cli.options import DataDir, build_settings, console, err
from agent.session import Lingshu, UnknownSession

app.command("patients", help="List the patients in the EHR store, one line each (no identifiers).")(
    ehr_patients
)


def _brief(resources: list[str], shown: int = 3) -> str:
    if not resources:
        return "-"
    more = f" (+{len(resources) - shown} more; --json lists all)" if len(resources) > shown else ""
    return f"{len(resources)}: " + ", ".join(resources[:shown]) + more


@app.command()
def audit(
    session: Annotated[str, typer.Argument(help="The session id.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Show the audit trail of a session: every tool call and record read, with its time."""
    settings = build_settings(data_dir=data_dir)
    try:
        state = Lingshu(settings).state(session)
    except UnknownSession as exc:
        err.print(f"[red]Error:[/red] {exc}")
        raise typer.Exit(2) from None
    entries = state.get("audit") or []
    if as_json:
        for entry in entries:
            print(json.dumps({"session_id": session, **entry}, ensure_ascii=False, default=str))
        return
    table = Table(title=f"audit of session {session} (patient {state.get('patient_id') or '-'})")
    for column in ("time", "turn", "tool", "status", "ms", "records read"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        table.add_row(
            str(entry.get("time", "")),
            str(entry.get("turn", "")),
            entry.get("tool", ""),
            entry.get("status", ""),
            str(entry.get("ms", "")),
            _brief(entry.get("resources", [])),
        )
    console.print(table)
