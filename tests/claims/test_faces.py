"""The misquoted troponin, caught and shown beside the claim: CLI (JSON and plain) and service."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.messages import BaseMessage
from typer.testing import CliRunner

from agent.cli import app
from tests.fakes import call
from tests.loopback import ThreadedUvicorn
from tests.openai_server import serving
from tests.server.conftest import ehr_path, make_service

__all__ = ["ehr_path"]  # the session fixture, shared with the service tests

WRONG = "hs-Troponin T is normal at 5 ng/L"


def differential(trop: str) -> str:
    dx = {
        "summary": "Chest pain with a troponin rise.",
        "diagnoses": [
            {
                "name": "Non-ST elevation myocardial infarction",
                "icd10": "I21.4",
                "likelihood": 0.6,
                "supporting": [
                    {"text": WRONG, "evidence": [trop]},
                    {"text": "hs-Troponin T 96 ng/L, high", "evidence": [trop]},
                ],
            }
        ],
    }
    return "NSTEMI is possible.\n```json\n" + json.dumps(dx) + "\n```"


def troponin_id(text: str) -> str:
    found = re.search(r"96 ng/L H[^\[\n]*\[(E\d+)\]", text)
    assert found, text
    return found.group(1)


def check_of(answer: dict[str, Any], text: str) -> dict[str, Any]:
    for dx in answer["differential"]["diagnoses"]:
        for finding in dx["supporting"]:
            if finding["text"] == text:
                return dict(finding["check"])
    raise AssertionError(f"no finding {text!r}")


def consult(*args: str) -> Any:
    return CliRunner().invoke(app, ["consult", *args])


def test_cli_marks_the_misquoted_claim_in_json_and_plain_output(
    ehr_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINGSHU_EHR_DB", str(ehr_path))
    gather = {"content": call("get_labs", name_or_loinc="troponin")}
    with serving([gather, {"content": "Troponin gathered."}]) as server:
        base = ["--base-url", server.base_url, "--patient", "chest-pain"]
        first = consult("--json", *base, "Chest pain. Troponin?")
        assert first.exit_code == 0, first.output
        turn = json.loads(first.stdout.strip().splitlines()[-1])
        trop = next(
            i for i, r in turn["evidence"].items() if "96 ng/L" in r["label"] and r["kind"] == "ehr"
        )
        server.replies.extend([{"content": differential(trop)}] * 3)  # repaired twice, unchanged
        second = consult("--json", *base[:2], "--session", turn["session_id"], "Differential?")
        answer = json.loads(second.stdout.strip().splitlines()[-1])
        bad = check_of(answer, WRONG)
        assert bad["status"] == "mismatch" and "96 ng/L" in bad["reason"]
        assert check_of(answer, "hs-Troponin T 96 ng/L, high")["status"] == "checked"
        assert answer["claim_counts"] == {"checked": 1, "unchecked": 0, "mismatch": 1}
        repairs = [r for r in server.requests if "does not match what it cites" in json.dumps(r)]
        assert repairs, "the model was told what E17 holds"
        server.replies.extend([{"content": differential(trop)}] * 3)
        plain = consult(*base[:2], "--session", turn["session_id"], "Again?")
    out = " ".join(plain.stdout.replace("│", " ").split())
    assert "✗ 1 mismatch" in out and "✓ 1 checked" in out
    assert re.search(
        r"normal at 5 ng/L \[E\d+\] ✗ mismatch: the claim says 5 ng/L, calls it normal; E\d+ is hs-Troponin T 96 ng/L \(high\)",
        out,
    ), out


def test_service_answer_carries_the_verdict_beside_the_claim(
    tmp_path: Path, ehr_path: Path
) -> None:
    def answer(messages: list[BaseMessage]) -> str:
        return differential(troponin_id("\n".join(m.text for m in messages)))

    gather = call("get_labs", name_or_loinc="troponin")
    script: list[Any] = [gather, answer, answer, answer, gather, answer, answer, answer]
    app_, _ = make_service(tmp_path, script, ehr_path, server_api_keys=[])
    with ThreadedUvicorn(app_) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        sid = http.post("/v1/sessions", json={"patient_id": "chest-pain"}).json()["session_id"]
        reply = http.post(f"/v1/sessions/{sid}/turns", json={"text": "Differential?"})
        assert reply.status_code == 200, reply.text
        got = reply.json()
        chat = http.post(
            "/v1/chat/completions",
            json={"model": "lingshu", "messages": [{"role": "user", "content": "Differential?"}]},
            headers={"X-Lingshu-Patient": "chest-pain"},
        )
    assert check_of(got, WRONG)["status"] == "mismatch"
    assert "96 ng/L" in check_of(got, WRONG)["reason"]
    assert got["claim_counts"] == {"checked": 1, "unchecked": 0, "mismatch": 1}
    assert chat.status_code == 200, chat.text
    content = chat.json()["choices"][0]["message"]["content"]
    assert "✗ 1 mismatch" in content
    assert re.search(
        r"normal at 5 ng/L \[E\d+\] \*\*✗ mismatch\*\*: the claim says 5 ng/L", content
    )
