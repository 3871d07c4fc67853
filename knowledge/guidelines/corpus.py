"""Where the starter guideline corpus lives: the project's own summaries in
``knowledge/corpus`` and, when installed, the open-medicine package's."""

from __future__ import annotations

import logging
from pathlib import Path

from knowledge.guidelines.registry import open_medicine_guidelines

log = logging.getLogger(__name__)

STARTER_CORPUS = Path(__file__).resolve().parent.parent / "corpus"
"""Concise educational summaries of public guidelines (Markdown with front matter)."""


def starter_files() -> list[Path]:
    """The Markdown files of the project's own corpus, sorted by name."""
    return sorted(STARTER_CORPUS.glob("*.md"))


def starter_roots(include_open_medicine: bool = True) -> list[Path]:
    """The folders of the starter corpus.

    The open-medicine package's guideline summaries (read in place, with the
    citation metadata of its registry) when it is installed, plus the project's own
    summaries of the imaging topics that corpus lacks.
    """
    roots = [STARTER_CORPUS]
    if include_open_medicine:
        folder = open_medicine_guidelines()
        if folder is None:
            log.warning("open-medicine is not installed; the starter has the project corpus only")
        else:
            roots.insert(0, folder)
    return roots
