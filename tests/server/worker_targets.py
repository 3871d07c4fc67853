"""Worker bodies for the supervisor tests, in a module that imports nothing heavy.

A spawned worker process imports its target's module; these import only the standard
library, so a restart costs the interpreter's start-up, not the service's imports.
Each takes the supervisor's four arguments and talks to the test through ``options``.
"""

from __future__ import annotations

import sys
from typing import Any


def dies_at_once(host: str, port: int, options: dict[str, Any], ready: Any) -> None:
    """A worker that crashes before it serves (an import error, a bad store)."""
    options["queue"].put("started")
    sys.exit(1)


def serves_then_dies(host: str, port: int, options: dict[str, Any], ready: Any) -> None:
    """A worker that says it serves, then dies once ``options["die"]`` is set."""
    ready.set()
    options["queue"].put("serving")
    options["die"].wait()
    sys.exit(1)
