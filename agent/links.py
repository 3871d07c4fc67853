"""Which addresses may become links in a rendered answer: http(s) URLs and DOIs, nothing else.

A guideline's front matter, an HTML page's meta tags or a red-flag rule can carry any
string as its ``url``; ``javascript:``, ``data:``, ``vbscript:``, a protocol-relative
``//host`` or a relative path must never become a live link in the HTML report, the web
page or the Markdown report. :func:`safe_url` is the one rule (the web page applies the
same rule in its script: ``safeUrl`` in ``agent/server/static/index.html``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

_DOI = re.compile(r"^(?:doi:\s*|https?://(?:dx\.)?doi\.org/)?(10\.\d{4,9}/\S+)$", re.IGNORECASE)
_HTTP = re.compile(r"^https?://(?![/\\])", re.IGNORECASE)
"""An http(s) scheme and two slashes, then the host (a browser reads ``https:///h`` as ``h``)."""
# Controls, whitespace, quotes, brackets, and the invisible or direction-changing characters
# (no-break and zero-width spaces, soft hyphen, line separators, bidi overrides, BOM) that
# can hide or reorder what a reader sees of an address.
_BAD_CHARS = re.compile(
    r"[\x00-\x20\x7f-\x9f\\<>\"'`\u00a0\u00ad\u061c\u1680\u180e\u2000-\u200f"
    r"\u2028-\u202f\u205f-\u206f\u3000\ufeff]"
)
_ENCODE = str.maketrans({"(": "%28", ")": "%29", "[": "%5B", "]": "%5D"})


def doi_url(value: Any) -> str | None:
    """``https://doi.org/<doi>`` for a DOI (``10.1000/xyz``, ``doi:10.1000/xyz``), else None."""
    text = str(value or "").strip()
    match = _DOI.match(text)
    if not match:
        return None
    return "https://doi.org/" + quote(match.group(1), safe="/:;()._-")


def safe_url(value: Any) -> str | None:
    """The address as a link target if it is an absolute http(s) URL or a DOI, else None.

    Refused: any other scheme (``javascript:``, ``data:``, ``file:`` ...), relative and
    protocol-relative addresses, no host, credentials in the URL, and whitespace, control
    characters, quotes, backslashes or angle brackets anywhere in it.
    """
    text = str(value or "").strip()
    if not text or len(text) > 2048:
        return None
    doi = doi_url(text)
    if doi is not None:
        return doi
    if not _HTTP.match(text) or _BAD_CHARS.search(text):
        return None
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    del port
    # Brackets and parentheses percent-encoded (the same address): in Markdown they could
    # otherwise start a link of their own, ``https://a.org/[x](javascript:...)``.
    return urlunsplit(
        (
            parts.scheme,
            parts.netloc,
            parts.path.translate(_ENCODE),
            parts.query.translate(_ENCODE),
            parts.fragment.translate(_ENCODE),
        )
    )


def citation_url(citation: Mapping[str, Any]) -> str | None:
    """The link of a source: its ``url`` when safe, else its ``doi`` (as https://doi.org/...)."""
    return safe_url(citation.get("url")) or doi_url(citation.get("doi"))
