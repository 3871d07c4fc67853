"""``lingshu eval --backend transformers``: the bare arm in-process, on the tiny random-weight
Qwen2.5-VL (real processor, real image preprocessing, real generate). Its replies are noise;
what must hold is that every item gets a reply, tokens and a score, image items included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from evals.runner import read_records
from testing.tiny import TINY_MAX_PIXELS, TINY_MIN_PIXELS, build_tiny_qwen
from tests.evals import datasets


def test_bare_arm_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tiny = build_tiny_qwen(tmp_path / "tiny-qwen")
    for key, value in {"MAX_NEW_TOKENS": "16", "DEVICE": "cpu", "MIN_PIXELS": str(TINY_MIN_PIXELS),
                       "MAX_PIXELS": str(TINY_MAX_PIXELS)}.items():  # fmt: skip
        monkeypatch.setenv(f"LINGSHU_{key}", value)
    datasets.vqa_rad(tmp_path / "data")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["eval", "VQA_RAD", "--data", str(tmp_path / "data"), "--out", str(out), "--arms", "bare",
         "--backend", "transformers", "--model", str(tiny), "--limit", "2"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    records = read_records(out / "VQA_RAD" / "bare.jsonl")
    assert sorted(records) == ["0", "1"]
    for record in records.values():
        assert record["error"] is None, record["error"]
        assert 0 < record["tokens"]["completion"] <= 16 and record["tokens"]["prompt"] > 10
        assert record["category"] in ("right", "wrong", "unparsed")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["benchmarks"]["VQA_RAD"]["arms"]["bare"]["n"] == 2
