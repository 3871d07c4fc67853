"""The Chroma client of a guideline store (embedded or a server) and the store's errors."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import chromadb
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import NotFoundError


class StoreError(RuntimeError):
    """The guideline store cannot be used as asked; the message says what to do."""


class StoreNotFound(StoreError):
    """No guideline store exists at that place yet."""


class ModelMismatchError(StoreError):
    """The store was built with another embedding model than the one asked for."""


def chroma_client(folder: Path, chroma_url: str | None, *, create: bool) -> tuple[Any, str]:
    settings = ChromaSettings(anonymized_telemetry=False)
    if chroma_url:
        url = urlparse(chroma_url if "://" in chroma_url else f"http://{chroma_url}")
        if not url.hostname:
            raise StoreError(f"cannot read a host in chroma URL {chroma_url!r}")
        ssl = url.scheme == "https"
        port = url.port or (443 if ssl else 8000)
        try:
            client = chromadb.HttpClient(host=url.hostname, port=port, ssl=ssl, settings=settings)
        except Exception as exc:  # chromadb raises plain Exception/ValueError when unreachable
            raise StoreError(f"cannot reach the Chroma server at {chroma_url}: {exc}") from exc
        return client, chroma_url
    path = folder / "chroma"
    if not path.exists() and not create:
        raise StoreNotFound(f"no guideline store at {folder}")
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=settings), str(folder)


def drop_collection(client: Any, name: str) -> None:
    with contextlib.suppress(NotFoundError, ValueError):
        client.delete_collection(name)
