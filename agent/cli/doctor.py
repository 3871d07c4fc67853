"""``lingshu doctor``: what is configured, and whether each part answers."""

from __future__ import annotations

import importlib.metadata
import sqlite3
from pathlib import Path
from typing import Any

import httpx
from rich.table import Table

from agent.cli.app import app
from agent.cli.options import Backend, BaseUrl, DataDir, Model, build_settings, console
from agent.resources import open_resources
from agent.settings import Settings


def probe_model(settings: Settings, timeout_s: float = 3.0) -> tuple[bool, str]:
    """Whether the configured model answers, in words."""
    if settings.backend == "transformers":
        local = Path(settings.model).expanduser()
        if local.is_dir():
            return True, f"local weights at {local} (loaded on first use)"
        return False, (
            f"{settings.model} is a hub id: its weights are loaded from the hub cache on first use"
        )
    url = settings.base_url.rstrip("/") + "/models"
    try:
        response = httpx.get(
            url, timeout=timeout_s, headers={"Authorization": f"Bearer {settings.api_key}"}
        )
        response.raise_for_status()
        served = [m.get("id") for m in response.json().get("data", [])]
    except (httpx.HTTPError, ValueError) as exc:
        return False, f"{settings.base_url} does not answer ({exc}); start it: lingshu vllm-command"
    if served and settings.model not in served:
        return False, f"{settings.base_url} answers but serves {served}, not {settings.model}"
    return (
        True,
        f"{settings.base_url} answers and serves {', '.join(map(str, served)) or 'a model'}",
    )


def count_sessions(path: str) -> str:
    if not Path(path).exists():
        return "no sessions yet"
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            (n,) = conn.execute("SELECT COUNT(DISTINCT thread_id) FROM checkpoints").fetchone()
    except sqlite3.Error as exc:
        return f"unreadable ({exc})"
    return f"{n} session(s)"


def _describe_store(store: Any) -> str:
    describe = getattr(store, "describe", None)
    if callable(describe):
        return str(describe())
    count = getattr(store, "count", None)
    where = getattr(store, "location", None) or getattr(store, "path", None) or ""
    if callable(count):
        return f"{count()} chunks at {where}"
    return f"{type(store).__name__} {where}".strip()


@app.command()
def doctor(
    backend: Backend = None,
    model: Model = None,
    base_url: BaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Say which model is set up and whether it answers, where sessions are, which stores exist."""
    settings = build_settings(backend=backend, model=model, base_url=base_url, data_dir=data_dir)
    table = Table(title="lingshu doctor", show_lines=False)
    table.add_column("part")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    ok, detail = probe_model(settings)
    table.add_row(
        f"model ({settings.backend})",
        "[green]ok[/green]" if ok else "[yellow]no[/yellow]",
        f"{settings.model}: {detail}; tool calling {settings.tool_calling}",
    )
    table.add_row(
        "sessions",
        "[green]ok[/green]",
        f"{settings.sessions_path}: {count_sessions(settings.sessions_path)}",
    )
    resources = open_resources(settings)
    for name in ("guidelines", "ehr"):
        store = getattr(resources, name)
        status = "[green]ok[/green]" if store is not None else "[yellow]none[/yellow]"
        table.add_row(
            name, status, _describe_store(store) if store is not None else "not configured or empty"
        )
    table.add_row("images", "[green]ok[/green]", str(settings.images_path))
    for problem in resources.problems:
        table.add_row("problem", "[red]error[/red]", problem)
    versions = ", ".join(
        f"{pkg} {importlib.metadata.version(pkg)}"
        for pkg in ("langgraph", "langchain-core", "transformers", "torch")
    )
    table.add_row("versions", "", versions)
    console.print(table)
