"""The worker supervisor of ``lingshu serve --workers N`` on its own.

Each test waits on events (a worker's ready event, messages its processes put on a
queue), never on the clock: a loaded machine makes them slower, not wrong.
"""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest

from agent.server.workers import STARTUP_FAILURE, Supervisor, balanced_workers_supported
from agent.settings import Settings
from testing.loopback import free_port
from tests.server.worker_targets import dies_at_once, serves_then_dies

pytestmark = pytest.mark.skipif(
    not balanced_workers_supported(), reason="SO_REUSEPORT balancing is Linux-only"
)

WAIT_S = 240  # an upper bound for a starved machine; a quiet one takes seconds


def test_the_early_death_window_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().worker_early_death_s == 10.0
    monkeypatch.setenv("LINGSHU_WORKER_EARLY_DEATH_S", "45")
    assert Settings().worker_early_death_s == 45.0


def test_workers_that_cannot_start_the_app_stop_the_service() -> None:
    # A log level uvicorn does not know: the real worker exits with uvicorn's code 3.
    supervisor = Supervisor("127.0.0.1", free_port(), 2, {"log_level": "chatty"}, 0.01)
    assert supervisor.run() == STARTUP_FAILURE
    assert not any(p.is_alive() for p in supervisor.processes)


def test_workers_that_die_before_serving_stop_the_service_however_slow() -> None:
    # early_death_s=0: only "never served" makes these deaths early, however long they took.
    queue = multiprocessing.get_context("spawn").Queue()
    supervisor = Supervisor(
        "127.0.0.1", free_port(), 1, {"queue": queue}, 0.01, early_death_s=0, target=dies_at_once
    )
    assert supervisor.run() == STARTUP_FAILURE
    starts = [queue.get(timeout=WAIT_S) for _ in range(3)]
    assert starts == ["started"] * 3  # three tries, then it gave up
    assert queue.empty()


def test_a_worker_that_dies_after_serving_is_restarted() -> None:
    context = multiprocessing.get_context("spawn")
    queue, die = context.Queue(), context.Event()
    options = {"queue": queue, "die": die}
    supervisor = Supervisor(
        "127.0.0.1", free_port(), 1, options, 0.01, early_death_s=0, target=serves_then_dies
    )
    seen: list[str] = []

    def drive() -> None:  # the supervisor must run in the main thread (signal handlers)
        seen.append(queue.get(timeout=WAIT_S))
        die.set()  # it dies having served: a late death, so it is restarted, again and again
        seen.extend(queue.get(timeout=WAIT_S) for _ in range(3))
        supervisor.stop()

    driver = threading.Thread(target=drive, daemon=True)
    driver.start()
    assert supervisor.run() == 0
    driver.join(WAIT_S)
    assert seen == ["serving"] * 4
    assert not any(p.is_alive() for p in supervisor.processes)


def test_a_worker_that_crashes_soon_after_serving_counts_as_early() -> None:
    context = multiprocessing.get_context("spawn")
    queue, die = context.Queue(), context.Event()
    die.set()
    supervisor = Supervisor(
        "127.0.0.1",
        free_port(),
        1,
        {"queue": queue, "die": die},
        0.01,
        early_death_s=3600,
        target=serves_then_dies,
    )
    started = time.monotonic()
    assert supervisor.run() == STARTUP_FAILURE
    assert [queue.get(timeout=WAIT_S) for _ in range(3)] == ["serving"] * 3
    assert time.monotonic() - started < WAIT_S
