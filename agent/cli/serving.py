"""``lingshu vllm-command``: the tested ``vllm serve`` command line for Lingshu (and a planner).

With ``--planner MODEL`` it prints two serving commands, Lingshu and the planner with a
native tool-call parser (split mode), on one GPU (the memory shared by
``--gpu-memory-utilization``, different ports) or several (``CUDA_VISIBLE_DEVICES`` per
command: Lingshu on all but the last GPU, the planner on the last), then the
``LINGSHU_*`` exports that point the client at them.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

import typer
from rich.markup import escape

from agent.cli.app import app
from agent.cli.options import build_settings, err
from agent.models.qwen_tokens import context_tokens
from agent.models.vllm import SIZES, planner_command, valid_gpu_counts, vllm_command
from agent.settings import Settings

PARSER_NOTES = {
    "llama3_json": "vLLM's tool calling docs serve Llama 3.1 with its example template: add "
    "--chat-template examples/tool_chat_template_llama3.1_json.jinja (from the vLLM sources) "
    "to the planner's line",
    "mistral": "vLLM's tool calling docs give Mistral models the mistral parser with "
    "mistral_common or examples/tool_chat_template_mistral.jinja: see them for the template",
}
"""What a planner family needs beyond the parser (vLLM docs, "Tool Calling")."""


class Size(StrEnum):
    b7 = "7b"
    b32 = "32b"


@dataclass(frozen=True)
class Serving:
    """One ``vllm serve`` process: its argv, the GPUs it sees, and its URL for clients."""

    argv: list[str]
    devices: str | None
    url: str

    def line(self) -> str:
        prefix = f"CUDA_VISIBLE_DEVICES={self.devices} " if self.devices is not None else ""
        return prefix + shlex.join(self.argv)


def client_url(host: str, port: int) -> str:
    """The URL a client on this machine uses (a wildcard bind is reached on loopback)."""
    reach = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{reach}:{port}/v1"


SizeOpt = Annotated[Size, typer.Option("--model", help="Lingshu size: 7b or 32b.")]
Gpus = Annotated[
    int, typer.Option("--gpus", min=1, help="GPUs in all (with --planner: the last is its).")
]
Weights = Annotated[
    str | None, typer.Option("--weights", help="Local folder of the weights (default: hub id).")
]
Host = Annotated[str, typer.Option(help="Bind address (0.0.0.0 behind a balancer).")]
Port = Annotated[int, typer.Option(help="Port of the OpenAI-compatible endpoint.")]
MaxImages = Annotated[
    int | None, typer.Option(min=1, help="Images per prompt (default: as many as fit the budget).")
]
Planner = Annotated[
    str | None,
    typer.Option(
        "--planner", help="Also serve this planner (split mode), e.g. Qwen/Qwen2.5-7B-Instruct."
    ),
]
PlannerParser = Annotated[
    str | None,
    typer.Option(help="The planner's vLLM --tool-call-parser (default: guessed from its name)."),
]
PlannerPort = Annotated[int | None, typer.Option(help="The planner's port (default: --port + 1).")]
PlannerShare = Annotated[
    float, typer.Option(min=0.05, max=0.85, help="On one GPU: the planner's share of its memory.")
]
PlannerContext = Annotated[
    int, typer.Option(min=1024, help="The planner's context (--max-model-len).")
]


@app.command("vllm-command")
def vllm_command_cli(
    model: SizeOpt = Size.b7,
    gpus: Gpus = 1,
    weights: Weights = None,
    host: Host = "127.0.0.1",
    port: Port = 8000,
    max_images: MaxImages = None,
    planner: Planner = None,
    planner_parser: PlannerParser = None,
    planner_port: PlannerPort = None,
    planner_share: PlannerShare = 0.45,
    planner_context: PlannerContext = 16384,
) -> None:
    """Print the `vllm serve` command for Lingshu (run it: eval "$(lingshu vllm-command)").

    The context is the client's prompt budget (LINGSHU_PROMPT_BUDGET_TOKENS, at most
    8,192), and the image limit what fits in it at LINGSHU_MAX_PIXELS beside a reply of
    LINGSHU_MAX_NEW_TOKENS: the same numbers the client fits its prompts to. With
    --planner: two commands (run each in its own terminal) and the LINGSHU_* exports."""
    settings = build_settings()
    split = planner is not None
    try:
        lingshu = _lingshu(
            model.value, gpus, split, planner_share, weights, host, port, max_images, settings
        )
        if planner is None:
            typer.echo(lingshu.line())  # plain stdout, so eval "$(...)" and copy-paste work
            _note_single(model.value, gpus, lingshu, settings)
            return
        port_of_planner = planner_port or port + 1
        if port_of_planner == port:
            raise ValueError(f"the planner needs a port other than Lingshu's {port}")
        second = _planner(
            planner, planner_parser, host, port_of_planner, gpus, planner_share, planner_context
        )
    except ValueError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    _print_split(model.value, lingshu, second)


def _lingshu(
    size: str,
    gpus: int,
    split: bool,
    planner_share: float,
    weights: str | None,
    host: str,
    port: int,
    max_images: int | None,
    settings: Settings,
) -> Serving:
    """Lingshu's command: all GPUs alone; beside a planner all but the last (or a share of one)."""
    own = gpus - 1 if split and gpus > 1 else gpus
    if split and gpus > 1 and own not in valid_gpu_counts(size):
        raise ValueError(
            f"with --planner on {gpus} GPUs Lingshu gets {own} (all but the last), which "
            f"cannot hold it: Lingshu-{size.upper()} takes {valid_gpu_counts(size)} GPU(s); "
            f"give --gpus {' or '.join(str(n + 1) for n in valid_gpu_counts(size))}"
        )
    argv = vllm_command(
        size,
        own,
        weights=weights,
        host=host,
        port=port,
        max_model_len=context_tokens(settings.prompt_budget_tokens),
        max_images=max_images,
        min_pixels=settings.min_pixels,
        max_pixels=settings.max_pixels,
        max_new_tokens=settings.max_new_tokens,
        gpu_memory_utilization=round(0.9 - planner_share, 2) if split and gpus == 1 else 0.9,
    )
    devices = ",".join(map(str, range(own))) if split and gpus > 1 else None
    return Serving(argv, devices, client_url(host, port))


