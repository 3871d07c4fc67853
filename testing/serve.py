"""``lingshu serve`` as a child process on a free loopback port, for tests and benchmarks."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from testing.loopback import free_port

__all__ = ["ServeProcess"]

ROOT = Path(__file__).resolve().parent.parent


class ServeProcess:
    """``python -m agent.cli serve`` on a free port, with its log captured in ``log``.

    The constructor returns once ``/healthz`` answers 200 (or raises with the log's
    tail when the service exits or has not started within ``start_s``).
    """

    def __init__(self, env: dict[str, str], log: Path, *args: str, start_s: float = 60) -> None:
        self.port = free_port()
        self.log = log
        self._out = log.open("wb")
        argv = [sys.executable, "-m", "agent.cli", "serve", "--port", str(self.port), *args]
        self.proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=self._out, stderr=self._out)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + start_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"lingshu serve exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"lingshu serve did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)

    def stop(self) -> str:
        """Stop it (SIGTERM, then SIGKILL after 15 s) and return its log."""
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._out.close()
        return self.log.read_text()
