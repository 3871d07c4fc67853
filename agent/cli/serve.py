"""``lingshu serve`` (the HTTP service under uvicorn) and ``lingshu api-key``."""

from __future__ import annotations

import ipaddress
import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from agent.cli.app import app
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


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Bind address (0.0.0.0 behind a balancer).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port of the HTTP service.")] = 8080,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (they share sessions and locks).")
    ] = 1,
    log_level: Annotated[str, typer.Option(help="debug | info | warning | error.")] = "info",
) -> None:
    """Serve the sessions API, the OpenAI-compatible endpoint and the web chat page."""
    import uvicorn

    from agent.server.auth import KeyRing

    console = Console(stderr=True, soft_wrap=True)
    settings = Settings()
    if workers > 1 and sys.platform == "win32" and not is_postgres(settings.sessions_path):
        console.print(
            "[red]error:[/red] several workers on a SQLite session store need POSIX file "
            "locks: set LINGSHU_CHECKPOINT_URL=postgresql://... (or use --workers 1)"
        )
        raise typer.Exit(2)
    try:
        open_access = KeyRing.from_settings(settings).open
    except (OSError, ValueError) as exc:
        console.print(f"[red]error:[/red] API keys: {escape(str(exc))}")
        raise typer.Exit(2) from exc
    if open_access and not _loopback(host):
        console.print(
            "[yellow]warning:[/yellow] no API keys configured and the service is reachable "
            f"on {escape(host)}: anyone who can reach it may open every patient "
            "(make keys with `lingshu api-key`)"
        )
    console.print(f"[green]Lingshu[/green] on http://{escape(host)}:{port}/  (API docs at /docs)")
    logging.basicConfig(level=log_level.upper(), format=LOG_FORMAT)
    options: dict[str, Any] = {
        "access_log": False,  # agent.server logs requests without identifiers instead
        "timeout_keep_alive": KEEP_ALIVE_S,
        "log_level": log_level,
    }
    if workers > 1 and balanced_workers_supported():
        try:
            code = Supervisor(host, port, workers, options).run()
        except OSError as exc:
            console.print(f"[red]error:[/red] cannot listen on {escape(host)}:{port}: {exc}")
            raise typer.Exit(1) from exc
        raise typer.Exit(code)
    uvicorn.run(
        "agent.server.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        **options,
    )


@app.command("api-key")
def api_key(
    name: Annotated[str, typer.Option(help="Who the key is for; owns the sessions it makes.")],
    patient: Annotated[
        list[str] | None, typer.Option(help="A patient id it may open (repeat); none: all.")
    ] = None,
    keys_file: Annotated[
        Path | None, typer.Option(help="Keys file to add it to (default: the configured one).")
    ] = None,
) -> None:
    """Make an API key: its hash goes into the keys file, the key is printed once."""
    from agent.server.auth import key_entry, new_key

    settings = Settings()
    target = keys_file or settings.server_api_keys_file or settings.data_dir / "api-keys.json"
    data = json.loads(target.read_text(encoding="utf-8")) if target.exists() else {"keys": []}
    if any(entry.get("name") == name for entry in data["keys"]):
        Console(stderr=True).print(f"[red]error:[/red] a key named {escape(name)!r} exists")
        raise typer.Exit(2)
    key = new_key()
    data["keys"].append(key_entry(name, key, patient))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    target.chmod(0o600)
    typer.echo(key)
    Console(stderr=True, soft_wrap=True).print(
        f"[dim]added {escape(name)!r} to {escape(str(target))}; the key is not stored, "
        f"keep it now. Serve with LINGSHU_SERVER_API_KEYS_FILE={escape(str(target))}[/dim]"
    )
