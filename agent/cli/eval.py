"""``lingshu eval``: benchmarks through the bare model and through the agent (package evals/)."""

from __future__ import annotations

import asyncio
import webbrowser
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agent.cli.app import app
from agent.cli.options import build_settings, console, err


@app.command("eval")
def eval_command(
    benchmarks: Annotated[
        list[str],
        typer.Argument(
            help="Benchmarks by MedEvalKit's names: VQA_RAD SLAKE PATH_VQA PMC_VQA "
            "OmniMedVQA MMMU-Medical-val MedXpertQA-MM MedXpertQA-Text MedQA_USMLE MedMCQA "
            "PubMedQA Medbullets_op4 Medbullets_op5 MMLU-medical IU_XRAY MIMIC_CXR DDXPlus FHIR "
            "Consult."
        ),
    ],
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            help="Folder with one sub-folder per benchmark (EVALUATION.md lists the layouts).",
        ),
    ],
    out: Annotated[
        Path,
        typer.Option("--out", help="Output folder; a re-run skips items already scored there."),
    ],
    arms: Annotated[str, typer.Option("--arms", help="bare, agent, or bare,agent.")] = "bare,agent",
    limit: Annotated[
        int | None, typer.Option("--limit", help="The first N items of each benchmark.")
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", help="Items in flight at once.")
    ] = 64,
    base_url: Annotated[
        list[str] | None,
        typer.Option(
            "--base-url",
            help="OpenAI-compatible endpoint; repeat for replicas (items are spread over them).",
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Model name on the server, or a local path.")
    ] = None,
    backend: Annotated[
        str | None,
        typer.Option("--backend", help="openai (a server; default) or transformers (in-process)."),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="The agent arm's data dir (guideline store, records, sessions)."
        ),
    ] = None,
    tool_calling: Annotated[
        str | None, typer.Option("--tool-calling", help="prompted or native (agent arm).")
    ] = None,
    judge_url: Annotated[
        str | None, typer.Option("--judge-url", help="LLM judge endpoint for open questions.")
    ] = None,
    judge_model: Annotated[
        str | None, typer.Option("--judge-model", help="LLM judge model name.")
    ] = None,
    patient_url: Annotated[
        str | None,
        typer.Option(
            "--patient-url", help="Patient model endpoint for Consult (default: --base-url)."
        ),
    ] = None,
    patient_model: Annotated[
        str | None, typer.Option("--patient-model", help="Patient model name (default: --model).")
    ] = None,
    meteor: Annotated[
        bool, typer.Option("--meteor/--no-meteor", help="METEOR for reports (starts Java).")
    ] = True,
    open_page: Annotated[
        bool, typer.Option("--open", help="Open the HTML page when done.")
    ] = False,
) -> None:
    """Run benchmarks through the bare model and the agent; write records, summary, page."""
    from evals.items import DatasetError
    from evals.run import EvalConfig, evaluate

    settings = build_settings(
        model=model,
        backend=backend,
        base_url=base_url[0] if base_url else None,
        data_dir=data_dir,
        tool_calling=tool_calling,
    )
    try:
        config = EvalConfig(
            benchmarks=benchmarks,
            data=data,
            out=out,
            arms=[a.strip() for a in arms.split(",") if a.strip()],
            limit=limit,
            concurrency=concurrency,
            base_urls=list(base_url or []),
            judge_url=judge_url,
            judge_model=judge_model,
            patient_url=patient_url,
            patient_model=patient_model,
            meteor=meteor,
        )
    except (ValueError, DatasetError) as exc:
        err.print(f"[red]Error:[/red] {exc}")
        raise typer.Exit(2) from None
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=err) as progress:
            summary = asyncio.run(evaluate(config, settings, progress=progress))
    except DatasetError as exc:
        err.print(f"[red]Dataset error:[/red] {exc}")
        raise typer.Exit(2) from None
    for bench, entry in summary["benchmarks"].items():
        for arm, stats in entry["arms"].items():
            low, high = stats["ci95"]
            console.print(
                f"{bench} / {arm}: {stats['metric']} {stats['score']:.3f} "
                f"(95% CI {low:.3f}-{high:.3f}, n={stats['n']}, errors {stats['errors']})"
            )
        paired = entry.get("paired")
        if paired:
            test = paired.get("mcnemar")
            note = f", McNemar p={test['p_value']:.3g}" if test else ""
            console.print(
                f"{bench} agent - bare: {paired['difference']:+.3f} "
                f"(95% CI {paired['ci95'][0]:+.3f} to {paired['ci95'][1]:+.3f}{note})"
            )
    page = out / "index.html"
    console.print(f"Records, summary.json and {page} written to {out}")
    if open_page:
        webbrowser.open(page.resolve().as_uri())
