"""The web chat page and its icon, served with a Content-Security-Policy.

The page is one file (``static/index.html``) with its script and stylesheet inline. The
policy allows exactly those two blocks by their SHA-256 hashes, so a script that found
its way into the page any other way (an injected ``<script>``, an ``onerror=``
attribute, a ``javascript:`` link) does not run; the page may only talk to this
service, show images from it (and the ``blob:``/``data:`` URLs it makes of them), and
cannot be framed.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from importlib import resources

from fastapi.responses import Response

STATIC = resources.files("agent.server") / "static"
_BLOCK = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)


def _hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


@cache
def page() -> tuple[bytes, str]:
    """The page's bytes and its Content-Security-Policy (read once)."""
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    scripts = [_hash(body) for kind, body in _BLOCK.findall(html) if kind == "script"]
    styles = [_hash(body) for kind, body in _BLOCK.findall(html) if kind == "style"]
    policy = "; ".join(
        [
            "default-src 'none'",
            "script-src " + " ".join(scripts or ["'none'"]),
            "style-src " + " ".join(styles or ["'none'"]),
            "img-src 'self' blob: data:",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
    return html.encode("utf-8"), policy


def page_response() -> Response:
    body, policy = page()
    return Response(
        body,
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Security-Policy": policy,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )


def favicon_response() -> Response:
    return Response(
        (STATIC / "favicon.ico").read_bytes(),
        media_type="image/x-icon",
        headers={"Cache-Control": "public, max-age=86400"},
    )
