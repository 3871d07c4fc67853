"""Fixtures: the rare-disease patient in a real embedded FHIR store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from knowledge.ehr import EmbeddedFhirStore
from tests.phenotypes import records


def load(store: EmbeddedFhirStore, folder: Path) -> EmbeddedFhirStore:
    for build in (records.fabry, records.other):
        path = folder / f"{build.__name__}.json"
        entries = [{"resource": r} for r in build()]
        path.write_text(
            json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}),
            encoding="utf-8",
        )
        report = store.import_file(path)
        assert not report.skipped, report.warnings
    return store


@pytest.fixture(scope="session")
def rare_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedFhirStore]:
    folder = tmp_path_factory.mktemp("rare")
    store = load(EmbeddedFhirStore(folder / "ehr.sqlite"), folder)
    yield store
    store.close()
