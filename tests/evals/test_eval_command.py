"""``lingshu eval`` end to end against a loopback OpenAI-wire model that answers per item.

The model is scripted so that each arm's accuracy is known by hand: on MedQA-USMLE the
bare model gets items 0 and 1 right and the agent 0, 1 and 2; on VQA-RAD the bare model
misses the open question (it says "left lung" where the answer is "left"), the agent
gets all four. The first run is killed part-way; the second must ask the model only
for the items not yet scored, and the page must show the agent's taller bars.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from agent.cli import app
from evals.runner import read_records
from tests.chromium import HEADLESS_CHROMIUM
from tests.evals import datasets
from tests.server.model_server import DelayedModelServer, user_texts

BARE = {  # question fragment -> reply of the bare model
    "neck stiffness": "A",
    "crushing chest pain": "B. ECG",
    "barking cough": "The answer is A",
    "Polyuria": "C",
    "pneumothorax": "No.",
    "heart enlarged": "yes",
    "Which lung": "left lung",
    "What organ": "Liver",
    "generate a report": "Findings: The heart is normal in size. The lungs are clear. Impression: No acute disease.",
    "differential diagnosis": "1. Bronchitis\n2. Pneumonia",
}
AGENT = {
    "neck stiffness": "Meningococcal meningitis in a young adult. Answer: A",
    "crushing chest pain": "An ECG comes first. Answer: B",
    "barking cough": "Steeple sign, croup. Answer: C",
    "Polyuria": "Answer: B",
    "pneumothorax": "No pleural line is seen [I1]. Answer: no",
    "heart enlarged": "The cardiothoracic ratio is high. Answer: yes",
    "Which lung": "The opacity is on the left. Answer: left",
    "What organ": "This is the liver. Answer: liver",
    "generate a report": "Findings: There is a large left pleural effusion [I1]. Impression: Left pleural effusion [I1].",
    "differential diagnosis": "Pneumonia\nBronchitis\nUnstable angina",
}


def scripted(request: dict[str, Any]) -> str:
    agent = any(m.get("role") == "system" for m in request.get("messages", []))
    text = user_texts(request)[0]  # the item (later ones may be the agent's repair requests)
    for fragment, reply in (AGENT if agent else BARE).items():
        if fragment in text:
            return reply
    return "I do not know."


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    datasets.medqa(root)
    datasets.vqa_rad(root)
    datasets.reports(root)
    datasets.ddxplus(root)
    return root


def eval_args(data: Path, out: Path, url: str, *extra: str) -> list[str]:
    return [
        "eval",
        "MedQA_USMLE",
        "vqa-rad",
        "IU_XRAY",
        "DDXPlus",
        "--data",
        str(data),
        "--out",
        str(out),
        "--base-url",
        url,
        "--no-meteor",
        *extra,
    ]


def lines(path: Path) -> list[dict[str, Any]]:
    return list(read_records(path).values())


def kill_after_records(command: list[str], watched: Path, count: int) -> None:
    """Start the command and SIGKILL it once ``watched`` holds ``count`` records."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if watched.is_file() and len(watched.read_text().splitlines()) >= count:
                break
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        _, stderr = proc.communicate(timeout=30)
    assert watched.is_file(), f"the first run wrote nothing: {stderr.decode()[-800:]}"


