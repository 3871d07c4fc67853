"""Several ``lingshu serve`` worker processes, each with its own listening socket.

uvicorn's own ``--workers`` shares one listening socket between its workers; whichever
worker wakes first accepts every connection waiting, so a client that opens its pool
of keep-alive connections at once (a chatbot back end, a load balancer) lands most of
them on one worker. Under ``benchmarks/serve_load.py`` splits of 45 to 5 were common,
and that worker's queue set the tail latency. Here each worker binds the port with
``SO_REUSEPORT`` and Linux spreads new connections across the workers by a hash of
their addresses.

The supervisor starts the workers and restarts one that dies. A worker that cannot
start the app (uvicorn's exit code 3), or three early deaths in a row, stop the service
with that code instead of restarting forever. A death is early when the worker had not
yet said it was serving (it sets an event once uvicorn has started: no clock involved,
so a slow machine cannot turn a worker that never starts into an endless restart), or
when it came within ``early_death_s`` of its start (setting ``worker_early_death_s``,
env ``LINGSHU_WORKER_EARLY_DEATH_S``, 10 s by default): a worker that crashes as soon
as it serves.
On SIGINT or SIGTERM it stops them all: each finishes the requests it is serving, as
uvicorn does on its own.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("lingshu.workers")

BACKLOG = 2048
LOG_FORMAT = "%(asctime)s %(name)s %(message)s"
STOP_GRACE_S = 30.0
"""How long a stopping worker may take to finish its requests before it is killed."""
STARTUP_FAILURE = 3  # uvicorn's exit code when the app cannot start
EARLY_DEATH_S = 10.0
"""The default of ``Settings.worker_early_death_s``."""
EARLY_DEATHS_FATAL = 3
"""Workers dying early this many times in a row stop the service."""


def balanced_workers_supported() -> bool:
    """Whether the kernel spreads connections across ``SO_REUSEPORT`` sockets (Linux)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket on ``host:port`` that other workers of this service may bind too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def serve_worker(host: str, port: int, options: dict[str, Any], ready: Any) -> None:
    """One worker process: its own listening socket, the app under uvicorn.

    ``ready`` (a multiprocessing event) is set once uvicorn serves. A supervisor's
    ``target`` takes these four arguments."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                ready.set()

    # A spawned process starts with logging unset: set it as `lingshu serve` does.
    try:
        logging.basicConfig(level=str(options.get("log_level", "info")).upper(), format=LOG_FORMAT)
    except ValueError as exc:  # an unknown log level: the app cannot start as asked
        log.error("worker cannot start: %s", exc)
        sys.exit(STARTUP_FAILURE)
    sock = listening_socket(host, port)
    sock.listen(BACKLOG)
    config = uvicorn.Config("agent.server.app:create_app", factory=True, **options)
    server = Server(config)
    server.run(sockets=[sock])
    if not server.started:
        sys.exit(STARTUP_FAILURE)


@dataclass
class Supervisor:
    """Runs ``count`` workers on ``host:port`` until SIGINT or SIGTERM."""

    host: str
    port: int
    count: int
    options: dict[str, Any] = field(default_factory=dict)
    restart_pause_s: float = 0.5
    early_death_s: float = EARLY_DEATH_S
    target: Callable[[str, int, dict[str, Any], Any], None] = serve_worker
    _procs: list[Any] = field(default_factory=list)
    _born: dict[int, float] = field(default_factory=dict)
    _ready: dict[int, Any] = field(default_factory=dict)
    _stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def processes(self) -> list[Any]:
        """The current worker processes (a restarted worker's newest process)."""
        return list(self._procs)

    def stop(self) -> None:
        """Ask ``run`` to stop the workers and return (as SIGTERM does)."""
        self._stopping.set()

    def run(self) -> int:
        # Bound, never listening: a port already taken fails here, once, with a clear
        # error (and no connection is ever routed to this socket).
        probe = listening_socket(self.host, self.port)
        context = multiprocessing.get_context("spawn")
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            self._procs = [self._start(context, i) for i in range(self.count)]
            return self._watch(context)
        finally:
            self._stop_all()
            probe.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _start(self, context: Any, index: int) -> Any:
        ready = context.Event()
        proc = context.Process(
            target=self.target,
            args=(self.host, self.port, self.options, ready),
            name=f"lingshu-worker-{index}",
        )
        proc.start()
        self._born[index] = time.monotonic()
        self._ready[index] = ready
        log.info("worker %d started (pid %s)", index, proc.pid)
        return proc

    def _watch(self, context: Any) -> int:
        early_deaths = 0  # in a row: before serving, or within early_death_s of a start
        while not self._stopping.wait(0.5):
            for index, proc in enumerate(self._procs):
                if proc.is_alive() or self._stopping.is_set():
                    continue
                code = proc.exitcode
                early = self._died_early(index)
                early_deaths = early_deaths + 1 if early else 0
                if code == STARTUP_FAILURE or early_deaths >= EARLY_DEATHS_FATAL:
                    # The app itself cannot start (settings, stores): restarting won't help.
                    log.error("worker %d could not start the app; see the errors above", index)
                    return STARTUP_FAILURE
                log.warning(
                    "worker %d (pid %s) exited with %s; restarting it", index, proc.pid, code
                )
                time.sleep(self.restart_pause_s * 2**early_deaths)
                self._procs[index] = self._start(context, index)
        return 0

    def _died_early(self, index: int) -> bool:
        never_served = not self._ready[index].is_set()
        return never_served or time.monotonic() - self._born[index] < self.early_death_s

    def _on_signal(self, signum: int, frame: Any) -> None:
        self._stopping.set()

    def _stop_all(self) -> None:
        self._stopping.set()
        for proc in self._procs:
            if proc.is_alive():
                proc.terminate()  # SIGTERM: uvicorn finishes what it is serving, then exits
        deadline = time.monotonic() + STOP_GRACE_S
        for proc in self._procs:
            proc.join(max(deadline - time.monotonic(), 0))
            if proc.is_alive():
                log.warning(
                    "worker pid %s did not stop in %.0f s; killing it", proc.pid, STOP_GRACE_S
                )
                proc.kill()
                proc.join(5)
