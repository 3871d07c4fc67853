"""Every served tool that reads a record is bound to the caller's grant (in-process client)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client import Client

from agent.mcp import LingshuMcp, read_audit
from agent.server.service import Service
from agent.session import Lingshu
from agent.settings import Settings
from tests.fakes import ScriptedChatModel
from tests.mcp.conftest import data_dir_with_ehr

MINIMAL = {
    "get_labs": {"name_or_loinc": "creatinine"},
    "search_notes": {"query": "pain"},
    "calculate": {"calculator": "heart"},
    "phenotype_differential": {"findings": "fever, cough"},
    "consult": {"question": "Any change?"},
}


@pytest.fixture
def stdio_mcp(tmp_path: Path, ehr_file: Path) -> Any:
    settings = Settings(data_dir=data_dir_with_ehr(tmp_path, ehr_file))
    agent = Lingshu(settings, model=ScriptedChatModel(script=[]))
    service = Service.open(settings, agent=agent)
    mcp = LingshuMcp(settings, "stdio", service=service, stdio_patients=["chest-pain", "sepsis"])
    yield mcp
    mcp.close()


def test_every_record_tool_refuses_a_patient_outside_the_grant(stdio_mcp: LingshuMcp) -> None:
    async def run() -> tuple[list[str], dict[str, Any], Any]:
        async with Client(stdio_mcp.server, cache=None) as mcp:
            tools = (await mcp.list_tools()).tools
            reading = [t.name for t in tools if "patient_id" in t.input_schema["properties"]]
            refused = {}
            for name in reading:
                args = {**MINIMAL.get(name, {}), "patient_id": "pneumonia"}
                refused[name] = await mcp.call_tool(name, args)
            unnamed = await mcp.call_tool("patient_summary", {})
            return reading, refused, unnamed

    reading, refused, unnamed = anyio.run(run)
    assert {"patient_summary", "get_labs", "calculate", "phenotype_differential"} <= set(reading)
    for name, result in refused.items():
        text = result.content[0].text
        assert result.is_error and "may not open patient 'pneumonia'" in text, name
    # two patients granted: the caller must say which one
    assert unnamed.is_error and "name the patient" in unnamed.content[0].text
    assert "chest-pain, sepsis" in unnamed.content[0].text
    audit = read_audit(stdio_mcp.settings)
    assert audit and all(e["status"] == "refused" and e["resources"] == [] for e in audit)
    assert {e["tool"] for e in audit} == set(reading)


def test_a_session_of_another_face_for_a_patient_outside_the_grant_is_refused(
    stdio_mcp: LingshuMcp,
) -> None:
    # made by the CLI on the same store: no owner row, bound to a patient not granted here
    other = stdio_mcp.service.agent.new_session(patient_id="pneumonia", mode="clinical")

    async def run() -> tuple[Any, Any]:
        async with Client(stdio_mcp.server, cache=None) as mcp:
            turn = await mcp.call_tool("consult", {"question": "Any change?", "session_id": other})
            try:
                await mcp.read_resource(f"lingshu://sessions/{other}/evidence")
                read: Any = None
            except Exception as exc:
                read = exc
            return turn, read

    turn, read = anyio.run(run)
    assert turn.is_error and "may not open patient 'pneumonia'" in turn.content[0].text
    assert read is not None and "pneumonia" in str(read)
