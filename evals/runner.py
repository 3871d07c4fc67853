"""Running items through an arm concurrently, one JSON line per item, resumable.

Records go to ``OUT/<benchmark>/<arm>.jsonl`` as each item finishes (one ``write`` of a
whole line, flushed), so an interrupted run loses at most the items in flight. A re-run
reads that file and skips every item already scored from the same prompt and answer;
items whose arm failed (``error``) or whose data changed are tried again, and a torn last
line is ignored.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from evals import prompts, scoring
from evals.arms import Judge, Reply
from evals.grading import category, grade
from evals.items import Item

log = logging.getLogger(__name__)


class Arm(Protocol):
    name: str

    async def answer(self, item: Item, slot: int) -> Reply: ...

    async def close(self) -> None: ...


class Progress(Protocol):
    def advance(self, n: int = 1) -> None: ...


def records_path(out: Path, benchmark: str, arm: str) -> Path:
    return out / benchmark / f"{arm}.jsonl"


def read_records(path: Path) -> dict[str, dict[str, Any]]:
    """The records already written, by item id (the last line for an id wins)."""
    found: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return found
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:  # a line torn by an interrupted run
                continue
            if isinstance(record, dict) and "id" in record:
                found[str(record["id"])] = record
    return found


def _same_item(record: dict[str, Any], item: Item) -> bool:
    """A record counts for an item only if it was made from the same prompt and answer: a
    changed dataset (or prompt) is scored again, never mixed with old replies."""
    return record.get("prompt") == item.prompt and record.get("answer") == item.answer


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, 2)
        return handle.read(1) == b"\n"


async def _judge(judge: Judge, item: Item, reply: str) -> dict[str, Any]:
    """Open questions only; a closed one keeps its rule-based score (MedEvalKit sends every
    SLAKE question to the judge and counts closed ones twice)."""
    raw = await judge.verdict(prompts.judge_messages(item.question, reply, item.answer))
    return {"verdict": scoring.judge_verdict(raw), "raw": raw[-400:]}


async def run_one(item: Item, arm: Arm, slot: int, judge: Judge | None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": item.id,
        "benchmark": item.benchmark,
        "arm": arm.name,
        "kind": item.kind,
        "answer_type": item.meta.get("answer_type"),
        "prompt": item.prompt,
        "images": [str(p) for p in item.images],
        "answer": item.answer,
    }
    try:
        reply = await arm.answer(item, slot)
    except Exception as exc:  # recorded as this item's error and retried on resume
        record.update(error=f"{type(exc).__name__}: {exc}"[:500], correct=None, score=0.0)
        record["category"] = category(record)
        return record
    record.update(
        reply=reply.text,
        latency_s=round(reply.latency_s, 4),
        tokens={"prompt": reply.prompt_tokens, "completion": reply.completion_tokens},
        tool_calls=reply.tool_calls,
        citations=reply.citations,
        extra=reply.extra,
        error=None,
    )
    record.update(grade(item, reply.text, reply.extra))
    if judge is not None and item.kind == "open":
        try:
            record["judge"] = await _judge(judge, item, record["parsed"])
        except Exception as exc:  # the judge's failure is the judge's, not the item's
            record["judge"] = {"verdict": None, "error": f"{type(exc).__name__}: {exc}"[:300]}
        if record["judge"]["verdict"] is not None:
            record["correct"] = record["judge"]["verdict"]
            record["score"] = float(record["correct"])
    record["category"] = category(record)
    return record


async def run_arm(
    items: Sequence[Item],
    arm: Arm,
    out: Path,
    *,
    concurrency: int,
    judge: Judge | None = None,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Every item through ``arm``, ``concurrency`` at a time; returns the records of
    ``items`` (earlier runs' and this run's), in item order."""
    path = records_path(out, items[0].benchmark, arm.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    current = {item.id: item for item in items}
    done = {
        i: r
        for i, r in read_records(path).items()
        if not r.get("error") and i in current and _same_item(r, current[i])
    }
    if progress is not None:
        progress.advance(sum(1 for item in items if item.id in done))
    todo = [item for item in items if item.id not in done]
    gate = asyncio.Semaphore(max(1, concurrency))

    with path.open("a", encoding="utf-8") as sink:
        if path.stat().st_size and not _ends_with_newline(path):
            sink.write("\n")  # a line torn by an interrupted run stays apart from the next

        async def one(slot: int, item: Item) -> None:
            async with gate:
                record = await run_one(item, arm, slot, judge)
            record["finished_at"] = time.time()
            sink.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            sink.flush()
            done[item.id] = record
            if progress is not None:
                progress.advance()

        await asyncio.gather(*(one(slot, item) for slot, item in enumerate(todo)))
    failed = [item.id for item in todo if done[item.id].get("error")]
    if failed:
        log.warning(
            "%s/%s: %d items failed (re-run to retry)", items[0].benchmark, arm.name, len(failed)
        )
    return [done[item.id] for item in items]
