"""Test-wide guards: no network but loopback, no model hub, an isolated data dir."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class OutboundConnectionBlocked(RuntimeError):
    """A test tried to reach a host other than loopback."""


def _is_loopback(address: object) -> bool:
    if isinstance(address, str):
        return True  # AF_UNIX socket path
    if not (isinstance(address, tuple) and address):
        return False
    host = str(address[0])
    if host in {"localhost", ""}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded_connect(self: socket.socket, address: object) -> None:
        if not _is_loopback(address):
            raise OutboundConnectionBlocked(f"tests may not connect to {address!r}")
        real_connect(self, address)  # type: ignore[arg-type]

    def guarded_connect_ex(self: socket.socket, address: object) -> int:
        if not _is_loopback(address):
            raise OutboundConnectionBlocked(f"tests may not connect to {address!r}")
        return real_connect_ex(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own data dir and no user config or LINGSHU_* leaking in."""
    for key in list(os.environ):
        if key.startswith("LINGSHU_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("LINGSHU_DATA_DIR", str(tmp_path / "lingshu-data"))
    monkeypatch.setenv("LINGSHU_CONFIG", str(tmp_path / "no-such-lingshu.toml"))
