"""Fixtures: the synthetic patients in an embedded store, a FHIR test server, tool calls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import ToolMessage

from knowledge.ehr import EmbeddedFhirStore, ensure_demo_patients
from knowledge.patients import bundle_paths
from tests.ehr.fhir_server import FhirTestServer, ServerConfig
from tools.ehr import EHR_TOOLS
from tools.evidence import EvidenceLedger
from tools.runtime import ToolContext, call_tool

TOOLS = {t.name: t for t in EHR_TOOLS}


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedFhirStore]:
    """All synthetic patients, imported once for the test session (read-only use)."""
    store = ensure_demo_patients(tmp_path_factory.mktemp("ehr") / "ehr.sqlite")
    yield store
    store.close()


@pytest.fixture(scope="session")
def fhir_server() -> Iterator[FhirTestServer]:
    """The synthetic bundles on a FHIR search server with small pages and a bearer token."""
    config = ServerConfig(token="test-token", max_page=7)
    with FhirTestServer(bundle_paths(), config) as server:
        yield server


def context(source: Any, patient_id: str | None, **kwargs: Any) -> ToolContext:
    return ToolContext(ledger=EvidenceLedger(), patient_id=patient_id, ehr=source, **kwargs)


def call(ctx: ToolContext, name: str, **args: Any) -> ToolMessage:
    """Invoke a tool the way the graph does (a tool call with the injected context)."""
    message = call_tool(TOOLS[name], ctx, call_id="call-1", **args)
    assert isinstance(message, ToolMessage)
    return message


def write_bundle(path: Path, resources: list[dict[str, Any]]) -> Path:
    import json

    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return path
