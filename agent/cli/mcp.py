"""``lingshu mcp``: the agent's tools and ``consult`` for MCP-speaking assistants."""

from __future__ import annotations

import logging
from typing import Annotated, Literal

import typer
from rich.markup import escape

from agent.cli.app import app
from agent.cli.options import Host, LogLevel, Port, with_model_settings
from agent.cli.output import err, fail
from agent.settings import Settings

Transport = Annotated[
    Literal["stdio", "http"],
    typer.Option(help="stdio (started by the assistant) or http (streamable HTTP at /mcp)."),
]
StdioPatients = Annotated[
    list[str] | None,
    typer.Option(help="stdio: a patient this server may read (repeat); none: no record."),
]


@app.command("mcp")
@with_model_settings
def mcp(
    transport: Transport = "stdio",
    patient: StdioPatients = None,
    host: Host = "127.0.0.1",
    port: Port = 8090,
    log_level: LogLevel = "warning",
    *,
    settings: Settings,
) -> None:
    """Serve the agent's tools and `consult` over MCP (stdio or streamable HTTP).

    Over stdio the server reads only the patients given with --patient. Over HTTP every
    request presents an API key (`Authorization: Bearer <key>`, from `lingshu api-key`)
    and reads only the patients its key grants; with no keys configured it binds only a
    loopback address. Every record read is written to DATA_DIR/mcp-audit.jsonl.
    """
    from agent.mcp import LingshuMcp

    # stdout is the protocol channel over stdio: everything else goes to stderr.
    logging.basicConfig(level=log_level.upper())
    if transport == "stdio":  # keys play no part over stdio: the --patient list is the grant
        logging.getLogger("agent.server.service").setLevel(logging.ERROR)
    if transport == "http":
        _check_keys(settings, host)
    server = LingshuMcp(settings, transport, stdio_patients=patient or ())
    try:
        if transport == "stdio":
            server.server.run("stdio")
            return
        import uvicorn

        err.print(f"[green]Lingshu MCP[/green] on http://{escape(host)}:{port}/mcp")
        uvicorn.run(server.http_app(host), host=host, port=port, log_level=log_level)
    finally:
        server.close()


def _check_keys(settings: Settings, host: str) -> None:
    """Over HTTP: the API keys must read, and with none only a loopback address is served."""
    from agent.server.auth import KeyRing

    try:
        ring = KeyRing.from_settings(settings)
    except (OSError, ValueError) as exc:
        fail(f"API keys: {exc}")
    if ring.open and host not in ("127.0.0.1", "localhost", "::1"):
        fail(
            f"refusing to serve {host} with no API keys: "
            "make one with `lingshu api-key --name NAME`"
        )
