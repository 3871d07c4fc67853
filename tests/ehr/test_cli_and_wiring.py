"""``lingshu ehr ...`` and how settings choose the EHR source."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agent.cli import app
from agent.resources import open_ehr
from agent.settings import Settings
from knowledge.ehr import EmbeddedFhirStore, RemoteFhirClient
from knowledge.ehr.redacting import RedactingSource
from knowledge.patients import BUNDLE_DIR

runner = CliRunner()


def test_import_reports_counts_and_names_skipped_resources(tmp_path: Path) -> None:
    bad = tmp_path / "Observation.ndjson"
    bad.write_text(json.dumps({"resourceType": "Observation", "id": "broken"}) + "\n")
    db = tmp_path / "ehr.sqlite"
    result = runner.invoke(
        app, ["ehr", "import", str(BUNDLE_DIR / "chest-pain.json"), str(bad), "--db", str(db)]
    )
    assert result.exit_code == 0, result.output
    assert "Imported" in result.output and "skipped 1" in " ".join(result.output.split())
    assert "Observation/broken" in result.output
    assert EmbeddedFhirStore(db).counts()["Patient"] == 1


def test_import_of_a_missing_path_fails_clearly(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ehr", "import", str(tmp_path / "nope.json")])
    assert result.exit_code == 2 and "error: no such file" in result.output


def test_patients_lists_synopses_without_identifiers(tmp_path: Path) -> None:
    db = tmp_path / "ehr.sqlite"
    assert runner.invoke(app, ["ehr", "load-demo", "--db", str(db)]).exit_code == 0
    result = runner.invoke(app, ["ehr", "patients", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "chest-pain" in result.output and "Chest pain" in result.output
    assert "SYN-" not in result.output and "Synthetic" not in result.output


def test_settings_choose_remote_embedded_or_none(tmp_path: Path) -> None:
    assert open_ehr(Settings(data_dir=tmp_path)) is None
    remote = open_ehr(
        Settings(data_dir=tmp_path, fhir_base_url="http://127.0.0.1:9/fhir", fhir_token="t")
    )
    # every source is opened behind the redaction of free-text identifiers
    assert isinstance(remote, RedactingSource) and isinstance(remote.source, RemoteFhirClient)
    EmbeddedFhirStore(tmp_path / "ehr.sqlite").close()
    embedded = open_ehr(Settings(data_dir=tmp_path))
    assert isinstance(embedded, RedactingSource) and isinstance(embedded.source, EmbeddedFhirStore)
    shown = open_ehr(Settings(data_dir=tmp_path, ehr_show_identifiers=True))
    assert isinstance(shown, EmbeddedFhirStore)
