"""What the question tests share: an agent over a scripted model and the demo record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.resources import Resources
from agent.session import Lingshu
from agent.settings import Settings
from knowledge.ehr import EmbeddedFhirStore
from knowledge.ehr.demo import ensure_demo_patients
from knowledge.imaging import ImageStore
from testing.fakes import ScriptedChatModel, call
from tools.ehr import EHR_TOOLS

QUESTION = "Has the patient travelled abroad in the last month?"
"""A question the demo record of ``chest-pain`` does not answer."""


@pytest.fixture(scope="session")
def ehr_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ehr") / "ehr.sqlite"
    ensure_demo_patients(path).close()
    return path


def asking(question: str = QUESTION, why: str = "Travel changes the pre-test odds of PE.") -> str:
    """A reply that puts a question to the clinician (a Hermes call, as Lingshu writes it)."""
    return call("ask_clinician", question=question, why=why)


def make_agent(
    tmp_path: Path, script: list[Any], ehr_path: Path | None, **overrides: Any
) -> tuple[Lingshu, ScriptedChatModel]:
    settings = Settings(data_dir=tmp_path / "data", **overrides)
    resources = Resources(
        images=ImageStore(settings.images_path),
        ehr=EmbeddedFhirStore(ehr_path) if ehr_path else None,
    )
    model = ScriptedChatModel(script=script)
    return Lingshu(settings, model=model, tools=EHR_TOOLS, resources=resources), model
