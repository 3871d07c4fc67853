"""Guideline folders described by a ``registry.json``, such as the open-medicine package.

The ``open-medicine`` package (MIT licence) ships clinical guideline summaries as
Markdown under ``guidelines/content/<id>/<section>.md`` with a registry of title,
organisation, year and DOI per ``<id>``. Its text is read from the installed
package, never copied into this repository. Any folder laid out the same way
(a ``registry.json`` list beside a ``content/`` folder) is read the same way.
"""

from __future__ import annotations

import importlib.util
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

REGISTRY = "registry.json"


def open_medicine_guidelines() -> Path | None:
    """The installed open-medicine package's guideline folder, or None when not installed.

    The package is located without being imported (its import pulls in MCP).
    """
    spec = importlib.util.find_spec("open_medicine")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "guidelines"
    return folder if (folder / REGISTRY).is_file() else None


def registry_entry(path: Path) -> dict[str, Any] | None:
    """Citation metadata for ``<root>/content/<id>/<file>.md`` from ``<root>/registry.json``."""
    if path.parent.parent.name != "content":
        return None
    registry = path.parent.parent.parent / REGISTRY
    if not registry.is_file():
        return None
    return _load(str(registry)).get(path.parent.name)


@lru_cache(maxsize=8)
def _load(registry: str) -> dict[str, dict[str, Any]]:
    entries = json.loads(Path(registry).read_text(encoding="utf-8"))
    if not isinstance(entries, list):
        raise ValueError(f"{registry} is not a list of guideline entries")
    return {str(e["id"]): e for e in entries if isinstance(e, dict) and "id" in e}


def front_matter_from_registry(entry: dict[str, Any], source_package: str) -> dict[str, Any]:
    """The same keys a Markdown front matter would give."""
    meta: dict[str, Any] = {
        "title": entry.get("title"),
        "publisher": entry.get("organization") or entry.get("organisation"),
        "year": entry.get("year"),
        "doi": entry.get("doi"),
        "tags": [source_package],
    }
    if entry.get("url"):
        meta["url"] = entry["url"]
    return meta
