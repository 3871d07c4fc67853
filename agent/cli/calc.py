"""``lingshu calc`` and ``lingshu phenotypes``: scores and a rare-disease differential.

Both run the same tools the agent calls (``calculate``, ``phenotype_differential``),
against the configured EHR when ``--patient`` is given. For demonstration and education.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from agent.cli.app import app
from agent.cli.options import with_settings
from agent.cli.output import EXIT_FAILED, console, fail
from agent.settings import Settings
from tools.evidence import EvidenceLedger
from tools.runtime import ToolContext, ToolError, tool_runtime

Patient = Annotated[
    str | None, typer.Option("--patient", help="Read this patient's record (the EHR in settings).")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def _value(text: str) -> Any:
    lowered = text.strip().lower()
    if lowered in {"true", "yes", "y"}:
        return True
    if lowered in {"false", "no", "n"}:
        return False
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text.strip()


def _context(patient: str | None, settings: Settings, as_of: str | None = None) -> ToolContext:
    ehr = None
    if patient:
        from agent.resources import open_ehr

        ehr = open_ehr(settings)
        if ehr is None:
            fail("no EHR is configured (run `lingshu ehr load-demo` or set one).")
        if ehr.patient(patient) is None:
            fail(f"no patient {patient!r} in the EHR.")
    extras = {"as_of": as_of} if as_of else {}
    return ToolContext(ledger=EvidenceLedger(), patient_id=patient, ehr=ehr, extras=extras)


def _run(tool: Any, args: dict[str, Any], ctx: ToolContext, as_json: bool) -> None:
    try:
        content, artifact = tool.func(**args, runtime=tool_runtime(ctx))
    except ToolError as exc:
        fail(str(exc), EXIT_FAILED)
    if as_json:
        references = {e: ctx.ledger.get(e) for e in artifact.get("evidence", [])}
        console.print_json(json.dumps({**artifact, "references": references}, default=str))
        return
    console.print(escape(content))
    refs = [ctx.ledger.get(e) for e in artifact.get("evidence", [])]
    if refs:
        table = Table(title="References", title_justify="left")
        table.add_column("Id", style="bold cyan", no_wrap=True)
        table.add_column("Source")
        for record in refs:
            if record is None:
                continue
            url = record["citation"].get("url") or ""
            table.add_row(record["id"], escape(f"{record['label']} {url}".strip()))
        console.print(table)


@app.command("calc")
@with_settings()
def calc(
    query: Annotated[
        list[str] | None, typer.Argument(help='A score ("CURB-65") or a question ("pneumonia").')
    ] = None,
    patient: Patient = None,
    value: Annotated[
        list[str] | None,
        typer.Option("--value", "-v", help="A reported value, name=value (confusion=false)."),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="'Now' for the windows (ISO date-time).")
    ] = None,
    list_all: Annotated[bool, typer.Option("--list", help="List every calculator.")] = False,
    as_json: AsJson = False,
    *,
    settings: Settings,
) -> None:
    """Compute a clinical score from a patient's record (and reported values), with its DOI."""
    from knowledge.scores import calculators
    from tools.scores import calculate

    if list_all or not query:
        table = Table(title=f"{len(calculators())} calculators (open-medicine)")
        table.add_column("Name", style="bold cyan", no_wrap=True)
        table.add_column("Score")
        table.add_column("What it does")
        for calc_ in sorted(calculators().values(), key=lambda c: c.key):
            table.add_row(calc_.key, escape(calc_.title), escape(calc_.description))
        console.print(table)
        return
    reported: dict[str, Any] = {}
    for item in value or []:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            fail(f"--value takes name=value, got {item!r}")
        reported[name.strip()] = _value(raw)
    ctx = _context(patient, settings, as_of)
    _run(calculate, {"calculator": " ".join(query), "reported": reported or None}, ctx, as_json)


@app.command("phenotypes")
@with_settings()
def phenotypes(
    findings: Annotated[
        list[str] | None, typer.Argument(help='Findings in words ("tall, ectopia lentis").')
    ] = None,
    patient: Patient = None,
    k: Annotated[int, typer.Option("--k", min=1, max=15, help="How many candidates.")] = 8,
    as_json: AsJson = False,
    *,
    settings: Settings,
) -> None:
    """Rank rare diseases (OMIM, Orphanet) by phenotype similarity (HPO), offline."""
    from tools.phenotypes import phenotype_differential

    ctx = _context(patient, settings)
    args = {"findings": " ".join(findings or []), "use_record": bool(patient), "k": k}
    _run(phenotype_differential, args, ctx, as_json)
