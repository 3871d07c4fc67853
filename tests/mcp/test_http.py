"""``lingshu mcp`` over streamable HTTP, driven by the SDK's own client: keys, grants, audit."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx2
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

from agent.mcp import read_audit
from tests.mcp.conftest import KEY_A, KEY_B, HttpMcp


def client(url: str, key: str | None) -> Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    http = httpx2.AsyncClient(headers=headers, timeout=30)
    return Client(streamable_http_client(url, http_client=http), cache=None)


def text(result: Any) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "text", None))


def test_a_key_reads_its_patient_and_is_refused_another(http_mcp: tuple[HttpMcp, Any]) -> None:
    served, model = http_mcp
    model.script.extend(["Troponin is rising across the three draws [E1]; treat as NSTEMI."])

    async def run() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with client(served.url, KEY_A) as ward_a:
            names = {t.name for t in (await ward_a.list_tools()).tools}
            out["names"] = names
            # the key grants one patient: patient_id may be left out
            out["labs"] = await ward_a.call_tool("get_labs", {"name_or_loinc": "troponin"})
            out["summary"] = await ward_a.call_tool("patient_summary", {})
            out["cross"] = await ward_a.call_tool(
                "get_labs", {"name_or_loinc": "lactate", "patient_id": "sepsis"}
            )
            out["patients"] = await ward_a.call_tool("list_patients", {})
            out["consult"] = await ward_a.call_tool(
                "consult", {"question": "Is this an acute coronary syndrome?"}
            )
            session = text(out["consult"]).split()[1]
            out["session"] = session
            out["refs"] = await ward_a.read_resource(f"lingshu://sessions/{session}/references")
        async with client(served.url, KEY_B) as ward_b:
            out["b_sepsis"] = await ward_b.call_tool("get_labs", {"name_or_loinc": "lactate"})
            out["b_consult"] = await ward_b.call_tool(
                "consult", {"question": "And now?", "session_id": out["session"]}
            )
            try:
                await ward_b.read_resource(f"lingshu://sessions/{out['session']}/evidence")
                out["b_evidence"] = "read"
            except Exception as exc:  # the SDK raises the server's error
                out["b_evidence"] = str(exc)
        return out

    out = anyio.run(run)
    assert {"get_labs", "patient_summary", "icd10_lookup", "consult", "list_patients"} <= out[
        "names"
    ]
    labs = text(out["labs"])
    assert not out["labs"].is_error
    assert "hs-Troponin T" in labs and "96 ng/L" in labs
    assert "References:\n[E1] Observation hs-Troponin T" in labs
    # identifiers stay in the EHR layer, as in the agent
    summary = text(out["summary"])
    assert "Active problems" in summary
    for identifier in ("Alex", "Synthetic", "SYN-000001", "1964-06-20", "555-0101", "Example"):
        assert identifier not in summary
    # another patient through the same key: refused, and nothing of the record shown
    assert out["cross"].is_error
    assert "may not open patient 'sepsis'" in text(out["cross"])
    assert "mmol" not in text(out["cross"])
    assert [p["id"] for p in json.loads(text(out["patients"]))] == ["chest-pain"]
    # a whole turn: the model's cited answer, and its references resolve to records
    assert not out["consult"].is_error
    assert "Troponin is rising" in text(out["consult"])
    refs = out["refs"].contents[0].text
    assert refs.startswith("[E1] ") and "Observation" in refs
    # ward-b reads its own patient, but not ward-a's session
    assert not out["b_sepsis"].is_error and "Lactate" in text(out["b_sepsis"])
    assert out["b_consult"].is_error and "no session" in text(out["b_consult"])
    assert "no session" in out["b_evidence"]
    assert len(model.prompts) == 1  # ward-b's refused turn never reached the model

    audit = read_audit(served.mcp.settings)
    by = {(e["caller"], e["tool"], e["status"]) for e in audit}
    assert ("ward-a", "get_labs", "ok") in by
    assert ("ward-a", "get_labs", "refused") in by
    read = next(e for e in audit if e["caller"] == "ward-a" and e["status"] == "ok")
    assert read["patient_id"] == "chest-pain" and len(read["resources"]) == 3
    assert all(r.startswith("Observation/chest-pain") for r in read["resources"])


def test_no_key_or_a_wrong_key_is_refused_before_mcp(http_mcp: tuple[HttpMcp, Any]) -> None:
    served, _ = http_mcp
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Accept": "application/json, text/event-stream"}
    for key in (None, "lsk-not-a-key"):
        sent = headers | ({"Authorization": f"Bearer {key}"} if key else {})
        reply = httpx2.post(served.url, json=body, headers=sent, timeout=10)
        assert reply.status_code == 401
        assert "API key" in reply.json()["error"]


def test_limits_apply_to_every_text_argument(http_mcp: tuple[HttpMcp, Any]) -> None:
    served, model = http_mcp
    limit = served.mcp.settings.server_max_text_chars

    async def run() -> tuple[Any, Any]:
        async with client(served.url, KEY_A) as ward_a:
            notes = await ward_a.call_tool("search_notes", {"query": "x" * (limit + 1)})
            consult = await ward_a.call_tool("consult", {"question": "y" * (limit + 1)})
            return notes, consult

    notes, consult = anyio.run(run)
    assert notes.is_error and f"at most {limit}" in text(notes)
    assert consult.is_error and f"at most {limit}" in text(consult)
    assert model.prompts == []
