"""``lingshu ingest`` / ``lingshu search``, the starter store and the agent's opener."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.resources import searchable_guidelines
from agent.settings import Settings
from knowledge.guidelines import ModelMismatchError, ensure_starter_store, starter_files
from tests.guidelines.conftest import write_md
from tests.guidelines.pdfmaker import write_pdf


def test_ingest_and_search_commands(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_md(
        docs,
        "pe.md",
        title="Pulmonary embolism",
        publisher="ESC/ERS",
        year=2019,
        tags=["cardiology"],
        url="https://doi.org/10.1093/eurheartj/ehz405",
        body="## D-dimer\n\nMeasure D-dimer when clinical probability is low.\n",
    )
    write_pdf(
        docs / "inr.pdf",
        [["Check the INR on day three of warfarin."]],
        title="Warfarin",
        author="NICE",
    )
    (docs / "broken.html").write_bytes(b"\xff\xfe not utf-8")
    store = tmp_path / "store"
    runner = CliRunner()

    result = runner.invoke(app, ["ingest", str(docs), "--store", str(store)])
    assert result.exit_code == 1, result.output  # one file failed, the rest was ingested
    assert "broken.html" in result.output and "UTF-8" in result.output
    assert "2 added" in result.output

    result = runner.invoke(
        app, ["search", "INR warfarin", "--store", str(store), "--k", "1", "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    (top,) = payload["passages"]
    assert top["title"] == "Warfarin" and top["page"] == 1 and top["publisher"] == "NICE"
    assert "INR" in top["text"] and top["score"] > 0

    result = runner.invoke(
        app,
        ["search", "D-dimer", "--store", str(store), "--json", "--publisher", "ESC", "--k", "3"],
    )
    passages = json.loads(result.stdout)["passages"]
    assert [p["url"] for p in passages] == ["https://doi.org/10.1093/eurheartj/ehz405"]

    question = "SOB and haemoptysis after a long flight, calf swelling"
    result = runner.invoke(app, ["search", question, "--store", str(store), "--json"])
    payload = json.loads(result.stdout)
    assert payload["expanded_with"][0] == "pulmonary embolism"
    assert payload["passages"][0]["title"] == "Pulmonary embolism"
    result = runner.invoke(
        app, ["search", question, "--store", str(store), "--json", "--no-expand"]
    )
    assert json.loads(result.stdout)["expanded_with"] == []

    result = runner.invoke(app, ["search", "anything", "--store", str(tmp_path / "none"), "--json"])
    assert result.exit_code == 2 and "no guideline store" in result.output


def test_starter_store_serves_the_agent(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    assert searchable_guidelines(settings) is None  # nothing ingested yet: the tool is not offered

    events: list[tuple[str, int]] = []

    class Recorder:
        def start(self, task: str, total: int) -> None:
            events.append((task, total))

        def advance(self, task: str, n: int = 1, detail: str = "") -> None:
            events.append((task, n))

    store = ensure_starter_store(
        settings.guideline_path,
        settings.embedding_model,
        progress=Recorder(),
        include_open_medicine=False,  # the project corpus keeps the test fast
    )
    assert ("files", len(starter_files())) in events
    assert store.count() > 30
    again = ensure_starter_store(settings.guideline_path, include_open_medicine=False)  # cached
    assert again.count() == store.count()

    opened = searchable_guidelines(settings)
    assert opened is not None and opened.count() == store.count()
    top = opened.search("tension pneumothorax decompression", k=1)[0].chunk
    assert top.publisher == "BTS" and top.url == "https://doi.org/10.1136/thorax-2022-219784"

    # A store built with another model is refused with a message saying what to do.
    other = Settings(data_dir=tmp_path / "data", embedding_model="BAAI/bge-small-en-v1.5")
    with pytest.raises(ModelMismatchError, match="--rebuild"):
        searchable_guidelines(other)


def test_starter_reads_open_medicine_in_place_with_its_registry() -> None:
    from knowledge.guidelines.registry import open_medicine_guidelines, registry_entry
    from knowledge.guidelines.starter import STARTER_CORPUS, starter_roots

    folder = open_medicine_guidelines()
    assert folder is not None, "open-medicine is a dependency of the starter corpus"
    assert starter_roots() == [folder, STARTER_CORPUS]
    assert starter_roots(include_open_medicine=False) == [STARTER_CORPUS]
    some = next(p for p in sorted(folder.rglob("*.md")) if registry_entry(p))
    entry = registry_entry(some)
    assert entry is not None and entry.get("title") and entry.get("year")
