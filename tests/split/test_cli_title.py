"""``lingshu consult`` in split mode names the planner on the answer panel, as a process
against two loopback OpenAI-wire servers (a planner and a Lingshu stand-in)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from testing.openai_server import serving
from tests.split.conftest import LINGSHU

ROOT = Path(__file__).resolve().parents[2]
PLANNER = "Qwen/Qwen2.5-7B-Instruct"


def consult(tmp_path: Path, lingshu_url: str, planner_url: str | None) -> str:
    env = {
        **os.environ,
        "LINGSHU_BASE_URL": lingshu_url,
        "LINGSHU_MODEL": LINGSHU,
        "LINGSHU_DATA_DIR": str(tmp_path / "data"),
        "LINGSHU_CONNECT_RETRIES": "0",
        "COLUMNS": "200",
        "PYTHONPATH": str(ROOT),
    }
    if planner_url:
        env |= {"LINGSHU_PLANNER_BASE_URL": planner_url, "LINGSHU_PLANNER_MODEL": PLANNER}
    proc = subprocess.run(
        [sys.executable, "-m", "agent.cli", "consult", "Cough for a week: what first?"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_the_answer_panel_names_the_planner_in_split_mode(tmp_path: Path) -> None:
    answer = {"content": "A chest film first, then sputum culture."}
    with serving([answer], model=PLANNER) as planner, serving([], model=LINGSHU) as lingshu:
        out = consult(tmp_path, lingshu.base_url, planner.base_url)
    assert len(planner.requests) == 1 and lingshu.requests == []  # the planner answered
    title = next(line for line in out.splitlines() if "(planner" in line)
    assert PLANNER in title and "Lingshu reads the images" in title
    assert "A chest film first" in out


def test_with_one_endpoint_the_panel_is_lingshu(tmp_path: Path) -> None:
    with serving([{"content": "A chest film first."}], model=LINGSHU) as lingshu:
        out = consult(tmp_path, lingshu.base_url, None)
    assert any(" Lingshu " in line and line.lstrip().startswith("╭") for line in out.splitlines())
    assert "planner" not in out
