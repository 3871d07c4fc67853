"""A small FHIR R4 search server for tests, on 127.0.0.1 (no FHIR server package installs here).

It serves resources loaded from Bundle / NDJSON files and implements the part of
the FHIR REST search API the remote client uses: ``GET [type]/[id]``, ``GET
[type]?patient=&code=&date=ge&_sort=-param&_count=`` answered with a searchset
Bundle whose ``next`` link pages through the results. It can also demand a bearer
token, answer slowly, fail with 503 a number of times, or leak another patient's
resources into results (a misbehaving server).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from knowledge.ehr.embedded import importable_files, read_file_resources
from knowledge.ehr.parse import codes_of, date_of, patient_of
from tests.loopback import ThreadedHTTP, send_json


@dataclass
class ServerConfig:
    token: str | None = None
    delay_s: float = 0.0
    fail_times: int = 0
    """Answer this many requests with HTTP 503 before answering normally."""
    max_page: int = 100
    leak_patient: str | None = None
    """Add this patient's resources to every search result (a misbehaving server)."""
    requests: list[str] = field(default_factory=list)


class FhirTestServer:
    """Serve FHIR resources over HTTP on 127.0.0.1; use as a context manager."""

    def __init__(self, paths: Iterable[Path], config: ServerConfig | None = None) -> None:
        self.config = config or ServerConfig()
        self.resources: dict[tuple[str, str], dict[str, Any]] = {}
        for path in importable_files(paths):
            for resource, _where in read_file_resources(path):
                if isinstance(resource, dict) and resource.get("id"):
                    self.resources[(resource["resourceType"], resource["id"])] = resource
        self._http = ThreadedHTTP(self._handler(), "/fhir")

    @property
    def base_url(self) -> str:
        return self._http.base_url

    def __enter__(self) -> FhirTestServer:
        self._http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.stop()

    # --- search semantics ---------------------------------------------------------------------
    def search(self, rtype: str, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        found = [r for (t, _), r in self.resources.items() if t == rtype]
        if "patient" in query:
            pid = query["patient"][0].removeprefix("Patient/")
            wanted = {pid} | ({self.config.leak_patient} if self.config.leak_patient else set())
            found = [r for r in found if patient_of(r) in wanted]
        if "code" in query:
            tokens = [t for value in query["code"] for t in value.split(",")]
            found = [r for r in found if _matches(r, tokens)]
        for key in ("date", "recorded-date", "authoredon"):
            for value in query.get(key, []):
                if value.startswith("ge"):
                    found = [r for r in found if (date_of(r) or "") >= value[2:]]
        sort = query.get("_sort", [""])[0]
        if sort.startswith("-"):
            found.sort(key=lambda r: (date_of(r) or "", r["id"]), reverse=True)
        return found

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                server.config.requests.append(self.path)
                if server.config.delay_s:
                    time.sleep(server.config.delay_s)
                if server.config.fail_times > 0:
                    server.config.fail_times -= 1
                    return self._send(503, {"resourceType": "OperationOutcome"})
                token = server.config.token
                if token and self.headers.get("Authorization") != f"Bearer {token}":
                    return self._send(401, {"resourceType": "OperationOutcome"})
                url = urlparse(self.path)
                parts = [p for p in url.path.split("/") if p][1:]  # drop "fhir"
                if len(parts) == 2:
                    resource = server.resources.get((parts[0], parts[1]))
                    return self._send(404 if resource is None else 200, resource or {})
                if len(parts) == 1:
                    return self._send(200, server.page(parts[0], parse_qs(url.query)))
                return self._send(404, {})

            def _send(self, status: int, body: dict[str, Any]) -> None:
                send_json(self, status, body, "application/fhir+json")

        return Handler

    def page(self, rtype: str, query: dict[str, list[str]]) -> dict[str, Any]:
        """One searchset page; ``_offset`` (ours) says where the page starts."""
        found = self.search(rtype, query)
        size = min(int(query.get("_count", ["20"])[0]), self.config.max_page)
        offset = int(query.pop("_offset", ["0"])[0])
        bundle: dict[str, Any] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(found),
            "link": [],
            "entry": [
                {
                    "fullUrl": f"{self.base_url}/{rtype}/{r['id']}",
                    "resource": r,
                    "search": {"mode": "match"},
                }
                for r in found[offset : offset + size]
            ],
        }
        if offset + size < len(found):
            params = {k: v[0] for k, v in query.items()} | {"_offset": str(offset + size)}
            bundle["link"].append(
                {"relation": "next", "url": f"{self.base_url}/{rtype}?{urlencode(params)}"}
            )
        return bundle


def _matches(resource: dict[str, Any], tokens: list[str]) -> bool:
    codes = codes_of(resource)
    for token in tokens:
        system, _, code = token.rpartition("|")
        if any(c == code and (not system or s == system) for s, c in codes):
            return True
    return False
