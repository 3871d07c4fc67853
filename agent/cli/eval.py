"""``lingshu eval``: benchmarks through the bare model and through the agent (package evals/)."""

from __future__ import annotations

import asyncio
import webbrowser
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agent.cli.app import app
from agent.cli.options import ConfigFile, build_settings
from agent.cli.output import console, err, fail

if TYPE_CHECKING:
    from agent.settings import Settings
    from evals.run import EvalConfig

Benchmarks = Annotated[
    list[str],
    typer.Argument(
        help="Benchmarks by MedEvalKit's names: VQA_RAD SLAKE PATH_VQA PMC_VQA "
        "OmniMedVQA MMMU-Medical-val MedXpertQA-MM MedXpertQA-Text MedQA_USMLE MedMCQA "
        "PubMedQA Medbullets_op4 Medbullets_op5 MMLU-medical IU_XRAY MIMIC_CXR DDXPlus FHIR "
        "Consult."
    ),
]
Data = Annotated[
    Path,
    typer.Option(
        "--data", help="Folder with one sub-folder per benchmark (EVALUATION.md lists the layouts)."
    ),
]
Out = Annotated[
    Path, typer.Option("--out", help="Output folder; a re-run skips items already scored there.")
]
Arms = Annotated[
    str,
    typer.Option("--arms", help="bare, agent, sequential (Consult only), or a list: bare,agent."),
]
Limit = Annotated[int | None, typer.Option("--limit", help="The first N items of each benchmark.")]
Concurrency = Annotated[int, typer.Option("--concurrency", help="Items in flight at once.")]
Replicas = Annotated[
    list[str] | None,
    typer.Option(
        "--base-url",
        help="OpenAI-compatible endpoint; repeat for replicas (items are spread over them).",
    ),
]
EvalModel = Annotated[
    str | None, typer.Option("--model", help="Model name on the server, or a local path.")
]
EvalBackend = Annotated[
    str | None,
    typer.Option("--backend", help="openai (a server; default) or transformers (in-process)."),
]
AgentDataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="The agent arm's data dir (guideline store, records, sessions)."
    ),
]
AgentToolCalling = Annotated[
    str | None, typer.Option("--tool-calling", help="prompted or native (agent arm).")
]
JudgeUrl = Annotated[
    str | None, typer.Option("--judge-url", help="LLM judge endpoint for open questions.")
]
JudgeModel = Annotated[str | None, typer.Option("--judge-model", help="LLM judge model name.")]
PatientUrl = Annotated[
    str | None,
    typer.Option("--patient-url", help="Patient model endpoint for Consult (default: --base-url)."),
]
PatientModel = Annotated[
    str | None, typer.Option("--patient-model", help="Patient model name (default: --model).")
]
Meteor = Annotated[
    bool, typer.Option("--meteor/--no-meteor", help="METEOR for reports (starts Java).")
]
OpenPage = Annotated[bool, typer.Option("--open", help="Open the HTML page when done.")]


@app.command("eval")
def eval_command(
    benchmarks: Benchmarks,
    data: Data,
    out: Out,
    arms: Arms = "bare,agent",
    limit: Limit = None,
    concurrency: Concurrency = 64,
    base_url: Replicas = None,
    model: EvalModel = None,
    backend: EvalBackend = None,
    data_dir: AgentDataDir = None,
    config: ConfigFile = None,
    tool_calling: AgentToolCalling = None,
    judge_url: JudgeUrl = None,
    judge_model: JudgeModel = None,
    patient_url: PatientUrl = None,
    patient_model: PatientModel = None,
    meteor: Meteor = True,
    open_page: OpenPage = False,
) -> None:
    """Run benchmarks through the bare model and the agent; write records, summary, page."""
    settings = build_settings(
        config,
        model=model,
        backend=backend,
        base_url=base_url[0] if base_url else None,
        data_dir=data_dir,
        tool_calling=tool_calling,
    )
    eval_config = _eval_config(
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
    _print_summary(_evaluate(eval_config, settings))
    page = out / "index.html"
    console.print(f"Records, summary.json and {page} written to {out}")
    if open_page:
        webbrowser.open(page.resolve().as_uri())


def _eval_config(**fields: Any) -> EvalConfig:
    from evals.items import DatasetError
    from evals.run import EvalConfig

    try:
        return EvalConfig(**fields)
    except (ValueError, DatasetError) as exc:
        fail(str(exc))


def _evaluate(config: EvalConfig, settings: Settings) -> dict[str, Any]:
    from evals.items import DatasetError
    from evals.run import evaluate

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=err) as progress:
            return asyncio.run(evaluate(config, settings, progress=progress))
    except DatasetError as exc:
        fail(f"dataset: {exc}")


def _print_summary(summary: dict[str, Any]) -> None:
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
