"""Every text the model sees, as files in this folder, loaded by name.

Templates are rendered with Jinja ``StrictUndefined``: a missing variable fails
loudly instead of silently producing an empty prompt section.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import jinja2

_SUFFIXES = (".md.j2", ".jinja", ".md", ".txt")


class PromptNotFound(LookupError):
    """No prompt file of that name ships in ``prompts/``."""


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


@cache
def load(name: str) -> str:
    """Return the raw text of the prompt file ``name`` (with or without suffix)."""
    folder = resources.files(__package__)
    candidates = [name] if "." in name else [name + s for s in _SUFFIXES]
    for candidate in candidates:
        entry = folder / candidate
        if entry.is_file():
            return entry.read_text(encoding="utf-8")
    raise PromptNotFound(f"no prompt named {name!r} in prompts/ (tried {', '.join(candidates)})")


def path(name: str) -> str:
    """Filesystem path of a shipped prompt file (for ``vllm serve --chat-template``)."""
    entry = resources.files(__package__) / name
    if not entry.is_file():
        raise PromptNotFound(f"no prompt file {name!r} in prompts/")
    return str(entry)


@cache
def _template(name: str) -> jinja2.Template:
    return _environment().from_string(load(name))


def render(name: str, **variables: Any) -> str:
    """Render the template ``name`` with ``variables``; every variable it uses must be given."""
    return _template(name).render(**variables).strip() + "\n"
