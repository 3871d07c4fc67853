"""``lingshu mcp`` over stdio, as an assistant starts it: a subprocess and the SDK's client."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from agent.mcp import read_audit
from agent.settings import Settings
from tests.fakes import call
from tests.mcp.conftest import data_dir_with_ehr
from tests.openai_server import serving

ANSWER = "Three rising hs-troponin values [E1]; this fits an NSTEMI."


def text(result: Any) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "text", None))


def test_stdio_server_is_bound_to_the_patients_on_its_command_line(
    tmp_path: Path, ehr_file: Path
) -> None:
    data = data_dir_with_ehr(tmp_path, ehr_file)
    replies = [{"content": call("get_labs", name_or_loinc="troponin")}, {"content": ANSWER}]
    with serving(replies) as model:
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "agent.cli", "mcp", "--transport", "stdio", "--patient", "chest-pain"],
            env={
                "LINGSHU_DATA_DIR": str(data),
                "LINGSHU_CONFIG": str(tmp_path / "none.toml"),
                "LINGSHU_BASE_URL": model.base_url,
                "LINGSHU_CONNECT_RETRIES": "0",
            },
            cwd=str(Path(__file__).resolve().parents[2]),
        )

        async def run() -> dict[str, Any]:
            out: dict[str, Any] = {}
            async with Client(params, cache=None, read_timeout_seconds=120) as mcp:
                out["names"] = {t.name for t in (await mcp.list_tools()).tools}
                out["summary"] = await mcp.call_tool("patient_summary", {})
                out["cross"] = await mcp.call_tool("patient_summary", {"patient_id": "sepsis"})
                out["code"] = await mcp.call_tool("icd10_lookup", {"term": "NSTEMI", "k": 3})
                out["consult"] = await mcp.call_tool(
                    "consult", {"question": "What do the troponins show?"}
                )
                session = text(out["consult"]).split()[1]
                out["evidence"] = await mcp.read_resource(f"lingshu://sessions/{session}/evidence")
                out["other"] = await mcp.call_tool(
                    "consult", {"question": "Any sepsis?", "patient_id": "sepsis"}
                )
            return out

        out = anyio.run(run)
        prompts = len(model.requests)
    assert {"patient_summary", "get_labs", "icd10_lookup", "consult"} <= out["names"]
    assert "search_guidelines" not in out["names"]  # no guideline store in this data dir
    summary = text(out["summary"])
    assert not out["summary"].is_error and "Active problems" in summary
    assert "References:\n[E1]" in summary
    assert out["cross"].is_error and "may not open patient 'sepsis'" in text(out["cross"])
    assert "I21.4" in text(out["code"])
    consult = text(out["consult"])
    assert not out["consult"].is_error and ANSWER.split(" [")[0] in consult
    evidence = __import__("json").loads(out["evidence"].contents[0].text)
    assert "E1" in evidence and evidence["E1"]["kind"] == "ehr"
    # a session for a patient outside the grant is refused before the model is asked
    assert out["other"].is_error and "may not open patient 'sepsis'" in text(out["other"])
    assert prompts == 2
    audit = read_audit(Settings(data_dir=data))
    assert {(e["face"], e["tool"], e["status"]) for e in audit} >= {
        ("mcp-stdio", "patient_summary", "ok"),
        ("mcp-stdio", "patient_summary", "refused"),
        ("mcp-stdio", "icd10_lookup", "ok"),
    }
    assert all(e["patient_id"] in ("chest-pain", "sepsis", None) for e in audit)
