"""API keys: stored hashed, each with the set of patients it may open.

A key file (``server_api_keys_file``) or the inline setting ``server_api_keys``
lists entries ``{"name": "ward-7", "sha256": "<hex of the key>", "patients":
["demo-chest-pain"] | "*"}``. ``lingshu api-key`` makes a key and prints its entry.
With no keys configured the service is open (one anonymous owner, all patients):
fine on loopback, never behind a public address.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request

from agent.settings import Settings

ALL_PATIENTS = "*"
ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class ApiKey:
    """Who is calling: the key's name (the owner of its sessions) and its patient grant."""

    name: str
    patients: frozenset[str] | None
    """The patient ids this key may open; None means all."""

    def may_open(self, patient_id: str) -> bool:
        return self.patients is None or patient_id in self.patients


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A fresh random API key (256 bits)."""
    return "lsk-" + secrets.token_urlsafe(32)


def key_entry(name: str, key: str, patients: list[str] | None) -> dict[str, Any]:
    """The keys-file entry for a key: its hash, never the key itself."""
    return {"name": name, "sha256": hash_key(key), "patients": patients or ALL_PATIENTS}


class KeyRing:
    """The configured keys, looked up by hash."""

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        self._by_hash: dict[str, ApiKey] = {}
        for entry in entries:
            digest = str(entry.get("sha256", "")).lower()
            if len(digest) != 64 or not entry.get("name"):
                raise ValueError(f"API key entry needs a name and a sha256 hex digest: {entry!r}")
            grant = entry.get("patients", ALL_PATIENTS)
            patients = None if grant == ALL_PATIENTS else frozenset(str(p) for p in grant)
            self._by_hash[digest] = ApiKey(str(entry["name"]), patients)

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        entries = list(settings.server_api_keys)
        if settings.server_api_keys_file:
            data = json.loads(settings.server_api_keys_file.read_text(encoding="utf-8"))
            entries += data.get("keys", []) if isinstance(data, dict) else data
        return cls(entries)

    @property
    def open(self) -> bool:
        """True when no key is configured: every caller is the anonymous owner."""
        return not self._by_hash

    def identify(self, presented: str | None) -> ApiKey | None:
        if self.open:
            return ApiKey(ANONYMOUS, None)
        if not presented:
            return None
        return self._by_hash.get(hash_key(presented))


def presented_key(request: Request) -> str | None:
    """The key from ``Authorization: Bearer`` (as the openai client sends) or ``X-API-Key``."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.headers.get("x-api-key") or None


async def require_key(request: Request) -> ApiKey:
    """FastAPI dependency: the caller's key, or HTTP 401 (async: no thread for a lookup)."""
    ring: KeyRing = request.app.state.service.keys
    key = ring.identify(presented_key(request))
    if key is None:
        raise HTTPException(
            401,
            "missing or unknown API key: send it as 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return key
