"""The MCP server's fixtures: the synthetic patients on disk, keys, and a server on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from agent.mcp import LingshuMcp
from agent.server.auth import key_entry
from agent.server.service import Service
from agent.session import Lingshu
from agent.settings import Settings
from knowledge.ehr import ensure_demo_patients
from tests.fakes import ScriptedChatModel
from tests.loopback import free_port

KEY_A, KEY_B = "lsk-mcp-ward-a", "lsk-mcp-ward-b"
"""ward-a may open the chest-pain patient only; ward-b the sepsis patient only."""


@pytest.fixture(scope="session")
def ehr_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mcp-ehr") / "ehr.sqlite"
    ensure_demo_patients(path).close()
    return path


def data_dir_with_ehr(root: Path, ehr_file: Path) -> Path:
    """A fresh data dir holding a copy of the synthetic patients (no guideline store)."""
    data = root / "lingshu-data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "ehr.sqlite").write_bytes(ehr_file.read_bytes())
    return data


@pytest.fixture
def keyed_settings(tmp_path: Path, ehr_file: Path) -> Settings:
    return Settings(
        data_dir=data_dir_with_ehr(tmp_path, ehr_file),
        server_api_keys=[
            key_entry("ward-a", KEY_A, ["chest-pain"]),
            key_entry("ward-b", KEY_B, ["sepsis"]),
        ],
    )


class HttpMcp:
    """``LingshuMcp.http_app`` under uvicorn in a thread, on a free loopback port."""

    def __init__(self, mcp: LingshuMcp) -> None:
        self.mcp = mcp
        self.port = free_port()
        config = uvicorn.Config(mcp.http_app(), host="127.0.0.1", port=self.port, log_level="error")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def __enter__(self) -> HttpMcp:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the MCP HTTP server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.mcp.close()


@pytest.fixture
def http_mcp(keyed_settings: Settings) -> Iterator[tuple[HttpMcp, ScriptedChatModel]]:
    model = ScriptedChatModel(script=[])
    agent = Lingshu(keyed_settings, model=model)
    mcp = LingshuMcp(keyed_settings, "http", service=Service.open(keyed_settings, agent=agent))
    with HttpMcp(mcp) as served:
        yield served, model
