"""The worker supervisor of ``lingshu serve --workers N`` on its own."""

from __future__ import annotations

import time

import pytest

from agent.server.workers import STARTUP_FAILURE, Supervisor, balanced_workers_supported
from tests.loopback import free_port

pytestmark = pytest.mark.skipif(
    not balanced_workers_supported(), reason="SO_REUSEPORT balancing is Linux-only"
)


def test_workers_that_keep_dying_at_start_stop_the_service() -> None:
    # A log level uvicorn does not know: every worker dies as it starts.
    supervisor = Supervisor("127.0.0.1", free_port(), 2, {"log_level": "chatty"}, 0.05)
    started = time.monotonic()
    assert supervisor.run() == STARTUP_FAILURE
    assert time.monotonic() - started < 60
    assert not any(p.is_alive() for p in supervisor._procs)
