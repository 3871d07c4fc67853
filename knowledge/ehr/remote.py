"""A FHIR R4 server over HTTP (HAPI, Azure, Google, Epic/Cerner sandboxes ...).

Searches use the standard parameters (``patient``, ``code``, ``date=ge``,
``_sort=-date``, ``_count``) and follow the Bundle's ``next`` links. A bearer
token (for instance a SMART on FHIR backend-services access token) goes in the
``Authorization`` header. Connection failures, timeouts and 5xx/429 answers are
retried; what still fails raises :class:`FhirUnavailable` with the URL and the
reason. Results are checked client-side too: a resource outside the requested
patient's compartment is dropped, whatever the server returned.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import httpx

from knowledge.ehr.parse import MalformedResource, date_of, patient_of, validate
from knowledge.ehr.source import SORTABLE, FhirUnavailable

log = logging.getLogger(__name__)

_RETRY_STATUS = {429, 500, 502, 503, 504}
MAX_PAGES = 50


class RemoteFhirClient:
    """Read-only FHIR R4 REST client; implements :class:`knowledge.ehr.FhirSource`."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout_s: float = 10.0,
        retries: int = 2,
        page_size: int = 100,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.page_size = page_size
        headers = {"Accept": "application/fhir+json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            headers=headers, timeout=httpx.Timeout(timeout_s), transport=transport
        )

    def __repr__(self) -> str:
        return f"RemoteFhirClient({self.base_url!r})"

    # --- HTTP -----------------------------------------------------------------------------
    def _get(self, url: str, params: dict[str, str] | None = None) -> dict[str, Any] | None:
        """GET JSON; None on 404/410; FhirUnavailable when down or refusing."""
        reason = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(0.2 * 2**attempt, 2.0))
            try:
                response = self._http.get(url, params=params)
            except httpx.TimeoutException:
                reason = "timed out"
                continue
            except httpx.TransportError as exc:
                reason = f"cannot connect ({type(exc).__name__}: {exc})"
                continue
            if response.status_code in (404, 410):
                return None
            if response.status_code in _RETRY_STATUS:
                reason = f"HTTP {response.status_code} {response.reason_phrase}"
                continue
            if response.status_code in (401, 403):
                raise FhirUnavailable(
                    url,
                    f"refused: HTTP {response.status_code} "
                    f"{response.reason_phrase} (check the bearer token)",
                )
            if response.is_error:
                raise FhirUnavailable(url, f"HTTP {response.status_code} {response.reason_phrase}")
            try:
                body = response.json()
            except ValueError:
                raise FhirUnavailable(url, "answer is not JSON") from None
            return body if isinstance(body, dict) else None
        raise FhirUnavailable(url, f"{reason} after {self.retries + 1} attempts")

    def _checked(self, resource: Any, where: str) -> dict[str, Any] | None:
        try:
            return validate(resource, where).resource
        except MalformedResource as exc:
            log.warning("skipped %s", exc)
            return None

    # --- FhirSource -----------------------------------------------------------------------
    def patient(self, patient_id: str) -> dict[str, Any] | None:
        body = self._get(f"{self.base_url}/Patient/{patient_id}")
        if body is None or body.get("resourceType") != "Patient" or body.get("id") != patient_id:
            return None
        return self._checked(body, f"{self.base_url}/Patient/{patient_id}")

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any] | None:
        body = self._get(f"{self.base_url}/{resource_type}/{resource_id}")
        if body is None or body.get("resourceType") != resource_type or patient_of(body):
            return None  # patient-compartment resources are reached through search only
        return self._checked(body, f"{self.base_url}/{resource_type}/{resource_id}")

    def search(
        self,
        resource_type: str,
        patient_id: str,
        *,
        codes: Sequence[str] | None = None,
        since: date | None = None,
        count: int | None = None,
    ) -> list[dict[str, Any]]:
        params = {
            "patient": patient_id,
            "_count": str(min(count or self.page_size, self.page_size)),
        }
        if codes:
            params["code"] = ",".join(codes)
        sort_param = SORTABLE.get(resource_type)
        if sort_param:
            params["_sort"] = f"-{sort_param}"
            if since is not None:
                params[sort_param] = f"ge{since.isoformat()}"
        found = self._search_pages(f"{self.base_url}/{resource_type}", params, patient_id, count)
        found = [r for r in found if r.get("resourceType") == resource_type]
        if since is not None:
            found = [r for r in found if (date_of(r) or "") >= since.isoformat()]
        found.sort(key=lambda r: (date_of(r) or "", r.get("id", "")), reverse=True)
        return found[:count] if count is not None else found

    def _matches(self, url: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        """Resources of a search's ``match`` entries, following ``next`` links page by page."""
        next_url: str | None = url
        query: dict[str, str] | None = params
        for _page in range(MAX_PAGES):
            if next_url is None:
                return
            bundle = self._get(next_url, query) or {}
            query = None  # a next link carries its own query
            for entry in bundle.get("entry") or []:
                resource = entry.get("resource") if isinstance(entry, dict) else None
                mode = (entry.get("search") or {}).get("mode", "match")
                if isinstance(resource, dict) and mode == "match":
                    yield resource
            next_url = _next_link(bundle)
        log.warning("%s: stopped after %d pages", url, MAX_PAGES)

    def _search_pages(
        self, url: str, params: dict[str, str], patient_id: str, count: int | None
    ) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for resource in self._matches(url, params):
            if patient_of(resource) != patient_id:
                continue  # outside the patient's compartment, whatever the server says
            checked = self._checked(resource, url)
            if checked is not None:
                found.append(checked)
            if count is not None and len(found) >= count:
                break
        return found

    def patients(self) -> list[dict[str, Any]]:
        url = f"{self.base_url}/Patient"
        found = [
            checked
            for resource in self._matches(url, {"_count": str(self.page_size)})
            if resource.get("resourceType") == "Patient"
            and (checked := self._checked(resource, url)) is not None
        ]
        return sorted(found, key=lambda r: r.get("id", ""))

    def close(self) -> None:
        self._http.close()


def _next_link(bundle: dict[str, Any]) -> str | None:
    """The URL of a searchset Bundle's ``next`` page, if any."""
    for link in bundle.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next" and link.get("url"):
            return str(link["url"])
    return None
