"""``lingshu vllm-command``: the tested ``vllm serve`` command line for Lingshu."""

from __future__ import annotations

import json
import shlex
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from agent.cli.app import app
from agent.models.qwen_tokens import context_tokens
from agent.models.vllm import valid_gpu_counts, vllm_command
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
    max_images: Annotated[
        int | None,
        typer.Option(min=1, help="Images per prompt (default: as many as fit the budget)."),
    ] = None,
) -> None:
    """Print the `vllm serve` command for Lingshu (run it: eval "$(lingshu vllm-command)").

    The context is the client's prompt budget (LINGSHU_PROMPT_BUDGET_TOKENS, at most
    8,192), and the image limit what fits in it at LINGSHU_MAX_PIXELS beside a reply of
    LINGSHU_MAX_NEW_TOKENS: the same numbers the client fits its prompts to."""
    settings = Settings()
    context = context_tokens(settings.prompt_budget_tokens)
    notes = Console(stderr=True, soft_wrap=True)
    try:
        argv = vllm_command(
            model.value,
            gpus,
            weights=weights,
            host=host,
            port=port,
            max_model_len=context,
            max_images=max_images,
            min_pixels=settings.min_pixels,
            max_pixels=settings.max_pixels,
            max_new_tokens=settings.max_new_tokens,
        )
    except ValueError as exc:
        notes.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    typer.echo(shlex.join(argv))  # plain stdout, so eval "$(...)" and copy-paste work
    valid = escape(str(valid_gpu_counts(model.value)))
    images = json.loads(argv[argv.index("--limit-mm-per-prompt") + 1])["image"]
    notes.print(
        f"[dim]Lingshu-{model.value.upper()} on {gpus} GPU(s) (valid: {valid}), context "
        f"{context} tokens ({settings.max_new_tokens} for the reply), up to {images} image(s) "
        f"per prompt; point clients at LINGSHU_BASE_URL=http://{host}:{port}/v1[/dim]"
    )
