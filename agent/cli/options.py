"""The command line's options, and the one way every command builds its Settings.

``build_settings`` is that way: the options given on the command line beat the
environment (``LINGSHU_*``), which beats the TOML file (``--config``, else
``LINGSHU_CONFIG``, else ./lingshu.toml), which beats the defaults. ``with_settings``
gives a command ``--config`` and ``--data-dir`` (``model=True``: the model options too;
keywords: more settings fields as options) and hands it ``settings: Settings`` built by
``build_settings``. Options are ``Annotated`` aliases, reused by every command that takes
them.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from agent.cli.output import console, err, fail
from agent.settings import Settings

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
ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="A TOML settings file (default: LINGSHU_CONFIG, else ./lingshu.toml if present).",
    ),
]
Mode = Annotated[
    str | None, typer.Option("--mode", help="clinical | education | report | sequential.")
]
Constrained = Annotated[
    bool | None,
    typer.Option(
        "--constrained/--no-constrained",
        help="Constrain tool calls to the offered tools' schemas while decoding "
        "(default: on where the backend supports it; env LINGSHU_CONSTRAINED_TOOLS).",
    ),
]
Host = Annotated[str, typer.Option(help="Bind address (0.0.0.0 behind a balancer).")]
Port = Annotated[int, typer.Option(help="Port of the HTTP service.")]
LogLevel = Annotated[str, typer.Option(help="debug | info | warning | error.")]


def build_settings(config: Path | None = None, **options: Any) -> Settings:
    """Settings from command-line options (None: not given), environment, TOML, defaults.

    ``constrained`` (the ``--constrained/--no-constrained`` flag) sets ``constrained_tools``.
    A bad value or a missing ``--config`` file is ``error: invalid setting: ...``, exit 2.
    """
    if options.get("constrained") is not None:
        options["constrained_tools"] = "on" if options["constrained"] else "off"
    options.pop("constrained", None)
    try:
        return Settings.load(config, **options)
    except ValueError as exc:
        fail(f"invalid setting: {exc}")


COMMON_OPTIONS: dict[str, Any] = {"config": ConfigFile, "data_dir": DataDir}
"""The options every command that reads settings takes."""
MODEL_OPTIONS: dict[str, Any] = {
    "backend": Backend,
    "model": Model,
    "base_url": BaseUrl,
    "tool_calling": ToolCalling,
    "constrained": Constrained,
}
"""The options every consultation command takes, in the order ``--help`` lists them."""

F = TypeVar("F", bound=Callable[..., Any])


def with_settings(*, model: bool = False, **fields: Any) -> Callable[[F], F]:
    """Give a command ``--config`` and ``--data-dir`` (with ``model``: the model options;
    each keyword: a settings field and its ``Annotated`` option); the command declares
    ``settings: Settings`` and receives them built by :func:`build_settings`."""
    added_options = {**(MODEL_OPTIONS if model else {}), **fields, **COMMON_OPTIONS}

    def decorate(command: F) -> F:
        own = inspect.signature(command, eval_str=True)
        kept = [p for p in own.parameters.values() if p.name != "settings"]
        added = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=kind)
            for name, kind in added_options.items()
        ]

        @functools.wraps(command)
        def run(*args: Any, **kwargs: Any) -> Any:
            options = {name: kwargs.pop(name, None) for name in added_options}
            return command(*args, settings=build_settings(**options), **kwargs)

        signature = own.replace(parameters=[*kept, *added])
        run.__signature__ = signature  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}
        return run  # type: ignore[return-value]

    return decorate


def with_model_settings(command: F) -> F:
    """``with_settings(model=True)``: the model options, ``--config`` and ``--data-dir``."""
    return with_settings(model=True)(command)


__all__ = [
    "COMMON_OPTIONS",
    "MODEL_OPTIONS",
    "Backend",
    "BaseUrl",
    "ConfigFile",
    "Constrained",
    "DataDir",
    "Host",
    "LogLevel",
    "Mode",
    "Model",
    "Port",
    "ToolCalling",
    "build_settings",
    "console",
    "err",
    "fail",
    "with_model_settings",
    "with_settings",
]
