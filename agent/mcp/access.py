"""Who is calling the MCP server, which patients they may read, and the audit of every read.

The same keys and grants as the HTTP service (``agent.server.auth``): over streamable
HTTP a caller presents its API key (``Authorization: Bearer`` or ``X-API-Key``) with
every request and is bound to the patients that key grants, re-checked on every call.
Over stdio the caller is the local process that started the server: it is bound to the
patients named on the command line (``lingshu mcp --patient ...``) and to nothing else.

Every tool call through MCP is appended to the MCP audit log (JSON lines, one per call:
time, caller, tool, arguments, patient, the records read, status); consultations are
audited in their session as on every other face.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from agent.server.auth import ApiKey, KeyRing
from agent.settings import Settings

log = logging.getLogger(__name__)

Transport = Literal["stdio", "http"]
STDIO_OWNER = "mcp-stdio"


class AccessDenied(Exception):
    """The caller may not do this (no key, unknown key, a patient outside its grant)."""


def audit_path(settings: Settings) -> Path:
    """Where MCP tool calls are audited: DATA_DIR/mcp-audit.jsonl."""
    return settings.data_dir / "mcp-audit.jsonl"


class Gate:
    """The one place a caller is identified and a patient checked against its grant."""

    def __init__(
        self,
        settings: Settings,
        transport: Transport,
        keys: KeyRing | None = None,
        stdio_patients: Iterable[str] = (),
    ) -> None:
        self.settings = settings
        self.transport = transport
        self.keys = keys if keys is not None else KeyRing.from_settings(settings)
        self.stdio_key = ApiKey("stdio", frozenset(stdio_patients), STDIO_OWNER)
        self._audit_lock = threading.Lock()

    def caller(self, headers: Mapping[str, str] | None) -> ApiKey:
        """The key of this request: over HTTP from its headers (every request), over stdio
        the patients given at start-up."""
        if self.transport == "stdio":
            return self.stdio_key
        key = self.keys.identify(presented(headers))
        if key is None:
            raise AccessDenied(
                "missing or unknown API key: send it as 'Authorization: Bearer <key>'"
            )
        return key

    def patient(self, key: ApiKey, asked: str | None, *, required: bool) -> str | None:
        """The patient a call reads: the one asked (if the key grants it), else the key's only
        patient; None only when ``required`` is False and none is asked or implied."""
        if asked is None and key.patients is not None and len(key.patients) == 1:
            (asked,) = key.patients
        if asked is None:
            if required:
                raise AccessDenied(
                    "name the patient (patient_id): this key grants "
                    + (", ".join(sorted(key.patients)) if key.patients else "no patient")
                )
            return None
        if not key.may_open(asked):
            raise AccessDenied(f"this key ({key.name}) may not open patient {asked!r}")
        return asked

    def check_text(self, name: str, value: Any) -> None:
        """The HTTP service's text limit, for every string argument."""
        limit = self.settings.server_max_text_chars
        if isinstance(value, str) and len(value) > limit:
            raise ValueError(f"{name} is {len(value)} characters; at most {limit}")

    def audit(self, key: ApiKey, entry: Mapping[str, Any]) -> None:
        """Append one call to the MCP audit log (a failed write is logged, never fatal)."""
        record = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "face": f"mcp-{self.transport}",
            "caller": key.name,
            **entry,
        }
        path = audit_path(self.settings)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            line = json.dumps(record, default=str, ensure_ascii=False)
            with self._audit_lock, path.open("a", encoding="utf-8") as out:
                out.write(line + "\n")
        except OSError as exc:
            log.error("could not write the MCP audit log %s: %s", path, exc)


def presented(headers: Mapping[str, str] | None) -> str | None:
    """The key from ``Authorization: Bearer`` or ``X-API-Key`` (as the HTTP service reads it)."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    header = lowered.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return lowered.get("x-api-key") or None


def read_audit(settings: Settings) -> list[dict[str, Any]]:
    """Every entry of the MCP audit log, oldest first (empty when none)."""
    path = audit_path(settings)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
