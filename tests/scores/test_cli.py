"""``lingshu calc`` and ``lingshu phenotypes`` from the command line (real EHR store)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from agent.cli import app
from knowledge.ehr import EmbeddedFhirStore
from tests.scores import records


def test_calc_reads_the_record_and_takes_reported_values(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = EmbeddedFhirStore(data / "ehr.sqlite")
    bundle = tmp_path / "p.json"
    entries = [{"resource": r} for r in records.pneumonia()]
    bundle.write_text(
        json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})
    )
    store.import_file(bundle)
    store.close()
    runner = CliRunner()
    args = ["calc", "CURB-65", "--patient", "score-pneumonia", "--data-dir", str(data)]
    result = runner.invoke(app, [*args, "--as-of", records.AS_OF, "-v", "confusion=no", "--json"])
    assert result.exit_code == 0, result.output
    payload: dict[str, Any] = json.loads(result.output)
    assert payload["data"]["value"] == 4
    assert payload["data"]["values"]["confusion"]["source"] == "reported"
    score = payload["references"][payload["data"]["score_id"]]
    assert score["citation"]["doi"] == "10.1136/thorax.58.5.377"
    missing = runner.invoke(app, [*args, "--as-of", records.AS_OF])
    assert missing.exit_code == 0 and "NOT computed: missing confusion" in missing.output
    unknown = runner.invoke(
        app, ["calc", "CURB-65", "--patient", "nobody", "--data-dir", str(data)]
    )
    assert unknown.exit_code == 2 and "error: no patient" in unknown.output


def test_calc_lists_calculators_and_phenotypes_ranks() -> None:
    runner = CliRunner()
    listing = runner.invoke(app, ["calc", "--list"])
    assert listing.exit_code == 0 and "curb65" in listing.output and "meld_na" in listing.output
    ranked = runner.invoke(
        app, ["phenotypes", "angiokeratomas, reduced sweating, corneal opacity", "--json"]
    )
    assert ranked.exit_code == 0, ranked.output
    top = json.loads(ranked.output)["data"]["candidates"][0]
    assert "Fabry" in top["name"]
