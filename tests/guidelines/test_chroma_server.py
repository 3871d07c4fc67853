"""The same store behaviour against a real Chroma server (``chroma run``) on loopback."""

from __future__ import annotations

import http.client
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import ToolMessage

from agent.session import Lingshu
from agent.settings import Settings
from knowledge.guidelines import (
    Filters,
    GuidelineStore,
    ModelMismatchError,
    StoreNotFound,
    ingest_paths,
)
from tests.fakes import ScriptedChatModel
from tests.guidelines.conftest import write_md
from tests.loopback import free_port
from tools.guidelines import GUIDELINE_TOOLS


def _chroma_binary() -> str:
    beside = Path(sys.executable).parent / "chroma"
    found = str(beside) if beside.exists() else shutil.which("chroma")
    assert found, "the chroma CLI (installed with chromadb) is needed for this test"
    return found


def _heartbeat(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/api/v2/heartbeat")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def _start(data: Path, port: int) -> subprocess.Popen[bytes]:
    """``chroma run`` on loopback, returned once its heartbeat answers."""
    log = (data / "server.log").open("ab")
    process = subprocess.Popen(
        [
            _chroma_binary(),
            "run",
            "--path",
            str(data / "db"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    deadline = time.monotonic() + 60
    while not _heartbeat(port):
        if process.poll() is not None or time.monotonic() > deadline:
            _stop(process)
            raise AssertionError(
                "chroma server did not start within 60 s:\n"
                + (data / "server.log").read_text(errors="replace")
            )
        time.sleep(0.2)
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    process = _start(data, port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)


def test_server_store_behaves_like_the_embedded_one(chroma_url: str, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    pe = write_md(
        docs,
        "pe.md",
        title="Pulmonary embolism",
        publisher="ESC/ERS",
        year=2019,
        tags=["cardiology"],
        body="## D-dimer\n\nMeasure D-dimer when clinical probability is low.\n",
    )
    write_md(
        docs,
        "copd.md",
        title="COPD",
        publisher="GOLD",
        year=2024,
        tags=["pulmonology"],
        body="## Exacerbations\n\nTarget oxygen saturation 88-92% during an exacerbation.\n",
    )
    with pytest.raises(StoreNotFound):
        GuidelineStore.open(
            tmp_path / "a", chroma_url=chroma_url, collection="srv-test", create=False
        )

    writer = GuidelineStore.open(tmp_path / "a", chroma_url=chroma_url, collection="srv-test")
    assert writer.location == chroma_url
    assert not (tmp_path / "a" / "chroma").exists()  # vectors live on the server
    assert len(ingest_paths(writer, [docs]).added) == 2
    assert ingest_paths(writer, [docs]).unchanged == [
        str(p.resolve()) for p in sorted(docs.glob("*.md"))
    ]

    # Another client with its own local folder sees the same chunks; its BM25 is built from Chroma.
    reader = GuidelineStore.open(
        tmp_path / "b", chroma_url=chroma_url, collection="srv-test", create=False
    )
    assert reader.count() == 2
    for mode in ("hybrid", "dense", "lexical"):
        hit = reader.search("oxygen saturation target exacerbation", k=1, mode=mode)[0]
        assert hit.chunk.title == "COPD" and hit.chunk.url == "https://example.org/guideline"
    only = reader.search("measure", k=5, filters=Filters(publisher="ESC", year_max=2020))
    assert [h.chunk.title for h in only] == ["Pulmonary embolism"]

    pe.write_text(pe.read_text().replace("is low", "is low or intermediate"), encoding="utf-8")
    assert ingest_paths(writer, [docs]).updated == [str(pe.resolve())]
    reader_again = GuidelineStore.open(tmp_path / "b", chroma_url=chroma_url, collection="srv-test")
    texts = [
        h.chunk.text
        for h in reader_again.search("D-dimer clinical probability", k=5, mode="lexical")
    ]
    assert texts[0].endswith("low or intermediate.") and reader_again.count() == 2

    with pytest.raises(ModelMismatchError, match="--rebuild"):
        GuidelineStore.open(
            tmp_path / "c",
            chroma_url=chroma_url,
            collection="srv-test",
            embedding_model="other/model",
        )


SEARCH = (
    '<tool_call>{"name": "search_guidelines", "arguments": '
    '{"query": "oxygen target in an exacerbation", "k": 1}}</tool_call>'
)


def test_a_server_that_goes_down_mid_session_fails_the_search_not_the_turn(
    tmp_path: Path,
) -> None:
    """Fault injection: the Chroma server stops between two turns, then comes back."""
    docs = tmp_path / "docs"
    write_md(
        docs,
        "copd.md",
        title="COPD",
        publisher="GOLD",
        year=2024,
        tags=["pulmonology"],
        body="## Exacerbations\n\nTarget oxygen saturation 88-92% during an exacerbation.\n",
    )
    port = free_port()
    (tmp_path / "server").mkdir()
    process = _start(tmp_path / "server", port)
    url = f"http://127.0.0.1:{port}"
    try:
        settings = Settings(
            data_dir=tmp_path / "data", chroma_url=url, guideline_collection="down-test"
        )
        ingest_paths(
            GuidelineStore.open(settings.guideline_path, chroma_url=url, collection="down-test"),
            [docs],
        )
        # Search when asked a question, then answer whatever the tool said.
        questions = ["Oxygen target in COPD?", "And if she is drowsy?", "Once more?"]
        seen: list[str] = []

        def step(messages: list[Any]) -> str:
            last = messages[-1].text
            if any(q in last for q in questions) and not isinstance(messages[-1], ToolMessage):
                return SEARCH
            seen.append(last)
            return "Noted; see the guideline passage if one was returned."

        model = ScriptedChatModel(script=[step] * 30)
        agent = Lingshu(settings, model=model, tools=GUIDELINE_TOOLS)
        first = agent.ask(questions[0])
        assert first.answer["produced_by"] == "model"
        assert "88-92%" in seen[0]

        _stop(process)
        down = agent.ask(questions[1], session_id=first.session_id)
        assert down.answer["produced_by"] == "model"  # the turn is answered
        told = seen[1]
        assert "guideline library is unavailable" in told, told
        assert f"Chroma server at {url} did not answer" in told
        audit = agent.state(first.session_id)["audit"]
        calls = [e["status"] for e in audit if e.get("tool") == "search_guidelines"]
        assert calls == ["ok", "error"], calls

        process = _start(tmp_path / "server", port)
        back = agent.ask(questions[2], session_id=first.session_id)
        assert back.answer["produced_by"] == "model"
        assert "88-92%" in seen[2]  # the passage again, in the same session
    finally:
        _stop(process)
