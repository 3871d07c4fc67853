"""The remote FHIR client against a real FHIR search server on 127.0.0.1."""

from __future__ import annotations

import socket
from datetime import date
from typing import Any

import pytest

from knowledge.ehr import EmbeddedFhirStore, FhirUnavailable, RemoteFhirClient
from knowledge.patients import BUNDLE_DIR
from tests.ehr.conftest import call, context
from tests.ehr.fhir_server import FhirTestServer, ServerConfig
from tools.runtime import ToolError

CALLS: list[tuple[str, dict[str, Any]]] = [
    ("patient_summary", {}),
    ("get_labs", {"name_or_loinc": "troponin"}),
    ("get_labs", {"name_or_loinc": "creatinine", "since": "2026-01-01"}),
    ("get_labs", {"name_or_loinc": "lactate"}),
    ("get_vitals", {}),
    ("list_conditions", {"status": "all"}),
    ("list_medications", {"status": "all"}),
    ("list_allergies", {}),
    ("search_notes", {"query": "chest radiograph consolidation"}),
]


def _answers(source: Any, patient_id: str) -> list[tuple[str, Any]]:
    ctx = context(source, patient_id)
    out = []
    for name, args in CALLS:
        message = call(ctx, name, **args)
        out.append((str(message.content), message.artifact))
    return out


@pytest.mark.parametrize("patient_id", ["chest-pain", "pneumonia", "sepsis", "stroke"])
def test_remote_and_embedded_give_the_same_answers(
    demo_store: EmbeddedFhirStore, fhir_server: FhirTestServer, patient_id: str
) -> None:
    client = RemoteFhirClient(fhir_server.base_url, token="test-token", page_size=50)
    try:
        assert _answers(client, patient_id) == _answers(demo_store, patient_id)
    finally:
        client.close()


def test_search_follows_next_links(
    demo_store: EmbeddedFhirStore, fhir_server: FhirTestServer
) -> None:
    expected = [r["id"] for r in demo_store.search("Observation", "chest-pain")]
    client = RemoteFhirClient(fhir_server.base_url, token="test-token", page_size=50)
    before = len(fhir_server.config.requests)
    found = client.search("Observation", "chest-pain")
    pages = fhir_server.config.requests[before:]
    client.close()
    assert len(expected) > 30 and [r["id"] for r in found] == expected
    assert len(pages) == -(-len(expected) // 7)  # the server pages by 7
    assert "patient=chest-pain" in pages[0] and "_sort=-date" in pages[0]
    assert all("_offset=" in p for p in pages[1:])
    dates = [r["effectiveDateTime"] for r in found]
    assert dates == sorted(dates, reverse=True)


def test_search_parameters_code_date_and_count(fhir_server: FhirTestServer) -> None:
    client = RemoteFhirClient(fhir_server.base_url, token="test-token")
    before = len(fhir_server.config.requests)
    found = client.search(
        "Observation",
        "chest-pain",
        codes=["http://loinc.org|2160-0"],
        since=date(2025, 12, 1),
        count=1,
    )
    client.close()
    query = fhir_server.config.requests[before]
    assert "code=http%3A%2F%2Floinc.org%7C2160-0" in query and "date=ge2025-12-01" in query
    assert "_count=1" in query
    assert [r["effectiveDateTime"] for r in found] == ["2026-03-01T08:05:00Z"]


def test_patient_read_and_listing(fhir_server: FhirTestServer) -> None:
    client = RemoteFhirClient(fhir_server.base_url, token="test-token")
    assert client.patient("stroke")["gender"] == "male"  # type: ignore[index]
    assert client.patient("nobody") is None
    assert len(client.patients()) == len(list(BUNDLE_DIR.glob("*.json")))
    client.close()


def test_wrong_token_is_refused_clearly(fhir_server: FhirTestServer) -> None:
    client = RemoteFhirClient(fhir_server.base_url, token="wrong", retries=0)
    with pytest.raises(FhirUnavailable, match="refused: HTTP 401") as info:
        client.search("Condition", "chest-pain")
    assert info.value.url.startswith(fhir_server.base_url)
    with pytest.raises(ToolError, match=r"EHR could not be read \(refused: HTTP 401"):
        call(context(client, "chest-pain"), "list_conditions")
    client.close()


def test_timeout_is_retried_then_reported() -> None:
    with FhirTestServer([BUNDLE_DIR / "checkup.json"], ServerConfig(delay_s=1.0)) as server:
        client = RemoteFhirClient(server.base_url, timeout_s=0.2, retries=1)
        with pytest.raises(FhirUnavailable, match="timed out after 2 attempts"):
            client.search("Condition", "checkup")
        assert len(server.config.requests) == 2
        client.close()


def test_server_errors_are_retried() -> None:
    config = ServerConfig(fail_times=2)
    with FhirTestServer([BUNDLE_DIR / "checkup.json"], config) as server:
        client = RemoteFhirClient(server.base_url, retries=2)
        assert [c["id"] for c in client.search("Condition", "checkup")] == ["checkup-cond-3"]
        client.close()
        failing = RemoteFhirClient(server.base_url, retries=0)
        server.config.fail_times = 1
        with pytest.raises(FhirUnavailable, match="HTTP 503"):
            failing.search("Condition", "checkup")
        failing.close()


def test_server_down_is_a_clear_error() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = RemoteFhirClient(f"http://127.0.0.1:{port}/fhir", retries=1)
    with pytest.raises(FhirUnavailable, match="cannot connect") as info:
        client.search("Observation", "chest-pain")
    assert f"127.0.0.1:{port}/fhir" in str(info.value)
    with pytest.raises(ToolError, match="Continue without it"):
        call(context(client, "chest-pain"), "patient_summary")
    client.close()
