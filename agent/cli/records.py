"""``lingshu audit SESSION`` (every record read in a session) and ``lingshu patients``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer
from langchain_core.messages import AIMessage, HumanMessage
from rich import box
from rich.markup import escape
from rich.table import Table

from agent.cli.app import app
from agent.cli.ehr import patients as ehr_patients
from agent.cli.options import with_settings
from agent.cli.output import console, fail
from agent.prompting import is_user_turn, marker
from agent.session import Lingshu, UnknownSession
from agent.settings import Settings
from agent.state import REPAIR

app.command("patients", help="List the patients in the EHR store, one line each (no identifiers).")(
    ehr_patients
)


def _brief(resources: list[str], shown: int = 3) -> str:
    if not resources:
        return ""
    more = f" (+{len(resources) - shown} more; --json lists all)" if len(resources) > shown else ""
    return f"read {len(resources)}: " + ", ".join(resources[:shown]) + more


def _call(entry: dict[str, Any]) -> str:
    """``get_labs(name_or_loinc='troponin')``; a model call's tokens and requested tools."""
    args = entry.get("args") or {}
    if entry.get("tool") == "model":
        tokens = [
            f"{args[k]:,} {k.split('_')[0]}" for k in ("input_tokens", "output_tokens") if k in args
        ]
        calls = ", ".join(args.get("calls") or [])
        parts = [
            " / ".join(tokens) + " tokens" if tokens else "",
            f"asked for {calls}" if calls else "",
        ]
        return "model call" + "".join(f"; {p}" for p in parts if p)
    if entry.get("tool") == "repair":
        return "repair sent to the model: " + "; ".join(args.get("problems") or [])
    shown = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in args.items())
    return f"{entry.get('tool', '')}({shown})"


def _ms(value: Any) -> str:
    if not isinstance(value, int | float):
        return "-"
    return f"{value:,.1f}" if value >= 0.1 else f"{value:.3f}"


def _repairs(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Repair requests the model was sent, read from the session's messages.

    Each carries its turn and how many model replies of that turn came before it, so it
    is listed right after the model call it answered.
    """
    found: list[dict[str, Any]] = []
    turn = replies = 0
    for msg in state.get("messages") or []:
        if is_user_turn(msg):
            turn, replies = turn + 1, 0
        elif isinstance(msg, AIMessage) and marker(msg) is None:
            replies += 1
        elif isinstance(msg, HumanMessage) and marker(msg) == REPAIR:
            problems = [
                line.removeprefix("- ").strip()
                for line in msg.text.splitlines()
                if line.startswith("- ")
            ]
            found.append(
                {
                    "turn": turn,
                    "after_model": replies,
                    "tool": "repair",
                    "args": {"problems": problems},
                    "status": "sent",
                    "patient_id": state.get("patient_id"),
                    "resources": [],
                }
            )
    return found


def _trail(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Audit entries in order, each repair right after the model call it answered."""
    pending = _repairs(state)
    out: list[dict[str, Any]] = []
    seen: dict[Any, int] = {}
    for entry in state.get("audit") or []:
        out.append(entry)
        if entry.get("tool") == "model":
            turn = entry.get("turn")
            seen[turn] = seen.get(turn, 0) + 1
            due = [r for r in pending if r["turn"] == turn and r["after_model"] <= seen[turn]]
            out += [{k: v for k, v in r.items() if k != "after_model"} for r in due]
            pending = [r for r in pending if r not in due]
    return out + [{k: v for k, v in r.items() if k != "after_model"} for r in pending]


def _clock(value: Any) -> str:
    """``15:42:12.157`` from an ISO time (the date is in the title)."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return "-"
    return moment.strftime("%H:%M:%S.%f")[:12]


@app.command()
@with_settings()
def audit(
    session: Annotated[str, typer.Argument(help="The session id.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    *,
    settings: Settings,
) -> None:
    """Show the audit trail of a session: every model call, repair, tool call and record read."""
    try:
        state = Lingshu(settings).state(session)
    except UnknownSession as exc:
        fail(str(exc))
    entries = _trail(state)
    if as_json:
        for entry in entries:
            print(json.dumps({"session_id": session, **entry}, ensure_ascii=False, default=str))
        return
    days = sorted({str(e.get("time", ""))[:10] for e in entries if e.get("time")})
    title = (
        f"audit of session {session}\npatient {state.get('patient_id') or '-'}; "
        f"times UTC{' on ' + ', '.join(days) if days else ''}; ms = time the call itself took"
    )
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, expand=False)
    table.add_column("turn", justify="right", no_wrap=True)
    table.add_column("time", no_wrap=True)
    table.add_column("call (arguments) / records read", overflow="fold", ratio=1)
    table.add_column("status", no_wrap=True)
    table.add_column("ms", justify="right", no_wrap=True)
    for entry in entries:
        read = _brief(entry.get("resources") or [])
        error = f"\n[red]{escape(str(entry['error']))}[/red]" if entry.get("error") else ""
        table.add_row(
            str(entry.get("turn", "")),
            _clock(entry.get("time")),
            escape(_call(entry)) + (f"\n[dim]{escape(read)}[/dim]" if read else "") + error,
            str(entry.get("status", "")),
            _ms(entry.get("ms")),
        )
    console.print(table)
