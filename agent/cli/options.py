"""Options shared by the consultation commands, and building Settings from them."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from agent.settings import Settings

console = Console()
err = Console(stderr=True)

Backend = Annotated[
    str | None,
    typer.Option(
        "--backend", help="openai (a vLLM/OpenAI-compatible server) or transformers (in-process)."
    ),
]
Model = Annotated[
    str | None, typer.Option("--model", help="Model name on the server, or hub id / local path.")
]
BaseUrl = Annotated[
    str | None,
    typer.Option("--base-url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1."),
]
ToolCalling = Annotated[
    str | None,
    typer.Option(
        "--tool-calling", help="prompted (tool specs in the prompt) or native (server tool_calls)."
    ),
]
DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Where sessions, images and stores live.")
]
Mode = Annotated[str | None, typer.Option("--mode", help="clinical | education | report.")]
Constrained = Annotated[
    bool | None,
    typer.Option(
        "--constrained/--no-constrained",
        help="Constrain tool calls to the offered tools' schemas while decoding "
        "(default: on where the backend supports it; env LINGSHU_CONSTRAINED_TOOLS).",
    ),
]


def build_settings(**options: Any) -> Settings:
    """CLI options beat environment, lingshu.toml and defaults.

    ``constrained`` (the ``--constrained/--no-constrained`` flag) sets ``constrained_tools``.
    """
    if options.get("constrained") is not None:
        options["constrained_tools"] = "on" if options["constrained"] else "off"
    options.pop("constrained", None)
    try:
        return Settings(**{k: v for k, v in options.items() if v is not None})
    except ValueError as exc:
        err.print(f"[red]Invalid setting:[/red] {exc}")
        raise typer.Exit(2) from None


MODEL_OPTIONS: dict[str, Any] = {
    "backend": Backend,
    "model": Model,
    "base_url": BaseUrl,
    "tool_calling": ToolCalling,
    "constrained": Constrained,
    "data_dir": DataDir,
}
"""The options every consultation command takes, in the order ``--help`` lists them."""

F = TypeVar("F", bound=Callable[..., Any])


def with_model_settings(command: F) -> F:
    """Give a command the model options (``--backend`` ... ``--data-dir``); the command
    declares ``settings: Settings`` instead and receives them built (``build_settings``)."""
    own = inspect.signature(command, eval_str=True)
    kept = [p for p in own.parameters.values() if p.name != "settings"]
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=kind)
        for name, kind in MODEL_OPTIONS.items()
    ]

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        options = {name: kwargs.pop(name, None) for name in MODEL_OPTIONS}
        return command(*args, settings=build_settings(**options), **kwargs)

    signature = own.replace(parameters=[*kept, *added])
    run.__signature__ = signature  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}
    return run  # type: ignore[return-value]
