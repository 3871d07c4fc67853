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
from agent.cli.options import DataDir, build_settings, console, err
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


def _settings(data_dir: Path | None, store: Path | None, **more: Any) -> Settings:
    return build_settings(data_dir=data_dir, guideline_dir=store, **more)


def _open(settings: Settings, *, create: bool, rebuild: bool = False) -> GuidelineStore:
    from knowledge.guidelines import GuidelineStore, StoreError

    try:
        return GuidelineStore.open(
            settings.guideline_path,
            embedding_model=settings.embedding_model,
            chroma_url=settings.chroma_url,
            collection=settings.guideline_collection,
            create=create,
            rebuild=rebuild,
            reranker=settings.guideline_reranker,
        )
    except StoreError as exc:
        err.print(f"[red]Guideline store:[/red] {exc}")
        raise typer.Exit(2) from None


@app.command()
def ingest(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Files or folders: Markdown, text, HTML, PDF."),
    ] = None,
    starter: Annotated[
        bool,
        typer.Option(
            "--starter",
            help="Also ingest the starter corpus (open-medicine's guidelines + the project's).",
        ),
    ] = False,
    open_medicine: Annotated[
        bool,
        typer.Option(
            "--open-medicine",
            help="Also ingest the guideline summaries of the installed open-medicine package.",
        ),
    ] = False,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Drop the store and embed everything again.")
    ] = False,
    prune: Annotated[
        bool, typer.Option("--prune", help="Drop files that are gone from the given folders.")
    ] = False,
    chunk_tokens: Annotated[int | None, typer.Option(help="Chunk size in tokens.")] = None,
    chunk_overlap: Annotated[int | None, typer.Option(help="Overlap in tokens.")] = None,
    store: StoreDir = None,
    chroma_url: ChromaUrl = None,
    embedding_model: EmbeddingModel = None,
    data_dir: DataDir = None,
) -> None:
    """Add guideline files to the store (only new or changed files are embedded)."""
    from knowledge.guidelines import ChunkConfig, ingest_paths
    from knowledge.guidelines.registry import open_medicine_guidelines
    from knowledge.guidelines.starter import starter_roots

    settings = _settings(
        data_dir,
        store,
        chroma_url=chroma_url,
        embedding_model=embedding_model,
        guideline_chunk_tokens=chunk_tokens,
        guideline_chunk_overlap=chunk_overlap,
    )
    roots = list(paths or []) + (starter_roots() if starter else [])
    if open_medicine:
        folder = open_medicine_guidelines()
        if folder is None:
            err.print("[red]open-medicine is not installed:[/red] pip install open-medicine")
            raise typer.Exit(2)
        roots.append(folder)
    if not roots:
        err.print(
            "[red]Nothing to ingest:[/red] give files or folders, --starter or --open-medicine."
        )
        raise typer.Exit(2)
    try:
        chunking = ChunkConfig(settings.guideline_chunk_tokens, settings.guideline_chunk_overlap)
    except ValueError as exc:
        err.print(f"[red]Invalid chunking:[/red] {exc}")
        raise typer.Exit(2) from None
    guideline_store = _open(settings, create=True, rebuild=rebuild)
    with progress_bars() as bars:
        report = ingest_paths(
            guideline_store, roots, chunking=chunking, prune=prune, progress=RichProgress(bars)
        )
    for source, reason in report.failed:
        err.print(f"[red]Skipped[/red] {source}: {reason}")
    console.print(
        f"[green]Guideline store[/green] {guideline_store.location}: "
        f"{len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.pruned)} pruned, "
        f"{len(report.failed)} failed; {guideline_store.count()} chunks "
        f"({guideline_store.model_name}) in {report.seconds:.1f} s."
    )
    if report.failed:
        raise typer.Exit(1)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("--k", "-k", min=1, max=50, help="How many passages.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
    publisher: Annotated[str | None, typer.Option(help="Publisher word, e.g. ESC.")] = None,
    year_from: Annotated[int | None, typer.Option(help="Published in or after.")] = None,
    year_to: Annotated[int | None, typer.Option(help="Published in or before.")] = None,
    tag: Annotated[str | None, typer.Option(help="Specialty tag, e.g. cardiology.")] = None,
    mode: Annotated[str, typer.Option(help="hybrid | dense | lexical.")] = "hybrid",
    expand: Annotated[
        bool,
        typer.Option(
            "--expand/--no-expand",
            help="Add the conditions the question's findings suggest (as the agent does).",
        ),
    ] = True,
    store: StoreDir = None,
    chroma_url: ChromaUrl = None,
    embedding_model: EmbeddingModel = None,
    data_dir: DataDir = None,
) -> None:
    """Search the guideline store as the agent does, without a model."""
    from knowledge.guidelines import Filters, StoreError
    from knowledge.guidelines.expansion import default_lexicon

    if mode not in ("hybrid", "dense", "lexical"):
        err.print(f"[red]Unknown mode[/red] {mode!r}: hybrid, dense or lexical.")
        raise typer.Exit(2)
    settings = _settings(data_dir, store, chroma_url=chroma_url, embedding_model=embedding_model)
    guideline_store = _open(settings, create=False)
    filters = Filters(publisher=publisher, year_min=year_from, year_max=year_to, tag=tag)
    try:
        hits = guideline_store.search(
            query, k=k, filters=filters, mode=cast("SearchMode", mode), expand=expand
        )
    except StoreError as exc:
        err.print(f"[red]Search failed:[/red] {exc}")
        raise typer.Exit(1) from None
    suggested = [c.name for c in default_lexicon().candidates(query)] if expand else []
    passages = [_passage(rank, hit) for rank, hit in enumerate(hits, start=1)]
    if as_json:
        shown = {"query": query, "mode": mode, "expanded_with": suggested, "passages": passages}
        typer.echo(json.dumps(shown))
        return
    if suggested:
        console.print(f"Also searched for: {', '.join(suggested)}", style="dim", markup=False)
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
