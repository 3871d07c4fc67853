"""``lingshu ehr import | patients | load-demo``: the embedded FHIR store from the command line."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agent.cli.app import app
from agent.cli.options import DataDir, build_settings, console, err
from agent.resources import _open_ehr
from knowledge.ehr import (
    DEMO_PATIENT_IDS,
    EmbeddedFhirStore,
    FhirUnavailable,
    ImportReport,
    ensure_demo_patients,
    importable_files,
)
from knowledge.ehr.records import one_line

ehr_app = typer.Typer(
    help="The EHR: import FHIR R4 Bundles / Bulk Data NDJSON, list patients.",
    no_args_is_help=True,
)
app.add_typer(ehr_app, name="ehr")

Db = Annotated[
    Path | None, typer.Option("--db", help="Embedded EHR store (default: DATA_DIR/ehr.sqlite).")
]
_SHOWN_WARNINGS = 20


def _store_path(db: Path | None, data_dir: Path | None) -> Path:
    return db or build_settings(data_dir=data_dir).ehr_path


@ehr_app.command("import")
def import_(
    paths: Annotated[
        list[Path], typer.Argument(help="Bundle .json / Bulk Data .ndjson files or folders.")
    ],
    db: Db = None,
    data_dir: DataDir = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Let a resource whose id is already stored under another patient move to the "
            "patient named in the file (refused and named without this).",
        ),
    ] = False,
) -> None:
    """Import FHIR R4 resources into the embedded store.

    Every bad file or line (not UTF-8/UTF-16 text, not JSON, nested too deeply, not valid
    FHIR R4, an id repeated in one file, an id that belongs to another patient) is skipped
    and named; the rest imports and the counts are true.
    """
    missing = [p for p in paths if not p.exists()]
    if missing:
        err.print(f"[red]No such file or folder:[/red] {', '.join(map(str, missing))}")
        raise typer.Exit(2)
    files = importable_files(paths)
    if not files:
        err.print("[red]Nothing to import:[/red] no .json or .ndjson files there.")
        raise typer.Exit(2)
    store = EmbeddedFhirStore(_store_path(db, data_dir))
    report = ImportReport()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("Importing", total=len(files))
        for path in files:
            progress.update(task, description=f"Importing {path.name}")
            report.add(store.import_file(path, replace=replace))
            progress.advance(task)
    store.close()
    for warning in report.warnings[:_SHOWN_WARNINGS]:
        err.print(f"[yellow]skipped[/yellow] {warning}")
    if report.skipped > _SHOWN_WARNINGS:
        err.print(f"[yellow]... and {report.skipped - _SHOWN_WARNINGS} more skipped[/yellow]")
    kinds = ", ".join(f"{n} {t}" for t, n in sorted(report.by_type.items()))
    console.print(
        f"Imported [bold]{report.imported}[/bold] resources ({kinds or 'none'}), "
        f"skipped [bold]{report.skipped}[/bold], from {len(files)} file(s) into {store.path}."
    )


@ehr_app.command("load-demo")
def load_demo(db: Db = None, data_dir: DataDir = None) -> None:
    """Load the shipped SYNTHETIC patients (for demonstration only) into the embedded store."""
    store = ensure_demo_patients(_store_path(db, data_dir))
    console.print(
        f"{len(DEMO_PATIENT_IDS)} synthetic patients ready in {store.path}: "
        + ", ".join(DEMO_PATIENT_IDS)
    )
    store.close()


@ehr_app.command("patients")
def patients(db: Db = None, data_dir: DataDir = None) -> None:
    """List the patients in the EHR with a one-line synopsis (age, sex, active problems)."""
    settings = build_settings(data_dir=data_dir, **({"ehr_db": db} if db else {}))
    source = _open_ehr(settings)
    if source is None:
        err.print(
            f"No EHR at {settings.ehr_path}. Run `lingshu ehr import PATH` or "
            "`lingshu ehr load-demo`, or set LINGSHU_FHIR_BASE_URL."
        )
        raise typer.Exit(1)
    try:
        table = Table("patient id", "synopsis")
        for patient in source.patients():
            conditions = source.search("Condition", patient["id"])
            table.add_row(patient["id"], one_line(patient, conditions, date.today()))
    except FhirUnavailable as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    finally:
        source.close()
    console.print(table)
