"""Servers the service tests need, all on loopback: the app under uvicorn (in a thread or as
``lingshu serve`` processes), a private Postgres cluster, and the fixtures' parts."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.tools import tool
from langgraph.prebuilt import ToolRuntime

from agent.resources import Resources
from agent.server import create_app
from agent.server.auth import key_entry
from agent.session import Lingshu
from agent.settings import Settings
from knowledge.ehr.demo import ensure_demo_patients
from knowledge.imaging import ImageStore
from testing.serve import ServeProcess as ServeProcess
from tests.fakes import ScriptedChatModel
from tests.loopback import free_port
from tools.runtime import ToolArtifact, ToolContext

IN_CI = os.environ.get("CI", "").lower() == "true"
ROOT = Path(__file__).resolve().parents[2]
PASSAGE = "Measure high-sensitivity troponin at presentation and repeat at 1-3 hours."
KEY_A, KEY_B, KEY_ONE = "lsk-test-ward-a", "lsk-test-ward-b", "lsk-test-one-patient"


def need(condition: bool, reason: str) -> None:
    """Skip when a system part is missing here; in CI (which installs it) fail instead."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI installs it: see .ci/run)")
    pytest.skip(reason)


@tool(parse_docstring=True, response_format="content_and_artifact")
def lookup_guideline(
    topic: str, runtime: ToolRuntime[ToolContext, Any]
) -> tuple[str, ToolArtifact]:
    """Look up the guideline passage on a topic.

    Args:
        topic: The clinical topic, e.g. "chest pain".
    """
    eid = runtime.context.ledger.cite(
        "guideline",
        f"chunk-{topic}",
        label=f"Test chest pain guideline — {topic}",
        excerpt=PASSAGE,
        citation={"title": "Test chest pain guideline", "publisher": "Test", "year": 2024},
    )
    return f'<guideline id="{eid}">{PASSAGE}</guideline>', {"evidence": [eid]}


def keys_entries() -> list[dict[str, Any]]:
    return [
        key_entry("ward-a", KEY_A, None),
        key_entry("ward-b", KEY_B, ["pneumonia", "sepsis"]),
        key_entry("one-patient", KEY_ONE, ["chest-pain"]),
    ]


@pytest.fixture(scope="session")
def ehr_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ehr") / "ehr.sqlite"
    ensure_demo_patients(path).close()
    return path


def make_service(
    tmp_path: Path, script: list[Any], ehr_path: Path | None = None, **overrides: Any
) -> tuple[Any, ScriptedChatModel]:
    """The app over a scripted model, a guideline tool, the imaging tools and the demo EHR."""
    from knowledge.ehr import EmbeddedFhirStore
    from tools.ehr import EHR_TOOLS
    from tools.imaging import IMAGING_TOOLS

    settings = Settings(data_dir=tmp_path / "data", **overrides)
    resources = Resources(
        images=ImageStore(settings.images_path),
        ehr=EmbeddedFhirStore(ehr_path) if ehr_path else None,
    )
    model = ScriptedChatModel(script=script)
    agent = Lingshu(
        settings,
        model=model,
        tools=[lookup_guideline, *EHR_TOOLS, *IMAGING_TOOLS],
        resources=resources,
    )
    return create_app(settings, agent=agent), model


# --- Postgres ----------------------------------------------------------------------------


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A private Postgres cluster on loopback (or the server named by TEST_POSTGRES_URL)."""
    given = os.environ.get("TEST_POSTGRES_URL")
    if given:
        yield given
        return
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    need(
        bool(initdb and pg_ctl), "PostgreSQL is not installed (Debian: apt-get install postgresql)"
    )
    assert initdb and pg_ctl
    home = Path(tempfile.mkdtemp(prefix="lingshu-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        need(shutil.which("runuser") is not None, "runuser is needed to run Postgres as root")
        run_as = ["runuser", "-u", "postgres", "--"]
        shutil.chown(home, "postgres", "postgres")
    data, port = home / "data", free_port()
    subprocess.run(
        [*run_as, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {home} -c fsync=off"
    subprocess.run(
        [*run_as, pg_ctl, "-D", str(data), "-o", options, "-l", str(home / "log"), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*run_as, pg_ctl, "-D", str(data), "-m", "fast", "stop"], check=False)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh database per test on the Postgres server."""
    import psycopg

    name = "lingshu_" + uuid.uuid4().hex[:10]
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    base, _, _ = pg_server.rpartition("/")
    yield f"{base}/{name}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# --- `lingshu serve` processes ----------------------------------------------------------


def serve_env(tmp_path: Path, **values: str) -> dict[str, str]:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"keys": keys_entries()}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINGSHU_")}
    env |= {
        "LINGSHU_DATA_DIR": str(tmp_path / "data"),
        "LINGSHU_CONFIG": str(tmp_path / "none.toml"),
        "LINGSHU_SERVER_API_KEYS_FILE": str(keys),
        "LINGSHU_CONNECT_RETRIES": "0",
        "PYTHONPATH": str(ROOT),
    }
    return env | {f"LINGSHU_{k.upper()}": v for k, v in values.items()}
