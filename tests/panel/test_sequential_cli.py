"""``lingshu chat --mode sequential`` end to end: the real CLI, the real graph and session
store, a scripted model behind the loopback OpenAI-compatible server, the shipped prices."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PIL import Image
from typer.testing import CliRunner

from agent.cli import app
from agent.session import Lingshu
from agent.settings import Settings
from testing.openai_server import serving


def dx(name: str, code: str, p: float, step: str, kind: str = "test") -> dict[str, Any]:
    return {
        "name": name,
        "icd10": code,
        "likelihood": p,
        "supporting": [{"text": "The radiograph shown", "evidence": ["I1"]}],
        "against": [],
        "next_steps": [{"action": step, "kind": kind, "why": "separates", "evidence": ["I1"]}],
    }


def reply(*diagnoses: dict[str, Any]) -> dict[str, str]:
    body = {"summary": "chest pain", "red_flags": [], "diagnoses": list(diagnoses), "missing": []}
    return {"content": f"```json\n{json.dumps(body)}\n```"}


CHALLENGE = {
    "content": json.dumps(
        {
            "alternative": "Pulmonary embolism",
            "icd10": "I26.99",
            "argument": "Tachycardia fits an embolus as well.",
            "falsifying_test": "D-dimer",
        }
    )
}


def test_chat_in_sequential_mode_keeps_the_differential_and_totals_the_cost(
    tmp_path: Path,
) -> None:
    image = tmp_path / "chest.png"
    Image.new("L", (64, 64), 90).save(image)
    replies = [
        reply(
            dx("Acute coronary syndrome", "I24.9", 0.6, "troponin"),
            dx("Pulmonary embolism", "I26.99", 0.3, "D-dimer"),
        ),
        CHALLENGE,
        reply(
            dx("Acute coronary syndrome", "I24.9", 0.8, "troponin"),
            dx("Pulmonary embolism", "I26.99", 0.1, "chest x-ray", "imaging"),
        ),
        CHALLENGE,
    ]
    data = tmp_path / "data"
    lines = [f"/image {image}", "Chest pain and tachycardia. Differential?", "/session"]
    lines += ["Troponin is back, rising. Update?", "/quit"]
    with serving(replies) as model:
        run = CliRunner().invoke(
            app,
            ["chat", "--mode", "sequential", "--base-url", model.base_url, "--data-dir", str(data)],
            input="\n".join(lines) + "\n",
        )
    assert run.exit_code == 0, run.output
    out = " ".join(run.stdout.split())
    assert "Panel (turn 1)" in out and "Panel (turn 2)" in out
    assert "0.60 -> 0.80" in out  # the kept differential, updated in turn 2
    # the shipped CMS prices: D-dimer (85379) proposed in turn 1, spent by turn 2
    assert "Tests so far: $0.00; proposed next: D-dimer ($10.18)." in out
    assert "Tests so far: $10.18; proposed next: troponin ($12.47)." in out
    session = out.split("session: ")[1].split()[0]
    state = Lingshu(Settings(data_dir=data)).state(session)
    assert [h["probability"] for h in state["hypotheses"]] == [0.8, 0.1]
    assert sum(e["tool"] == "panel:challenger" for e in state["audit"]) == 2
