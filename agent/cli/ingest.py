"""``lingshu ingest`` (build the guideline store) and ``lingshu search`` (query it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from rich.markdown import Markdown
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from agent.cli.app import app
from agent.cli.options import with_settings
from agent.cli.output import EXIT_FAILED, console, err, fail, warn
from agent.resources import open_guideline_store
from agent.settings import Settings

if TYPE_CHECKING:
    from knowledge.guidelines import GuidelineStore
    from knowledge.guidelines.store import SearchMode

StoreDir = Annotated[
    Path | None,
    typer.Option("--store", help="Guideline store folder (default: DATA_DIR/guidelines)."),
]
ChromaUrl = Annotated[
    str | None,
    typer.Option("--chroma-url", help="A Chroma server, e.g. http://127.0.0.1:8001."),
]
EmbeddingModel = Annotated[
    str | None,
    typer.Option("--embedding-model", help="sentence-transformers model name or local path."),
]


class RichProgress:
    """Rich progress bars for the files and the embedding batches of an ingest."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def start(self, task: str, total: int) -> None:
        label = {"files": "Reading files", "embedding": "Embedding chunks"}.get(task, task)
        self._tasks[task] = self._progress.add_task(label, total=total, detail="")

    def advance(self, task: str, n: int = 1, detail: str = "") -> None:
        self._progress.update(self._tasks[task], advance=n, detail=detail)


def progress_bars() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[detail]}", style="dim"),
        console=err,
    )


STORE_OPTIONS: dict[str, Any] = {
    "guideline_dir": StoreDir,
    "chroma_url": ChromaUrl,
    "embedding_model": EmbeddingModel,
}
"""The guideline store's settings, as options of ``ingest`` and ``search``."""
Paths = Annotated[
    list[Path] | None, typer.Argument(help="Files or folders: Markdown, text, HTML, PDF.")
]
Starter = Annotated[
    bool,
    typer.Option(
        "--starter",
        help="Also ingest the starter corpus (open-medicine's guidelines + the project's).",
    ),
]
OpenMedicine = Annotated[
    bool,
    typer.Option(
        "--open-medicine",
        help="Also ingest the guideline summaries of the installed open-medicine package.",
    ),
]
Rebuild = Annotated[
    bool, typer.Option("--rebuild", help="Drop the store and embed everything again.")
]
Prune = Annotated[
    bool, typer.Option("--prune", help="Drop files that are gone from the given folders.")
]
ChunkTokens = Annotated[int | None, typer.Option("--chunk-tokens", help="Chunk size in tokens.")]
ChunkOverlap = Annotated[int | None, typer.Option("--chunk-overlap", help="Overlap in tokens.")]
K = Annotated[int, typer.Option("--k", "-k", min=1, max=50, help="How many passages.")]
AsJson = Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")]
Publisher = Annotated[str | None, typer.Option(help="Publisher word, e.g. ESC.")]
YearFrom = Annotated[int | None, typer.Option(help="Published in or after.")]
YearTo = Annotated[int | None, typer.Option(help="Published in or before.")]
Tag = Annotated[str | None, typer.Option(help="Specialty tag, e.g. cardiology.")]
SearchModeOption = Annotated[str, typer.Option(help="hybrid | dense | lexical.")]
Expand = Annotated[
    bool,
    typer.Option(
        "--expand/--no-expand",
        help="Add the conditions the question's findings suggest (as the agent does).",
    ),
]


def _open(settings: Settings, *, create: bool, rebuild: bool = False) -> GuidelineStore:
    from knowledge.guidelines import StoreError

    try:
        return open_guideline_store(settings, create=create, rebuild=rebuild)
    except StoreError as exc:
        fail(f"guideline store: {exc}")


