"""``lingshu doctor``: what is configured, and whether each part answers."""

from __future__ import annotations

import importlib.metadata
import sqlite3
from pathlib import Path
from typing import Any

import httpx
from rich.markup import escape
from rich.table import Table

from agent.cli.app import app
from agent.cli.options import Backend, BaseUrl, DataDir, Model, build_settings, console
from agent.resources import open_resources
from agent.settings import Settings

PROBE_TOOL = {
    "type": "function",
    "function": {
        "name": "record_word",
        "description": "Record one word.",
        "parameters": {
            "type": "object",
            "properties": {"word": {"type": "string", "description": "The word to record."}},
            "required": ["word"],
        },
    },
}
"""The one tool of the planner's probe: a native tool call of it is what split mode needs."""


def probe_model(settings: Settings, timeout_s: float = 3.0) -> tuple[bool, str]:
    """Whether the configured model answers, in words."""
    if settings.backend == "transformers":
        local = Path(settings.model).expanduser()
        if local.is_dir():
            return True, f"local weights at {local} (loaded on first use)"
        return False, (
            f"{settings.model} is a hub id: its weights are loaded from the hub cache on first use"
        )
    return probe_endpoint(settings.base_url, settings.model, settings.api_key, timeout_s)


def probe_endpoint(
    base_url: str,
    model: str,
    api_key: str,
    timeout_s: float = 3.0,
    start: str = "lingshu vllm-command",
) -> tuple[bool, str]:
    """Whether an OpenAI-compatible endpoint answers and serves ``model``, in words."""
    url = base_url.rstrip("/") + "/models"
    try:
        response = httpx.get(url, timeout=timeout_s, headers=_auth(api_key))
        response.raise_for_status()
        served = [m.get("id") for m in response.json().get("data", [])]
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        return False, f"{base_url} does not answer ({exc}); start it: {start}"
    if served and model not in served:
        return False, f"{base_url} answers but serves {served}, not {model}"
    return True, f"{base_url} answers and serves {', '.join(map(str, served)) or 'a model'}"


def probe_tool_call(
    base_url: str, model: str, api_key: str, timeout_s: float = 30.0
) -> tuple[bool, str]:
    """Whether the model answers a one-tool request with a native tool call (``tool_calls``)."""
    body = {
        "model": model,
        "messages": [
            {"role": "user", "content": 'Call the tool record_word with the word "ready".'}
        ],
        "tools": [PROBE_TOOL],
        "tool_choice": "auto",
        "max_tokens": 64,
        "temperature": 0,
    }
    url = base_url.rstrip("/") + "/chat/completions"
    try:
        response = httpx.post(url, json=body, timeout=timeout_s, headers=_auth(api_key))
    except httpx.HTTPError as exc:
        return False, f"no answer to the tool-call probe ({exc})"
    if response.status_code >= 400:
        detail = " ".join(response.text.split())[:200]
        return False, (
            f"the tool-call probe was refused (HTTP {response.status_code}: {detail}); serve the "
            "planner with --enable-auto-tool-choice --tool-call-parser (lingshu vllm-command "
            "--planner MODEL)"
        )
    try:
        message = response.json()["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        return False, "the tool-call probe's answer is not a chat completion"
    names = [c.get("function", {}).get("name") for c in message.get("tool_calls") or []]
    if "record_word" in names:
        return True, "answers a one-tool probe with a native tool call"
    said = " ".join(str(message.get("content") or "").split())[:120]
    return False, (
        f"answered the tool-call probe without a native tool call ({said!r}): check its "
        "--tool-call-parser matches the model, or set LINGSHU_PLANNER_TOOL_CALLING=prompted"
    )


def _auth(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


def mode_line(settings: Settings) -> str:
    """Split mode or single model, in one line."""
    if not settings.split_mode:
        return f"single model: {settings.model} at {settings.base_url} ({settings.backend})"
    where = settings.base_url if settings.backend == "openai" else "in process"
    return (
        f"split mode: planner {settings.planner_model} at {settings.planner_base_url}, "
        f"Lingshu {settings.model} at {where}"
    )


def _model_rows(table: Table, settings: Settings) -> None:
    ok, detail = probe_model(settings)
    table.add_row("mode", "", escape(mode_line(settings)))
    table.add_row(
        f"model ({settings.backend})",
        _mark(ok),
        escape(f"{settings.model}: {detail}; tool calling {settings.tool_calling}"),
    )
    if not settings.split_mode:
        return
    url, name = str(settings.planner_base_url), str(settings.planner_model)
    start = f"lingshu vllm-command --planner {name}"
    ok, detail = probe_endpoint(url, name, settings.planner_api_key, start=start)
    if ok and settings.planner_tool_calling == "native":
        ok, probe = probe_tool_call(url, name, settings.planner_api_key)
        detail = f"{detail}; {probe}"
    table.add_row(
        "planner",
        _mark(ok),
        escape(f"{name}: {detail}; tool calling {settings.planner_tool_calling}"),
    )


def _mark(ok: bool) -> str:
    return "[green]ok[/green]" if ok else "[yellow]no[/yellow]"


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
    _model_rows(table, settings)
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