def test_both_arms_resume_after_a_kill_and_the_page(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    bare_medqa = out / "MedQA_USMLE" / "bare.jsonl"
    with DelayedModelServer(scripted, delay_s=0.4) as server:
        first = [
            sys.executable,
            "-m",
            "agent.cli",
            *eval_args(data, out, server.base_url, "--arms", "bare", "--concurrency", "1"),
        ]
        kill_after_records(first, bare_medqa, 2)
        written = len(lines(bare_medqa))
        assert 2 <= written < 4, "the run was not interrupted part-way"
        with bare_medqa.open("a") as handle:  # a line torn by the kill
            handle.write('{"id": "3", "benchmark": "MedQA_US')
        asked_before = len(server.requests)
        server.delay_s = 0.0
        result = CliRunner().invoke(
            app, eval_args(data, out, server.base_url, "--concurrency", "8")
        )
        assert result.exit_code == 0, result.output
        bare_asked = [
            r
            for r in server.requests[asked_before:]
            if not any(m.get("role") == "system" for m in r["messages"])
        ]
    # Resume: only the bare items not yet scored were asked again (4 + 4 + 2 + 2 in all).
    assert len(bare_asked) == 12 - written
    summary = json.loads((out / "summary.json").read_text())
    medqa, vqa = summary["benchmarks"]["MedQA_USMLE"], summary["benchmarks"]["VQA_RAD"]
    assert medqa["arms"]["bare"]["score"] == 0.5 and medqa["arms"]["agent"]["score"] == 0.75
    assert medqa["paired"]["difference"] == 0.25
    assert medqa["paired"]["mcnemar"] == {"a_only": 0, "b_only": 1, "p_value": 1.0}
    assert vqa["arms"]["bare"]["score"] == 0.75 and vqa["arms"]["agent"]["score"] == 1.0
    assert vqa["arms"]["bare"]["vqa"]["open"]["acc"] == 0.5  # "left lung" is not "left"
    assert vqa["arms"]["bare"]["vqa"]["closed"]["acc"] == 1.0
    # Every item once per arm, with what a reader of the records needs.
    raw = bare_medqa.read_text().splitlines()
    assert raw[written] == '{"id": "3", "benchmark": "MedQA_US'  # kept apart, ignored
    assert sorted(json.loads(x)["id"] for x in raw if x != raw[written]) == ["0", "1", "2", "3"]
    agent_records = lines(out / "VQA_RAD" / "agent.jsonl")
    assert len(agent_records) == 4 and all(
        r["extra"]["produced_by"] == "model" for r in agent_records
    )
    first_agent = next(r for r in agent_records if r["id"] == "0")
    assert first_agent["parsed"] == "no" and first_agent["images"][0].endswith(".jpg")
    assert first_agent["citations"] == ["I1"]
    assert first_agent["tokens"]["prompt"] >= 0 and first_agent["latency_s"] > 0
    # Reports: the bare model wrote the first reference word for word.
    reports = summary["benchmarks"]["IU_XRAY"]["arms"]["bare"]
    assert reports["metric"] == "rouge_l" and reports["n"] == 2
    assert reports["report"]["cider"] is not None and reports["report"]["meteor"] is None
    assert "mcnemar" not in summary["benchmarks"]["IU_XRAY"]["paired"]  # not right/wrong
    iu = {r["id"]: r for r in lines(out / "IU_XRAY" / "bare.jsonl")}
    assert iu["open_i_1"]["metrics"]["rougel"] > 0.95 > iu["open_i_2"]["metrics"]["rougel"]
    # The agent's report for the second study, citations aside, is its reference.
    agent_iu = {r["id"]: r for r in lines(out / "IU_XRAY" / "agent.jsonl")}
    assert agent_iu["open_i_2"]["citations"] == ["I1"]
    assert (
        agent_iu["open_i_2"]["metrics"]["rougel"] > 0.95 > agent_iu["open_i_1"]["metrics"]["rougel"]
    )
    # DDXPlus: bare ranks bronchitis over pneumonia; the agent names pneumonia, bronchitis,
    # unstable angina for both patients ("stable angina" inside it is not a fourth name).
    ddx = summary["benchmarks"]["DDXPlus"]["arms"]
    assert ddx["bare"]["ddx"]["top1"] == 0.0 and ddx["bare"]["ddx"]["top3"] == 0.5
    agent_ddx = ddx["agent"]["ddx"]
    assert (agent_ddx["top1"], agent_ddx["top3"]) == (0.5, 1.0)
    assert agent_ddx["ddr"] == pytest.approx((1 + 0.5) / 2)  # 2 of 2, then 1 of 2
    assert agent_ddx["ddp"] == pytest.approx((2 / 3 + 1 / 3) / 2)  # 2 of 3, then 1 of 3
    page = out / "index.html"
    assert page.is_file()
    check_page_in_chromium(page, tmp_path)


BLUE, ORANGE = (31, 95, 168), (217, 72, 15)


def bar_heights(shot: np.ndarray, colour: tuple[int, int, int]) -> list[int]:
    """Heights of the solid bars of one colour, left to right (legend squares are shorter)."""
    mask = np.all(np.abs(shot - colour) <= 6, axis=-1)
    counts = mask.sum(axis=0)
    bars, run, gap = [], [], 0
    for c in counts:
        if c > 14:
            run.append(int(c))
            gap = 0
        elif run and gap < 4:  # the CI whisker drawn across a bar
            gap += 1
        elif run:
            bars.append(max(run))
            run, gap = [], 0
    return bars


def check_page_in_chromium(page: Path, tmp_path: Path) -> None:
    from tests.report.test_browser import chromium

    browser = chromium()
    png = tmp_path / "eval.png"
    command = [
        browser,
        *HEADLESS_CHROMIUM,
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1000,1400",
        f"--screenshot={png}",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert png.is_file(), f"no screenshot (rc {done.returncode}): {done.stderr[-600:]}"
    shot = np.asarray(Image.open(png).convert("RGB")).astype(int)
    chart = shot[:420]  # the first chart: score by arm
    blue, orange = bar_heights(chart, BLUE), bar_heights(chart, ORANGE)
    assert len(blue) >= 4 and len(orange) >= 4, (blue, orange)
    # MedQA: 0.75 against 0.5; VQA-RAD: 1.0 against 0.75.
    assert orange[0] / blue[0] == pytest.approx(1.5, rel=0.08)
    assert orange[1] / blue[1] == pytest.approx(4 / 3, rel=0.08)
    # The outcome chart further down shows right (green) and wrong (red) shares.
    below = shot[420:]
    assert np.all(np.abs(below - (43, 138, 62)) <= 6, axis=-1).sum() > 500
    assert np.all(np.abs(below - (201, 42, 42)) <= 6, axis=-1).sum() > 200


def test_the_judge_sees_open_questions_only(data: Path, tmp_path: Path) -> None:
    """VQA-RAD with a judge: the two open questions go to it (and its verdict counts), the two
    yes/no questions keep their rule-based score and are never sent."""
    out = tmp_path / "judged"

    def verdict(request: dict[str, Any]) -> str:
        text = user_texts(request)[0]
        return (
            "<think>same place</think><judge>0</judge>"
            if "left lung" in text
            else "<judge>1</judge>"
        )

    with DelayedModelServer(scripted) as model, DelayedModelServer(verdict) as judge:
        result = CliRunner().invoke(
            app,
            [
                "eval",
                "VQA_RAD",
                "--data",
                str(data),
                "--out",
                str(out),
                "--arms",
                "bare",
                "--base-url",
                model.base_url,
                "--judge-url",
                judge.base_url,
                "--judge-model",
                "judge",
            ],
        )
        assert result.exit_code == 0, result.output
        judged = [user_texts(r)[0] for r in judge.requests]
    assert len(judged) == 2 and all("The standard answer: l" in t for t in judged)
    bare = json.loads((out / "summary.json").read_text())["benchmarks"]["VQA_RAD"]["arms"]["bare"]
    # "left lung" judged right, "liver" judged wrong (this judge is strict): open 1/2, closed 2/2
    assert bare["vqa"]["open"]["acc"] == 0.5 and bare["vqa"]["closed"]["acc"] == 1.0
    assert bare["vqa"]["open"]["judged"] == 2 and bare["score"] == 0.75
    assert bare["categories"] == {"right": 2, "judged right": 1, "judged wrong": 1}


def _call(name: str, **arguments: str) -> str:
    return "<tool_call>\n" + json.dumps({"name": name, "arguments": arguments}) + "\n</tool_call>"


def record_reader(request: dict[str, Any]) -> str:
    """A model for FHIR tasks. Bare: answers from the record in its prompt (and gets the
    dose's wording wrong). Agent: asks the EHR tools, then answers with what they returned."""
    messages = request.get("messages", [])
    question = user_texts(request)[0]
    if not any(m.get("role") == "system" for m in messages):
        if "<patient_record>" not in question:
            return "no record"
        for fragment, value in (
            ("recent serum", "1.9"),
            ("rising", "rising"),
            ("metformin", "500 mg BID"),
            ("encounters", "1"),
        ):
            if fragment in question:
                return value
    seen = " ".join(str(m.get("content")) for m in messages[2:])  # what came back from tools
    if "recent serum" in question:
        return "Answer: 1.9" if "1.9" in seen else _call("get_labs", name_or_loinc="creatinine")
    if "rising" in question:
        return "Answer: rising" if "1.4" in seen else _call("get_labs", name_or_loinc="2160-0")
    if "metformin" in question:
        return (
            "Answer: 500 mg by mouth twice daily"
            if "twice daily" in seen
            else _call("list_medications")
        )
    return "Answer: 1"


def test_fhir_tasks_from_bulk_ndjson(tmp_path: Path) -> None:
    datasets.fhir(tmp_path / "data")
    out = tmp_path / "fhir-out"
    with DelayedModelServer(record_reader) as model:
        result = CliRunner().invoke(
            app,
            [
                "eval",
                "FHIR",
                "--data",
                str(tmp_path / "data"),
                "--out",
                str(out),
                "--base-url",
                model.base_url,
                "--concurrency",
                "2",
            ],
        )
        assert result.exit_code == 0, result.output
        requests = list(model.requests)
    fhir = json.loads((out / "summary.json").read_text())["benchmarks"]["FHIR"]
    assert fhir["arms"]["bare"]["score"] == 0.75  # "500 mg BID" is not the record's text
    assert fhir["arms"]["agent"]["score"] == 1.0
    agent = {r["id"]: r for r in lines(out / "FHIR" / "agent.jsonl")}
    assert agent["t1"]["tool_calls"] == ["get_labs"] and agent["t3"]["tool_calls"] == [
        "list_medications"
    ]
    # The tool read patient p1's creatinine (1.1, 1.4, 1.9), never p2's (0.8).
    seen = [
        " ".join(str(m.get("content")) for m in r["messages"][2:])
        for r in requests
        if "recent serum" in user_texts(r)[0] and len(r["messages"]) > 2
    ]
    assert seen and "1.9" in seen[-1] and "0.8" not in seen[-1]


def clinic(request: dict[str, Any]) -> str:
    """Doctor and patient on one scripted server. The patient answers from the case in its
    system prompt; the bare doctor concludes on the first case without asking (not allowed);
    the agent asks once each time, then names its diagnosis."""
    messages = request.get("messages", [])
    system = (
        str(messages[0].get("content")) if messages and messages[0].get("role") == "system" else ""
    )
    texts = user_texts(request)
    if system.startswith("You are a patient"):
        return (
            "Yes, I have had a fever since yesterday."
            if "fever" in system.lower()
            else "I don't know."
        )
    answered = sum(1 for t in texts if "fever since yesterday" in t or "don't know" in t)
    cough = "cough" in texts[0]
    if system.startswith("You are a doctor"):
        if cough:
            return "DIAGNOSIS READY: Community-acquired pneumonia"
        return (
            "Where exactly is the pain?" if not answered else "DIAGNOSIS READY: Acute appendicitis"
        )
    if not answered:
        return "Have you had a fever?"
    return (
        "DIAGNOSIS READY: community acquired pneumonia"
        if cough
        else "DIAGNOSIS READY: appendicitis"
    )


def test_simulated_consultation(tmp_path: Path) -> None:
    datasets.consult(tmp_path / "data")
    out = tmp_path / "consult-out"
    with DelayedModelServer(clinic) as server:
        result = CliRunner().invoke(
            app,
            ["eval", "Consult", "--data", str(tmp_path / "data"), "--out", str(out),
             "--base-url", server.base_url, "--concurrency", "2"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        patient_prompts = [
            str(r["messages"][0]["content"])
            for r in server.requests
            if str(r["messages"][0].get("content")).startswith("You are a patient")
        ]
    summary = json.loads((out / "summary.json").read_text())["benchmarks"]["Consult"]["arms"]
    bare = {r["id"]: r for r in lines(out / "Consult" / "bare.jsonl")}
    agent = {r["id"]: r for r in lines(out / "Consult" / "agent.jsonl")}
    first, second = "agentclinic_medqa-1", "agentclinic_medqa-2"
    # Bare: the right name, but without a single question: not accepted.
    assert bare[first]["how"] == "no question asked" and bare[first]["correct"] is False
    assert bare[second]["correct"] is True and bare[second]["metrics"]["questions"] == 1.0
    # Agent: asked, then named; "appendicitis" alone is not "acute appendicitis".
    assert agent[first]["correct"] is True and agent[first]["metrics"]["turns"] == 2.0
    assert agent[first]["extra"]["transcript"][0]["patient"].startswith("Yes, I have had a fever")
    assert agent[second]["correct"] is False
    assert summary["bare"]["score"] == 0.5 and summary["agent"]["score"] == 0.5
    # The patient model saw its case, never the diagnosis.
    assert patient_prompts and all("pneumonia" not in p.lower() for p in patient_prompts)
    assert all("appendicitis" not in p.lower() for p in patient_prompts)


def test_a_failed_request_is_an_error_then_retried(data: Path, tmp_path: Path) -> None:
    """HTTP 500 on one item: recorded as that item's error (counted wrong, listed under
    errors), the others scored; the re-run asks for that item only."""
    from tests.openai_server import serving

    out = tmp_path / "errors"
    args = [
        "eval",
        "MedQA_USMLE",
        "--data",
        str(data),
        "--out",
        str(out),
        "--arms",
        "bare",
        "--concurrency",
        "1",
    ]
    oom = {"status": 500, "error": "CUDA out of memory"}
    first = [  # the client retries a 500 once
        {"content": "A"},
        oom,
        oom,
        {"content": "C"},
        {"content": "D"},
    ]
    with serving(first) as server:
        assert CliRunner().invoke(app, [*args, "--base-url", server.base_url]).exit_code == 0
    bare = json.loads((out / "summary.json").read_text())["benchmarks"]["MedQA_USMLE"]["arms"][
        "bare"
    ]
    assert (
        bare["errors"] == 1
        and bare["categories"] == {"right": 3, "error": 1}
        and bare["score"] == 0.75
    )
    failed = read_records(out / "MedQA_USMLE" / "bare.jsonl")["1"]
    assert "500" in failed["error"] and "CUDA out of memory" in failed["error"]
    with serving([{"content": "B"}]) as server:
        assert CliRunner().invoke(app, [*args, "--base-url", server.base_url]).exit_code == 0
        assert len(server.requests) == 1 and "crushing chest pain" in str(
            server.requests[0]["messages"]
        )
    bare = json.loads((out / "summary.json").read_text())["benchmarks"]["MedQA_USMLE"]["arms"][
        "bare"
    ]
    assert bare["errors"] == 0 and bare["score"] == 1.0
    # The dataset changes under the same --out: the changed item is asked again, not reused.
    path = data / "MedQA_USMLE" / "phrases_no_exclude_test.jsonl"
    path.write_text(path.read_text().replace("neck stiffness", "neck stiffness and a rash"))
    with serving([{"content": "A"}]) as server:
        assert CliRunner().invoke(app, [*args, "--base-url", server.base_url]).exit_code == 0
        assert len(server.requests) == 1 and "and a rash" in str(server.requests[0]["messages"])
