"""Open the stores behind the tools from settings.

Each store is optional: a missing or unconfigured one is ``None`` and the tools
that need it are simply not offered to the model. ``Resources.problems`` says in
words what could not be opened, for ``lingshu doctor`` and the evidence brief.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from agent.settings import Settings
from knowledge.imaging import ImageStore

log = logging.getLogger(__name__)


@dataclass
class Resources:
    images: ImageStore
    guidelines: Any = None
    ehr: Any = None
    problems: list[str] = field(default_factory=list)
    external: list[Any] = field(default_factory=list)
    """Tools of the external MCP servers in ``settings.mcp_servers`` (tools/mcp_client.py)."""

    def available(self) -> set[str]:
        """Names of the context parts present (matched against a tool's ``requires``).

        ``images`` is not among them: image tools are offered only once the session
        has an image (the graph adds it), which keeps every other prompt short.
        """
        parts: set[str] = set()
        if self.guidelines is not None:
            parts.add("guidelines")
        if self.ehr is not None:
            parts.add("ehr")
        return parts


def open_resources(settings: Settings) -> Resources:
    """Open every configured store; never raises for a store that is absent."""
    images = ImageStore(
        settings.images_path,
        min_pixels=settings.min_pixels,
        max_pixels=settings.max_pixels,
        cache_bytes=settings.image_cache_mb * 1024**2,
        url_cache_bytes=settings.image_url_cache_mb * 1024**2,
    )
    resources = Resources(images=images)
    for name, opener in _OPENERS.items():
        try:
            setattr(resources, name, opener(settings))
        except Exception as exc:  # a broken store must not stop a consultation
            log.warning("%s store unavailable: %s", name, exc)
            resources.problems.append(f"{name}: {exc}")
    if settings.mcp_servers:
        from tools.mcp_client import open_external

        resources.external, problems = open_external(
            settings.mcp_servers,
            timeout_s=settings.tool_timeout_s,
            connect_timeout_s=settings.mcp_connect_timeout_s,
        )
        resources.problems += problems
    return resources


def _open_guidelines(settings: Settings) -> Any:
    """The guideline store (embedded, or on the Chroma server), or None when none exists yet."""
    from knowledge.guidelines import GuidelineStore, StoreNotFound

    try:
        store = GuidelineStore.open(
            settings.guideline_path,
            embedding_model=settings.embedding_model,
            chroma_url=settings.chroma_url,
            collection=settings.guideline_collection,
            create=False,
            reranker=settings.guideline_reranker,
        )
    except StoreNotFound:
        return None
    return store if store.count() > 0 else None


def _open_ehr(settings: Settings) -> Any:
    """The FHIR source, its free text redacted of identifiers (unless ehr_show_identifiers)."""
    from knowledge.ehr.redacting import redacting

    source = _open_fhir(settings)
    return source if settings.ehr_show_identifiers else redacting(source)


def _open_fhir(settings: Settings) -> Any:
    """The FHIR server client when ``fhir_base_url`` is set, else the embedded store if present."""
    from knowledge.ehr import EmbeddedFhirStore, RemoteFhirClient

    if settings.fhir_base_url:
        return RemoteFhirClient(
            settings.fhir_base_url,
            token=settings.fhir_token,
            timeout_s=settings.fhir_timeout_s,
            retries=settings.fhir_retries,
        )
    if settings.ehr_path.exists():
        return EmbeddedFhirStore(settings.ehr_path)
    return None


_OPENERS = {"guidelines": _open_guidelines, "ehr": _open_ehr}
