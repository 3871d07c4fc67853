"""Fixtures: the score test patients in a real embedded FHIR store, and tool calls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import ToolMessage

from knowledge.ehr import EmbeddedFhirStore
from tests.scores import records
from tools.evidence import EvidenceLedger
from tools.runtime import ToolContext, call_tool
from tools.scores import calculate


@pytest.fixture(scope="session")
def score_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedFhirStore]:
    folder = tmp_path_factory.mktemp("scores")
    store = EmbeddedFhirStore(folder / "ehr.sqlite")
    for build in records.ALL:
        path = folder / f"{build.__name__}.json"
        bundle = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": r} for r in build()],
        }
        path.write_text(json.dumps(bundle), encoding="utf-8")
        report = store.import_file(path)
        assert not report.skipped, report.warnings
    yield store
    store.close()


def context(store: Any, patient_id: str | None, as_of: str | None = records.AS_OF) -> ToolContext:
    extras = {"as_of": as_of} if as_of else {}
    return ToolContext(ledger=EvidenceLedger(), patient_id=patient_id, ehr=store, extras=extras)


def run(ctx: ToolContext, calculator: str, **reported: Any) -> ToolMessage:
    args: dict[str, Any] = {"calculator": calculator}
    if reported:
        args["reported"] = reported
    message = call_tool(calculate, ctx, call_id="c1", **args)
    assert isinstance(message, ToolMessage)
    return message
