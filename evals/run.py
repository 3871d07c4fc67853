"""A whole evaluation: load every benchmark, run each arm, write the summary and the page.

Output folder::

    OUT/run.json                    what was asked (benchmarks, arms, model, endpoints)
    OUT/<benchmark>/<arm>.jsonl     one record per item (see evals.runner)
    OUT/summary.json                per benchmark and arm, and the paired difference
    OUT/index.html                  the plots
    OUT/.cache/                     images unpacked from Parquet files
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.settings import Settings
from evals.arms import AgentArm, BareArm, Judge, LocalBareArm, SequentialArm
from evals.benchmarks import find, load_items
from evals.consult import PatientModel
from evals.items import Item
from evals.page import write_page
from evals.runner import Arm, Progress, run_arm
from evals.summary import summarize

ARMS = ("bare", "agent", "sequential")


@dataclass
class EvalConfig:
    benchmarks: list[str]
    data: Path
    out: Path
    arms: list[str] = field(default_factory=lambda: ["bare", "agent"])
    limit: int | None = None
    concurrency: int = 64
    base_urls: list[str] = field(default_factory=list)
    judge_url: str | None = None
    judge_model: str | None = None
    patient_url: str | None = None
    patient_model: str | None = None
    meteor: bool = True

    def __post_init__(self) -> None:
        unknown = [a for a in self.arms if a not in ARMS]
        if unknown or not self.arms:
            raise ValueError(
                f"arms must be among {', '.join(ARMS)}; got {', '.join(self.arms) or 'none'}"
            )
        if bool(self.judge_url) != bool(self.judge_model):
            raise ValueError("--judge-url and --judge-model go together")
        if self.concurrency < 1:
            raise ValueError("--concurrency must be at least 1")
        if self.limit is not None and self.limit < 1:
            raise ValueError("--limit must be at least 1")
        self.benchmarks = [find(b).name for b in self.benchmarks]


def load_all(config: EvalConfig) -> dict[str, list[Item]]:
    """Every benchmark's items, before any model time is spent (a bad folder fails first)."""
    cache = config.out / ".cache"
    return {b: load_items(b, config.data, cache, config.limit) for b in config.benchmarks}


def make_arm(
    name: str, settings: Settings, base_urls: list[str], patient: PatientModel | None
) -> Arm:
    if name == "bare" and settings.backend == "transformers":
        return LocalBareArm(settings)
    if name == "bare":
        return BareArm(settings, base_urls, patient)
    if name == "sequential":
        return SequentialArm(settings, base_urls, patient)
    return AgentArm(settings, base_urls, patient)


class _Task:
    def __init__(self, progress: Any, task: Any) -> None:
        self.progress, self.task = progress, task

    def advance(self, n: int = 1) -> None:
        self.progress.advance(self.task, n)


async def evaluate(
    config: EvalConfig, settings: Settings, *, progress: Any = None
) -> dict[str, Any]:
    """Run the evaluation; ``progress`` is a started ``rich.progress.Progress`` or None."""
    items = load_all(config)
    base_urls = config.base_urls or [settings.base_url]
    config.out.mkdir(parents=True, exist_ok=True)
    _write_json(
        config.out / "run.json",
        {
            **asdict(config),
            "model": settings.model,
            "base_urls": base_urls,
            "items": {b: len(v) for b, v in items.items()},
            "started_at": time.time(),
        },
    )
    judge = (
        Judge(settings, config.judge_url, config.judge_model)
        if config.judge_url and config.judge_model
        else None
    )
    records: dict[str, dict[str, list[dict[str, Any]]]] = {b: {} for b in items}
    patient = None
    if any(i.kind == "consult" for batch in items.values() for i in batch):
        patient = PatientModel(
            config.patient_url or base_urls[0], config.patient_model or settings.model
        )
    try:
        for arm_name in config.arms:
            await _run_one_arm(
                arm_name, items, records, config, settings, base_urls, patient, judge, progress
            )
    finally:
        if judge is not None:
            await judge.close()
        if patient is not None:
            await patient.close()
    summary = summarize(records, meteor=config.meteor)
    summary["model"] = settings.model
    _write_json(config.out / "summary.json", summary)
    write_page(config.out / "index.html", summary, records, title=f"lingshu eval: {settings.model}")
    return summary


async def _run_one_arm(
    arm_name: str,
    items: dict[str, list[Any]],
    records: dict[str, dict[str, list[dict[str, Any]]]],
    config: EvalConfig,
    settings: Settings,
    base_urls: list[str],
    patient: PatientModel | None,
    judge: Judge | None,
    progress: Any,
) -> None:
    """Every benchmark's items through one arm; its records go into ``records``."""
    arm = make_arm(arm_name, settings, base_urls, patient)
    try:
        for bench, bench_items in items.items():
            bar: Progress | None = None
            if progress is not None:
                bar = _Task(
                    progress,
                    progress.add_task(f"{bench} / {arm_name}", total=len(bench_items)),
                )
            records[bench][arm_name] = await run_arm(
                bench_items,
                arm,
                config.out,
                concurrency=1 if settings.backend == "transformers" else config.concurrency,
                judge=judge,
                progress=bar,
            )
    finally:
        await arm.close()


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_suffix(".json.part")
    tmp.write_text(json.dumps(payload, indent=1, default=str), encoding="utf-8")
    tmp.replace(path)
