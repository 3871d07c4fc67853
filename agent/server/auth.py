"""API keys: stored hashed, each with the set of patients it may open.

A key file (``server_api_keys_file``, default DATA_DIR/api-keys.json, the file
``lingshu api-key`` writes) and the inline setting ``server_api_keys`` list entries
``{"name": "ward-7", "sha256": "<hex of the key>", "patients": ["demo-chest-pain"] | "*"}``.
A key's sessions belong to the key itself (its ``owner``: derived from its hash), never
to its display name; two entries with one name or one hash are refused at start-up.
With no keys configured the service is open (one anonymous owner, all patients):
fine on loopback, never behind a public address.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request

from agent.settings import Settings

ALL_PATIENTS = "*"
ANONYMOUS = "anonymous"
OPEN_WARNING = (
    "OPEN SERVICE: no API keys are configured, so every caller may open every patient's "
    "sessions; make keys with `lingshu api-key` (read from DATA_DIR/api-keys.json)"
)


@dataclass(frozen=True)
class ApiKey:
    """Who is calling: the key's display name, its identity and its patient grant."""

    name: str
    patients: frozenset[str] | None
    """The patient ids this key may open; None means all."""
    owner: str = ANONYMOUS
    """The owner of the sessions this key makes: ``key:`` and a hash of the key's hash
    (the key's identity; a name may be reused by a new key, the owner never is)."""

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


def owner_of(digest: str) -> str:
    """The session owner for the key whose sha256 hex digest is ``digest``."""
    return "key:" + hashlib.sha256(("lingshu-owner\x00" + digest).encode()).hexdigest()[:32]


def keys_file(settings: Settings) -> Path:
    """The keys file the service reads: the configured one, else the one ``api-key`` writes."""
    return settings.server_api_keys_file or settings.data_dir / "api-keys.json"


class KeyRing:
    """The configured keys, looked up by hash."""

    def __init__(self, entries: list[dict[str, Any]], source: str = "") -> None:
        self._by_hash: dict[str, ApiKey] = {}
        self.source = source
        """Where the keys came from (for the start-up line and /readyz)."""
        names: set[str] = set()
        for entry in entries:
            if not isinstance(entry, dict):
                raise ValueError(f"API key entry must be an object: {entry!r}")
            digest = str(entry.get("sha256", "")).lower()
            if not re.fullmatch(r"[0-9a-f]{64}", digest) or not entry.get("name"):
                raise ValueError(f"API key entry needs a name and a sha256 hex digest: {entry!r}")
            name = str(entry["name"])
            if name in names:
                raise ValueError(f"two API keys are named {name!r}: key names must be unique")
            if digest in self._by_hash:
                raise ValueError(f"the key named {name!r} is listed twice (same sha256)")
            names.add(name)
            grant = entry.get("patients", ALL_PATIENTS)
            if grant != ALL_PATIENTS and not isinstance(grant, list):
                raise ValueError(f"key {name!r}: 'patients' must be a list of ids or \"*\"")
            patients = None if grant == ALL_PATIENTS else frozenset(str(p) for p in grant)
            self._by_hash[digest] = ApiKey(name, patients, owner_of(digest))

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        """The inline keys and the keys file (its absence is fine only when not configured)."""
        entries = list(settings.server_api_keys)
        sources = ["LINGSHU_SERVER_API_KEYS"] if entries else []
        path = keys_file(settings)
        if settings.server_api_keys_file is not None or path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path} is not valid JSON: {exc}") from exc
            entries += data.get("keys", []) if isinstance(data, dict) else data
            sources.append(str(path))
        return cls(entries, " + ".join(sources))

    @property
    def open(self) -> bool:
        """True when no key is configured: every caller is the anonymous owner."""
        return not self._by_hash

    def __len__(self) -> int:
        return len(self._by_hash)

    def identify(self, presented: str | None) -> ApiKey | None:
        if self.open:
            return ApiKey(ANONYMOUS, None, ANONYMOUS)
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