@app.command()
@with_settings(
    **STORE_OPTIONS, guideline_chunk_tokens=ChunkTokens, guideline_chunk_overlap=ChunkOverlap
)
def ingest(
    paths: Paths = None,
    starter: Starter = False,
    open_medicine: OpenMedicine = False,
    rebuild: Rebuild = False,
    prune: Prune = False,
    *,
    settings: Settings,
) -> None:
    """Add guideline files to the store (only new or changed files are embedded)."""
    from knowledge.guidelines import ChunkConfig, ingest_paths

    roots = _roots(paths, starter, open_medicine)
    try:
        chunking = ChunkConfig(settings.guideline_chunk_tokens, settings.guideline_chunk_overlap)
    except ValueError as exc:
        fail(f"invalid chunking: {exc}")
    guideline_store = _open(settings, create=True, rebuild=rebuild)
    with progress_bars() as bars:
        report = ingest_paths(
            guideline_store, roots, chunking=chunking, prune=prune, progress=RichProgress(bars)
        )
    for source, reason in report.failed:
        warn(f"skipped {source}: {reason}")
    console.print(
        f"[green]Guideline store[/green] {guideline_store.location}: "
        f"{len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.pruned)} pruned, "
        f"{len(report.failed)} failed; {guideline_store.count()} chunks "
        f"({guideline_store.model_name}) in {report.seconds:.1f} s."
    )
    if report.failed:
        raise typer.Exit(1)


def _roots(paths: list[Path] | None, starter: bool, open_medicine: bool) -> list[Path]:
    """The files and folders to ingest: those given, the starter corpus, open-medicine's."""
    from knowledge.guidelines.registry import open_medicine_guidelines
    from knowledge.guidelines.starter import starter_roots

    roots = list(paths or []) + (starter_roots() if starter else [])
    if open_medicine:
        folder = open_medicine_guidelines()
        if folder is None:
            fail("open-medicine is not installed: pip install open-medicine")
        roots.append(folder)
    if not roots:
        fail("nothing to ingest: give files or folders, --starter or --open-medicine.")
    return roots


@app.command()
@with_settings(**STORE_OPTIONS)
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: K = 5,
    as_json: AsJson = False,
    publisher: Publisher = None,
    year_from: YearFrom = None,
    year_to: YearTo = None,
    tag: Tag = None,
    mode: SearchModeOption = "hybrid",
    expand: Expand = True,
    *,
    settings: Settings,
) -> None:
    """Search the guideline store as the agent does, without a model."""
    from knowledge.guidelines import Filters, StoreError
    from knowledge.guidelines.expansion import default_lexicon

    if mode not in ("hybrid", "dense", "lexical"):
        fail(f"unknown mode {mode!r}: hybrid, dense or lexical.")
    guideline_store = _open(settings, create=False)
    filters = Filters(publisher=publisher, year_min=year_from, year_max=year_to, tag=tag)
    try:
        hits = guideline_store.search(
            query, k=k, filters=filters, mode=cast("SearchMode", mode), expand=expand
        )
    except StoreError as exc:
        fail(f"search failed: {exc}", EXIT_FAILED)
    suggested = [c.name for c in default_lexicon().candidates(query)] if expand else []
    passages = [_passage(rank, hit) for rank, hit in enumerate(hits, start=1)]
    if as_json:
        shown = {"query": query, "mode": mode, "expanded_with": suggested, "passages": passages}
        typer.echo(json.dumps(shown))
        return
    if suggested:
        console.print(f"Also searched for: {', '.join(suggested)}", style="dim", markup=False)
    _print_passages(passages)


def _print_passages(passages: list[dict[str, Any]]) -> None:
    if not passages:
        console.print("No passage found.")
        return
    table = Table(show_lines=True)
    for column in ("#", "score", "guideline", "passage"):
        table.add_column(column)
    for p in passages:
        source = f"[bold]{p['title']}[/bold]\n{p['section']}\n{p['publisher']} {p['year'] or ''}"
        passage = Markdown(p["text"])  # a passage that is a Markdown table prints as a table
        table.add_row(str(p["rank"]), f"{p['score']:.4f}", f"{source}\n{p['url']}", passage)
    console.print(table)


def _passage(rank: int, hit: Any) -> dict[str, Any]:
    chunk = hit.chunk
    return (
        {"rank": rank, "score": round(float(hit.score), 6)}
        | chunk.citation()
        | {"text": chunk.text}
    )
