"""``lingshu demo``: a bundled sample case, end to end.

It loads the starter guideline corpus and the synthetic patients into the data
directory (once; later runs reuse them), then consults on the chest-pain patient.
With no model server running it still shows the evidence the tools gathered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

from agent.cli.app import app
from agent.cli.consult import AsJson, run_turn
from agent.cli.options import with_model_settings
from agent.cli.output import console, fail
from agent.session import Lingshu
from agent.settings import Settings
from knowledge.imaging.demo import demo_image_paths


@dataclass(frozen=True)
class DemoCase:
    """A bundled case: a synthetic patient and/or real demo images, and a question."""

    question: str
    patient: str | None = None
    images: tuple[str, ...] = ()
    mode: str | None = None


CASES: dict[str, DemoCase] = {
    "chest-pain": DemoCase(
        "62-year-old man with two hours of central chest pressure radiating to the left arm, "
        "sweating. What is the differential diagnosis, and what should be done next?",
        patient="chest-pain",
    ),
    "retinopathy": DemoCase(
        "Fundus photograph of a patient with type 2 diabetes. Is there diabetic retinopathy, "
        "and if so which grade? What follow-up is appropriate?",
        patient="diabetic-retinopathy",
        images=("fundus",),
    ),
    "liver": DemoCase(
        "Axial MR image of the upper abdomen. Describe any liver lesion and its differential.",
        images=("mr_abdomen",),
        mode="report",
    ),
    "ct": DemoCase(
        "Axial CT slice. Choose a suitable window, look closer where needed, and report.",
        images=("ct",),
        mode="report",
    ),
    "ultrasound": DemoCase(
        "Colour ultrasound clip. Step through the frames and describe what you see.",
        images=("ultrasound",),
        mode="report",
    ),
}
"""Images come from installed packages (scikit-image, pydicom); nothing is downloaded."""


def prepare_demo_stores(settings: Settings, *, quiet: bool = False) -> None:
    """Put the starter corpus and the synthetic patients where the settings point.

    The first run stores the starter corpus with the vectors shipped in the package
    (seconds; progress bars on stderr); later runs only compare file hashes. The
    embedding model then loads in the background while the agent starts, so the
    first guideline search does not wait for it.
    """
    from agent.cli.ingest import RichProgress, progress_bars
    from knowledge.ehr import ensure_demo_patients
    from knowledge.guidelines import ensure_starter_store, get_embedder

    if not settings.chroma_url:
        if quiet:
            ensure_starter_store(settings.guideline_path, settings.embedding_model)
        else:
            with progress_bars() as bars:
                ensure_starter_store(
                    settings.guideline_path, settings.embedding_model, progress=RichProgress(bars)
                )
    get_embedder(settings.embedding_model).warm()
    if not settings.fhir_base_url:
        ensure_demo_patients(settings.ehr_path)


@app.command()
@with_model_settings
def demo(
    case: Annotated[
        str, typer.Option("--case", "-c", help=f"Which bundled case: {', '.join(CASES)}.")
    ] = "chest-pain",
    question: Annotated[
        str | None, typer.Option("--question", "-q", help="Ask something else about the case.")
    ] = None,
    as_json: AsJson = False,
    *,
    settings: Settings,
) -> None:
    """Run a bundled sample case end to end (default: the synthetic chest-pain patient)."""
    chosen = CASES.get(case)
    if chosen is None:
        fail(f"no demo case {case!r}; choose one of {', '.join(CASES)}")
    prepare_demo_stores(settings, quiet=as_json)
    images = demo_image_paths(settings.data_dir / "demo-images") if chosen.images else {}
    text = question or chosen.question
    if not as_json:
        who = f"synthetic patient [cyan]{chosen.patient}[/cyan]" if chosen.patient else "no patient"
        shown = f", images: {', '.join(chosen.images)}" if chosen.images else ""
        console.print(f"[bold]Demo case {case}[/bold] ({who}{shown}): {text}")
    run_turn(
        Lingshu(settings),
        text,
        session_id=None,
        images=[images[name] for name in chosen.images],
        patient_id=chosen.patient,
        mode=chosen.mode,
        as_json=as_json,
    )
