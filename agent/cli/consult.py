"""``lingshu consult`` (one question) and ``lingshu chat`` (a multi-turn session)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markdown import Markdown
from rich.markup import escape
from rich.panel import Panel

from agent.cli.app import app
from agent.cli.options import Mode, with_model_settings
from agent.cli.output import console, err, fail
from agent.report import to_json, to_markdown, write_report
from agent.session import InputError, Lingshu, SessionBusy, TurnResult, UnknownSession
from agent.settings import Settings
from knowledge.imaging.overlay import save_outlined

EXIT_ANSWERED, EXIT_FAILED, EXIT_INPUT, EXIT_BRIEF, EXIT_QUESTION = 0, 1, 2, 3, 4

log = logging.getLogger(__name__)

Images = Annotated[
    list[Path] | None,
    typer.Option("--image", "-i", help="An image for this question (repeat for several)."),
]
Patient = Annotated[
    str | None, typer.Option("--patient", "-p", help="Patient id (bound to the session).")
]
SessionId = Annotated[str | None, typer.Option("--session", "-s", help="Continue this session.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")]
OutlineDir = Annotated[
    Path | None,
    typer.Option(
        "--outline",
        help="Write each image with the regions the agent zoomed into outlined (PNG) here.",
    ),
]
ReportPath = Annotated[
    Path | None,
    typer.Option("--report", help="Also write the answer to a file: .html, .md or .json."),
]


def run_turn(
    agent: Lingshu,
    question: str,
    *,
    session_id: str | None,
    images: list[Path],
    patient_id: str | None,
    mode: str | None,
    as_json: bool,
    report: Path | None = None,
    outline: Path | None = None,
) -> TurnResult:
    """Run one turn, showing its steps live unless JSON was asked for."""
    kwargs: dict[str, Any] = {
        "session_id": session_id,
        "images": images,
        "patient_id": patient_id,
        "mode": mode,
    }
    try:
        if as_json:
            result = agent.ask(question, **kwargs)
        else:
            result = _ask_live(agent, question, kwargs)
    except (InputError, UnknownSession, SessionBusy) as exc:
        fail(str(exc), EXIT_INPUT)
    if result.answer.get("produced_by") == "evidence_brief":
        err.print(model_down_line(agent.settings, result.answer.get("model_error")))
    if as_json:
        print(json.dumps(result.to_json(), ensure_ascii=False, default=str))
    elif result.question is not None:
        show_question(result)
    else:
        title = answer_title(agent.settings, result.final.produced_by)
        console.print(Panel(Markdown(to_markdown(result.final)), title=title, expand=True))
        console.print(
            f"[dim]session {result.session_id} — continue with --session {result.session_id}[/dim]"
        )
    if report is not None:
        write_report(report, result.final, image_root=agent.settings.images_path)
        err.print(f"[green]Report written to {report}[/green]")
    if outline is not None:
        for path in write_outlines(agent, result, outline):
            err.print(f"[green]Outlined regions: {path}[/green]")
    return result


def answer_title(settings: Settings, produced_by: str) -> str:
    """The answer panel's title: the model that wrote it. In split mode that is the planner
    (Lingshu only answered its ``look`` questions); otherwise Lingshu."""
    if not settings.split_mode:
        return "Lingshu"
    if produced_by == "evidence_brief":
        return "Evidence brief (the planner did not answer)"
    return f"{escape(str(settings.planner_model))} (planner; Lingshu reads the images)"


def show_question(result: TurnResult) -> None:
    """The question the turn stopped at, and how to answer it."""
    asked = result.question or {}
    why = f"\n[dim]Why: {escape(asked['why'])}[/dim]" if asked.get("why") else ""
    text = f"The agent asks: {escape(asked.get('question', ''))}{why}"
    console.print(Panel(text, title="Question", border_style="yellow", expand=True))
    console.print(
        f"[dim]session {result.session_id} — answer with --session {result.session_id} "
        '"your answer"[/dim]'
    )


def write_outlines(agent: Lingshu, result: TurnResult, folder: Path) -> list[Path]:
    """One PNG per original image that has zoomed views: the regions outlined, labelled."""
    citations = {i: r["citation"] for i, r in result.evidence.items() if r["kind"] == "image"}
    roots = {c.get("root") or c.get("parent") for c in citations.values() if c.get("box")}
    return [
        save_outlined(
            agent.resources.images, root, citations, folder / f"{result.session_id}-{root}.png"
        )
        for root in sorted(r for r in roots if r)
    ]


def _ask_live(agent: Lingshu, question: str, kwargs: dict[str, Any]) -> TurnResult:
    final: TurnResult | None = None
    with console.status("[cyan]Thinking…", spinner="dots") as status:
        for event in agent.stream(question, **kwargs):
            kind = event["type"]
            if kind == "tool_call":
                args = ", ".join(f"{k}={v!r}" for k, v in event["args"].items())
                console.print(f"[cyan]→ {event['name']}({args})[/cyan]")
                status.update(f"[cyan]Running {event['name']}…")
            elif kind == "tool_result":
                style = "red" if event["status"] == "error" else "green"
                first = event["text"].splitlines()[0] if event["text"] else ""
                console.print(f"[{style}]  ← {event['name']}: {first[:100]}[/{style}]")
                status.update("[cyan]Thinking…")
            elif kind == "answer":  # the turn's one record, as --json gets it from ask
                final = event["result"]
    assert final is not None, "the stream ended without an answer"
    return final


def model_down_line(settings: Settings, reason: object) -> str:
    if settings.backend == "openai":
        return (
            f"[yellow]No model answered at {settings.base_url} ({reason}); start one with "
            '`eval "$(lingshu vllm-command)"`. Showing the evidence brief instead.[/yellow]'
        )
    return (
        f"[yellow]The in-process model could not be used ({reason}); "
        "showing the evidence brief.[/yellow]"
    )


@app.command()
@with_model_settings
def consult(
    question: Annotated[str, typer.Argument(help="The clinical question.")],
    image: Images = None,
    patient: Patient = None,
    session: SessionId = None,
    as_json: AsJson = False,
    report: ReportPath = None,
    outline: OutlineDir = None,
    mode: Mode = None,
    *,
    settings: Settings,
) -> None:
    """Ask one question (with images and a patient) and print the cited answer.

    Exit codes: 0 answered by the model; 1 failed (nothing answered: the error is
    printed); 2 input refused (a bad option or image, an empty question, an unknown
    session, a patient other than the session's, or the session busy with another turn
    past LINGSHU_SERVER_LOCK_WAIT_S); 3 no model answered, the evidence brief is shown;
    4 the agent asks the clinician a question (printed; with --json under "question"):
    answer it with `lingshu consult --session ID "the answer"`, which resumes the turn.
    """
    result = _guarded(
        lambda: run_turn(
            Lingshu(settings),
            question,
            session_id=session,
            images=list(image or []),
            patient_id=patient,
            mode=mode,
            as_json=as_json,
            report=report,
            outline=outline,
        )
    )
    raise typer.Exit(_exit_code(result))


def _guarded(run: Callable[[], TurnResult]) -> TurnResult:
    """A turn whose unexpected failure is one line and exit code 1, not a traceback."""
    try:
        return run()
    except typer.Exit:
        raise
    except Exception as exc:
        log.debug("the turn failed", exc_info=exc)
        fail(f"the turn failed: {type(exc).__name__}: {exc}", EXIT_FAILED)


def _exit_code(result: TurnResult) -> int:
    if result.question is not None:
        return EXIT_QUESTION
    return EXIT_BRIEF if result.answer.get("produced_by") == "evidence_brief" else EXIT_ANSWERED


@app.command("report")
@with_model_settings
def imaging_report(
    image: Annotated[
        list[Path], typer.Option("--image", "-i", help="An image to report (repeat for several).")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the report: .html, .md or .json.")
    ] = None,
    question: Annotated[str, typer.Option("--question", "-q", help="What to report on.")] = (
        "Write the imaging report (Findings and Impression) for these images."
    ),
    patient: Patient = None,
    as_json: AsJson = False,
    *,
    settings: Settings,
) -> None:
    """Write a structured imaging report (Findings / Impression) citing the images.

    Exit codes as for `lingshu consult`: 0 answered, 1 failed, 2 input refused, 3 the
    evidence brief (no model answered).
    """
    result = _guarded(
        lambda: run_turn(
            Lingshu(settings),
            question,
            session_id=None,
            images=list(image),
            patient_id=patient,
            mode="report",
            as_json=as_json,
            report=out,
        )
    )
    raise typer.Exit(_exit_code(result))


CHAT_HELP = """Type a question and press Enter. Commands:
  /image PATH   attach an image to your next question
  /session      show the session id
  /new          start a new session (same patient)
  /quit         leave (Ctrl-D works too)"""


@app.command()
@with_model_settings
def chat(
    patient: Patient = None,
    session: SessionId = None,
    mode: Mode = None,
    *,
    settings: Settings,
) -> None:
    """A multi-turn consultation in the terminal; the session is saved after every step."""
    agent = Lingshu(settings)
    if session and not agent.exists(session):
        fail(f"no session {session!r} in {settings.sessions_path}", EXIT_INPUT)
    _enable_line_history(settings.data_dir / "chat_history")
    console.print(Panel(CHAT_HELP, title="lingshu chat", expand=False))
    pending: list[Path] = []
    asked = _show_pending(agent, session)
    while True:
        try:
            line = input("answer> " if asked else "you> ").strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            break
        if not line:
            continue
        if line in ("/quit", "/exit"):
            break
        if line == "/session":
            console.print(f"session: {session or '(none yet)'}")
            continue
        if line == "/new":
            session, asked = None, False
            console.print("[dim]new session[/dim]")
            continue
        if line.startswith("/image"):
            pending.append(Path(line.removeprefix("/image").strip()).expanduser())
            console.print(f"[dim]{len(pending)} image(s) attached to your next question[/dim]")
            continue
        try:
            turn: dict[str, Any] = {
                "session_id": session,
                "images": pending,
                "patient_id": patient,
                "mode": mode,
            }
            result = run_turn(agent, line, as_json=False, **turn)
        except typer.Exit:
            pending = []
            continue  # the error was shown; the session is unchanged
        session, pending = result.session_id, []
        asked = result.question is not None  # the next line answers it


def _show_pending(agent: Lingshu, session: str | None) -> bool:
    """Show the question a continued session waits on; True when there is one."""
    asked = agent.pending(session) if session else None
    if asked is not None:
        console.print(f"The agent asks: {escape(asked['question'])}")
    return asked is not None


def _enable_line_history(path: Path) -> None:
    try:
        import readline
    except ImportError:  # pragma: no cover - not on every platform
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        readline.read_history_file(str(path))
    import atexit

    atexit.register(readline.write_history_file, str(path))


__all__ = ["chat", "consult", "run_turn", "to_json"]
