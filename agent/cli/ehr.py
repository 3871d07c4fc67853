"""``lingshu ehr import | patients | load-demo``: the embedded FHIR store from the command line."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agent.cli.app import app
from agent.cli.options import with_settings
from agent.cli.output import EXIT_FAILED, console, err, fail, warn
from agent.resources import open_ehr
from agent.settings import Settings
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


Replace = Annotated[
    bool,
    typer.Option(
        "--replace",
        help="Let a resource whose id is already stored under another patient move to the "
        "patient named in the file (refused and named without this).",
    ),
]
ImportPaths = Annotated[
    list[Path], typer.Argument(help="Bundle .json / Bulk Data .ndjson files or folders.")
]


@ehr_app.command("import")
@with_settings(ehr_db=Db)
def import_(paths: ImportPaths, replace: Replace = False, *, settings: Settings) -> None:
    """Import FHIR R4 resources into the embedded store.

    Every bad file or line (not UTF-8/UTF-16 text, not JSON, nested too deeply, not valid
    FHIR R4, an id repeated in one file, an id that belongs to another patient) is skipped
    and named; the rest imports and the counts are true.
    """
    missing = [p for p in paths if not p.exists()]
    if missing:
        fail(f"no such file or folder: {', '.join(map(str, missing))}")
    files = importable_files(paths)
    if not files:
        fail("nothing to import: no .json or .ndjson files there.")
    store = EmbeddedFhirStore(settings.ehr_path)
    try:
        report = _import_files(store, files, replace)
    finally:
        store.close()
    for warning in report.warnings[:_SHOWN_WARNINGS]:
        warn(f"skipped {warning}")
    if report.skipped > _SHOWN_WARNINGS:
        warn(f"... and {report.skipped - _SHOWN_WARNINGS} more skipped")
    kinds = ", ".join(f"{n} {t}" for t, n in sorted(report.by_type.items()))
    console.print(
        f"Imported [bold]{report.imported}[/bold] resources ({kinds or 'none'}), "
        f"skipped [bold]{report.skipped}[/bold], from {len(files)} file(s) into {store.path}."
    )


def _import_files(store: EmbeddedFhirStore, files: list[Path], replace: bool) -> ImportReport:
    report = ImportReport()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("Importing", total=len(files))
        for path in files:
            progress.update(task, description=f"Importing {path.name}")
            report.add(store.import_file(path, replace=replace))
            progress.advance(task)
    return report


@ehr_app.command("load-demo")
@with_settings(ehr_db=Db)
def load_demo(*, settings: Settings) -> None:
    """Load the shipped SYNTHETIC patients (for demonstration only) into the embedded store."""
    store = ensure_demo_patients(settings.ehr_path)
    console.print(
        f"{len(DEMO_PATIENT_IDS)} synthetic patients ready in {store.path}: "
        + ", ".join(DEMO_PATIENT_IDS)
    )
    store.close()


@ehr_app.command("patients")
@with_settings(ehr_db=Db)
def patients(*, settings: Settings) -> None:
    """List the patients in the EHR with a one-line synopsis (age, sex, active problems)."""
    source = open_ehr(settings)
    if source is None:
        fail(
            f"no EHR at {settings.ehr_path}. Run `lingshu ehr import PATH` or "
            "`lingshu ehr load-demo`, or set LINGSHU_FHIR_BASE_URL.",
            EXIT_FAILED,
        )
    try:
        table = Table("patient id", "synopsis")
        for patient in source.patients():
            conditions = source.search("Condition", patient["id"])
            table.add_row(patient["id"], one_line(patient, conditions, date.today()))
    except FhirUnavailable as exc:
        fail(str(exc), EXIT_FAILED)
    finally:
        source.close()
    console.print(table)
