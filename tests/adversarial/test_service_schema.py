"""The service's own OpenAPI schema, fuzzed by schemathesis against the real server on
loopback: no request it can generate (valid or not) gets a 5xx, and every response
conforms to the schema the service publishes. Bounded: a few examples per operation,
so the whole run stays well within CI's time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)

from tests.loopback import ThreadedUvicorn
from tests.server.conftest import make_service
from tests.server.model_server import DelayedModelServer

EXAMPLES = 12


@pytest.fixture(scope="module")
def service_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("schema")
    with DelayedModelServer() as model:  # /readyz asks the model endpoint
        app, _ = make_service(
            tmp, ["An answer."] * 5000, server_api_keys=[], base_url=model.base_url
        )
        with ThreadedUvicorn(app) as server:
            yield server.url


@pytest.fixture(scope="module")
def api_schema(service_url: str) -> Any:
    return schemathesis.openapi.from_url(service_url + "/openapi.json")


def test_no_5xx_and_responses_match_the_schema(api_schema: Any, service_url: str) -> None:
    """Each operation of the published schema, fuzzed (positive and negative cases)."""
    # schemathesis's own pytest plugin does not run under pytest 9: drive it by its API.
    checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10
    ran: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def fuzz(case: Any) -> None:
            case.call_and_validate(base_url=service_url, checks=checks)
            ran.append(1)

        fuzz()
    print(f"schemathesis: {len(ran)} cases over {len(operations)} operations")
    assert len(ran) >= 3 * len(operations), len(ran)  # the run really exercised each one


def test_the_schema_documents_the_error_body(api_schema: Any, service_url: str) -> None:
    import httpx

    published = httpx.get(service_url + "/openapi.json").json()
    error = published["components"]["schemas"]["HTTPValidationError"]
    assert set(error["required"]) == {"detail", "error"}
    assert error["properties"]["detail"]["type"] == "string"
