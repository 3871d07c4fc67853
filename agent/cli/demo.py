"""``lingshu demo``: a bundled sample case, end to end.

It loads the starter guideline corpus and the synthetic patients into the data
directory (once; later runs reuse them), then consults on the chest-pain patient.
With no model server running it still shows the evidence the tools gathered.
"""

from __future__ import annotations

from typing import Annotated

import typer

from agent.cli.app import app
from agent.cli.consult import AsJson, run_turn
from agent.cli.options import (
    Backend,
    BaseUrl,
    Constrained,
    DataDir,
    Model,
    ToolCalling,
    build_settings,
    console,
)
from agent.session import Lingshu
from agent.settings import Settings

DEMO_PATIENT = "chest-pain"
DEMO_QUESTION = (
    "62-year-old man with two hours of central chest pressure radiating to the left arm, "
    "sweating. What is the differential diagnosis, and what should be done next?"
)


def prepare_demo_stores(settings: Settings, *, quiet: bool = False) -> None:
    """Put the starter corpus and the synthetic patients where the settings point."""
    from knowledge.ehr import ensure_demo_patients
    from knowledge.guidelines import ensure_starter_store

    with console.status("Preparing the demo stores…", spinner="dots") if not quiet else _Null():
        if not settings.chroma_url:
            ensure_starter_store(settings.guideline_path, settings.embedding_model)
        if not settings.fhir_base_url:
            ensure_demo_patients(settings.ehr_path)


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


@app.command()
def demo(
    question: Annotated[
        str, typer.Option("--question", "-q", help="Ask something else about the demo patient.")
    ] = DEMO_QUESTION,
    as_json: AsJson = False,
    backend: Backend = None,
    model: Model = None,
    base_url: BaseUrl = None,
    tool_calling: ToolCalling = None,
    constrained: Constrained = None,
    data_dir: DataDir = None,
) -> None:
    """Run the bundled sample case (synthetic chest-pain patient) and print the answer."""
    settings = build_settings(
        backend=backend,
        model=model,
        base_url=base_url,
        tool_calling=tool_calling,
        constrained=constrained,
        data_dir=data_dir,
    )
    prepare_demo_stores(settings, quiet=as_json)
    if not as_json:
        console.print(
            f"[bold]Demo case[/bold] (synthetic patient [cyan]{DEMO_PATIENT}[/cyan]): {question}"
        )
    agent = Lingshu(settings)
    run_turn(
        agent,
        question,
        session_id=None,
        images=[],
        patient_id=DEMO_PATIENT,
        mode=None,
        as_json=as_json,
    )