def _planner(
    model: str, parser: str | None, host: str, port: int, gpus: int, share: float, context: int
) -> Serving:
    argv = planner_command(
        model,
        parser=parser,
        host=host,
        port=port,
        max_model_len=context,
        gpu_memory_utilization=0.9 if gpus > 1 else share,
    )
    return Serving(argv, None if gpus == 1 else str(gpus - 1), client_url(host, port))


def _note_single(size: str, gpus: int, lingshu: Serving, settings: Settings) -> None:
    argv = lingshu.argv
    valid = escape(str(valid_gpu_counts(size)))
    images = json.loads(argv[argv.index("--limit-mm-per-prompt") + 1])["image"]
    context = argv[argv.index("--max-model-len") + 1]
    err.print(
        f"[dim]Lingshu-{size.upper()} on {gpus} GPU(s) (valid: {valid}), context "
        f"{context} tokens ({settings.max_new_tokens} for the reply), up to {images} image(s) "
        f"per prompt; point clients at LINGSHU_BASE_URL={escape(lingshu.url)}[/dim]",
        soft_wrap=True,
    )


def _print_split(size: str, lingshu: Serving, planner: Serving) -> None:
    """Both commands, then the exports (stdout); where each runs (stderr)."""
    planner_model = planner.argv[planner.argv.index("--served-model-name") + 1]
    typer.echo(lingshu.line())
    typer.echo(planner.line())
    exports = {
        "LINGSHU_BASE_URL": lingshu.url,
        "LINGSHU_MODEL": SIZES[size].hub_id,
        "LINGSHU_PLANNER_BASE_URL": planner.url,
        "LINGSHU_PLANNER_MODEL": planner_model,
        "LINGSHU_PLANNER_TOOL_CALLING": "native",
    }
    for name, value in exports.items():
        typer.echo(f"export {name}={shlex.quote(value)}")
    where = (
        "one GPU, memory shared (--gpu-memory-utilization)"
        if lingshu.devices is None
        else f"Lingshu on GPU(s) {lingshu.devices}, the planner on GPU {planner.devices}"
    )
    parser = planner.argv[planner.argv.index("--tool-call-parser") + 1]
    if parser in PARSER_NOTES:
        err.print(f"[dim]{escape(PARSER_NOTES[parser])}[/dim]", soft_wrap=True)
    err.print(
        f"[dim]Split mode: {where}. Run each serve line in its own terminal, then the exports "
        f"in the client's shell; the planner calls tools natively (parser {escape(parser)}), "
        f"Lingshu answers its image questions. Check both: lingshu doctor[/dim]",
        soft_wrap=True,
    )
