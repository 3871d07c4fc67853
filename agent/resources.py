"""Open the stores behind the tools from settings.

Each store is optional: a missing or unconfigured one is ``None`` and the tools
that need it are simply not offered to the model. ``Resources.problems`` says in
words what could not be opened, for ``lingshu doctor`` and the evidence brief.

The guideline store is opened in one place, :func:`open_guideline_store`: the
consultation, the CLI (ingest, search), the MCP server and the evaluations all call it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from langchain_core.tools import BaseTool

from agent.settings import Settings
from knowledge.ehr.source import FhirSource
from knowledge.imaging import ImageStore

if TYPE_CHECKING:  # chromadb and the embedding model load only when a store is opened
    from knowledge.guidelines import GuidelineStore

log = logging.getLogger(__name__)


@dataclass
class Resources:
    """The stores a session's tools read; ``None`` where a store is not configured."""

    images: ImageStore
    """The image store (always present: a folder under the data directory)."""
    guidelines: GuidelineStore | None = None
    """The guideline store with at least one passage, or None."""
    ehr: FhirSource | None = None
    """The FHIR source (redacted unless ``ehr_show_identifiers``), or None."""
    problems: list[str] = field(default_factory=list)
    """What could not be opened, in words."""
    external: list[BaseTool] = field(default_factory=list)
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
    try:
        resources.guidelines = searchable_guidelines(settings)
    except Exception as exc:  # a broken store must not stop a consultation
        log.warning("guidelines store unavailable: %s", exc)
        resources.problems.append(f"guidelines: {exc}")
    try:
        resources.ehr = open_ehr(settings)
    except Exception as exc:
        log.warning("ehr store unavailable: %s", exc)
        resources.problems.append(f"ehr: {exc}")
    if settings.mcp_servers:
        from tools.mcp_client import open_external  # the MCP client loads only when configured

        resources.external, problems = open_external(
            settings.mcp_servers,
            timeout_s=settings.tool_timeout_s,
            connect_timeout_s=settings.mcp_connect_timeout_s,
        )
        resources.problems += problems
    return resources


def open_guideline_store(
    settings: Settings, *, create: bool = False, rebuild: bool = False
) -> GuidelineStore:
    """The guideline store the settings name (embedded folder or Chroma server).

    Raises ``knowledge.guidelines.StoreNotFound`` when ``create`` is false and none
    exists, ``StoreError`` when it cannot be opened.
    """
    from knowledge.guidelines import GuidelineStore

    return GuidelineStore.open(
        settings.guideline_path,
        embedding_model=settings.embedding_model,
        chroma_url=settings.chroma_url,
        collection=settings.guideline_collection,
        create=create,
        rebuild=rebuild,
        reranker=settings.guideline_reranker,
    )


def searchable_guidelines(settings: Settings) -> GuidelineStore | None:
    """The guideline store when it holds passages; None when none was ingested yet."""
    from knowledge.guidelines import StoreNotFound

    try:
        store = open_guideline_store(settings)
    except StoreNotFound:
        return None
    return store if store.count() > 0 else None


def open_ehr(settings: Settings) -> FhirSource | None:
    """The FHIR source, its free text redacted of identifiers (unless ehr_show_identifiers)."""
    from knowledge.ehr.redacting import redacting

    source = _open_fhir(settings)
    if source is None or settings.ehr_show_identifiers:
        return source
    return redacting(source)


def _open_fhir(settings: Settings) -> FhirSource | None:
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
