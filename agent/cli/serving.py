"""``lingshu vllm-command``: the tested ``vllm serve`` command line for Lingshu."""

from __future__ import annotations

import shlex
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from agent.cli.app import app
from agent.models.vllm import TRAINED_CONTEXT, valid_gpu_counts, vllm_command
from agent.settings import Settings


class Size(StrEnum):
    b7 = "7b"
    b32 = "32b"


@app.command("vllm-command")
def vllm_command_cli(
    model: Annotated[Size, typer.Option("--model", help="Lingshu size: 7b or 32b.")] = Size.b7,
    gpus: Annotated[int, typer.Option("--gpus", min=1, help="GPUs (tensor parallel).")] = 1,
    weights: Annotated[
        str | None, typer.Option("--weights", help="Local folder of the weights (default: hub id).")
    ] = None,
    host: Annotated[str, typer.Option(help="Bind address (0.0.0.0 behind a balancer).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port of the OpenAI-compatible endpoint.")] = 8000,
    max_images: Annotated[int, typer.Option(min=1, help="Images per prompt.")] = 8,
) -> None:
    """Print the `vllm serve` command for Lingshu (run it: eval "$(lingshu vllm-command)")."""
    settings = Settings()
    notes = Console(stderr=True, soft_wrap=True)
    try:
        argv = vllm_command(
            model.value,
            gpus,
            weights=weights,
            host=host,
            port=port,
            max_images=max_images,
            min_pixels=settings.min_pixels,
            max_pixels=settings.max_pixels,
        )
    except ValueError as exc:
        notes.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    typer.echo(shlex.join(argv))  # plain stdout, so eval "$(...)" and copy-paste work
    valid = escape(str(valid_gpu_counts(model.value)))
    notes.print(
        f"[dim]Lingshu-{model.value.upper()} on {gpus} GPU(s) (valid: {valid}), context "
        f"{TRAINED_CONTEXT} tokens; point clients at LINGSHU_BASE_URL=http://{host}:{port}/v1[/dim]"
    )
