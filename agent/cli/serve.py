"""``lingshu serve`` (the HTTP service under uvicorn) and ``lingshu api-key``."""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from agent.cli.app import app
from agent.cli.options import (
    COMMON_OPTIONS,
    MODEL_OPTIONS,
    Host,
    LogLevel,
    Port,
    with_model_settings,
    with_settings,
)
from agent.cli.output import EXIT_FAILED, err, fail
from agent.server.auth import OPEN_WARNING
from agent.server.service import is_postgres
from agent.server.workers import LOG_FORMAT, Supervisor, balanced_workers_supported
from agent.settings import Settings

KEEP_ALIVE_S = 75
"""Idle keep-alive; longer than a balancer's (often 60 s), so the balancer closes first."""


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


Workers = Annotated[
    int, typer.Option(min=1, help="Worker processes (they share sessions and locks).")
]
Insecure = Annotated[
    bool,
    typer.Option(
        "--insecure",
        help="Allow a non-loopback address with no API keys (anyone who reaches it may "
        "open every patient).",
    ),
]


@app.command("serve")
@with_model_settings
def serve(
    host: Host = "127.0.0.1",
    port: Port = 8080,
    workers: Workers = 1,
    log_level: LogLevel = "info",
    insecure: Insecure = False,
    *,
    settings: Settings,
) -> None:
    """Serve the sessions API, the OpenAI-compatible endpoint and the web chat page.

    API keys come from DATA_DIR/api-keys.json (what `lingshu api-key` writes), or the file
    named by LINGSHU_SERVER_API_KEYS_FILE, plus LINGSHU_SERVER_API_KEYS. With none the
    service is open: it says so at start-up and in /readyz, and binds only a loopback
    address unless --insecure.
    """
    if workers > 1 and sys.platform == "win32" and not is_postgres(settings.sessions_path):
        fail(
            "several workers on a SQLite session store need POSIX file locks: set "
            "LINGSHU_CHECKPOINT_URL=postgresql://... (or use --workers 1)"
        )
    _check_keys(settings, host, insecure)
    _export(settings)  # the workers build the same Settings from the environment
    err.print(f"[green]Lingshu[/green] on http://{escape(host)}:{port}/  (API docs at /docs)")
    logging.basicConfig(level=log_level.upper(), format=LOG_FORMAT)
    _run(settings, host, port, workers, log_level)


def _check_keys(settings: Settings, host: str, insecure: bool) -> None:
    """Say where the API keys come from; refuse an open service on a public address."""
    from agent.server.auth import KeyRing

    try:
        ring = KeyRing.from_settings(settings)
    except (OSError, ValueError) as exc:
        fail(f"API keys: {exc}")
    if not ring.open:
        err.print(f"[dim]{len(ring)} API key(s) from {escape(ring.source)}[/dim]")
        return
    err.print(f"[bold red]{escape(OPEN_WARNING)}[/bold red]")
    if _loopback(host):
        return
    if not insecure:
        fail(
            f"refusing to serve {host} with no API keys: make one with "
            "`lingshu api-key --name NAME`, or pass --insecure"
        )
    err.print(f"[bold red]--insecure: serving {escape(host)} with no API keys[/bold red]")


def _run(settings: Settings, host: str, port: int, workers: int, log_level: str) -> None:
    import uvicorn

    options: dict[str, Any] = {
        "access_log": False,  # agent.server logs requests without identifiers instead
        "timeout_keep_alive": KEEP_ALIVE_S,
        "log_level": log_level,
    }
    if workers > 1 and balanced_workers_supported():
        try:
            code = Supervisor(
                host, port, workers, options, early_death_s=settings.worker_early_death_s
            ).run()
        except OSError as exc:
            fail(f"cannot listen on {host}:{port}: {exc}", EXIT_FAILED)
        raise typer.Exit(code)
    uvicorn.run(
        "agent.server.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        **options,
    )


def _export(settings: Settings) -> None:
    """Put the settings the command line gave into the environment, where the app factory
    (in this process or a spawned worker) reads them: the command line still wins."""
    given = settings.model_fields_set & {*MODEL_OPTIONS, *COMMON_OPTIONS, "constrained_tools"}
    for name in given:
        value = getattr(settings, name)
        if value is not None:
            os.environ[f"LINGSHU_{name.upper()}"] = str(value)


@app.command("api-key")
@with_settings()
def api_key(
    name: Annotated[str, typer.Option(help="Who the key is for; owns the sessions it makes.")],
    patient: Annotated[
        list[str] | None, typer.Option(help="A patient id it may open (repeat); none: all.")
    ] = None,
    keys_file: Annotated[
        Path | None, typer.Option(help="Keys file to add it to (default: the configured one).")
    ] = None,
    *,
    settings: Settings,
) -> None:
    """Make an API key: its hash goes into the keys file, the key is printed once."""
    from agent.server.auth import key_entry, new_key
    from agent.server.auth import keys_file as configured_keys_file

    target = keys_file or configured_keys_file(settings)
    data = json.loads(target.read_text(encoding="utf-8")) if target.exists() else {"keys": []}
    if any(entry.get("name") == name for entry in data["keys"]):
        fail(f"a key named {name!r} exists in {target}")
    key = new_key()
    data["keys"].append(key_entry(name, key, patient))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    target.chmod(0o600)
    typer.echo(key)
    err.print(
        f"[dim]added {escape(name)!r} to {escape(str(target))}; the key is not stored, "
        "keep it now. `lingshu serve` reads this file"
        + (
            ""
            if target == configured_keys_file(settings)
            else f" when LINGSHU_SERVER_API_KEYS_FILE={escape(str(target))}"
        )
        + "[/dim]"
    )
