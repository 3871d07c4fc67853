"""What ``lingshu eval`` adds: the bare arm's items/s against a bare async OpenAI-client loop.

The model is a loopback OpenAI-wire server in its own process that answers every request
after a fixed delay (``--delay-ms``, default 200). Both loops send the same requests for
the same MCQ items (text, MedQA-like) ``--concurrency`` at a time (default 32):

- ``raw``: ``AsyncOpenAI.chat.completions.create`` under a semaphore, nothing else;
- ``bare_arm``: the harness (``evals.runner.run_arm`` with ``BareArm``): the same request,
  plus parsing, scoring and a flushed JSON line per item.

``ratio`` = bare_arm items/s over raw items/s (the issue's target: >= 0.9 at 32), and the
client process's CPU time per item in each loop (what the harness adds, less sensitive
to other load on a shared machine than items/s). Then the
agent arm on ``--agent-items`` items against an in-process delayed server (which counts the
model requests): ``agent_overhead_ms`` = mean item latency minus the model's time for the
requests that item made. Prints one JSON line.

    .venv/bin/python benchmarks/eval_throughput.py [--items 512] [--concurrency 32]
        [--delay-ms 200] [--agent-items 16] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from openai import AsyncOpenAI  # noqa: E402

from agent.settings import Settings  # noqa: E402
from evals.arms import AgentArm, BareArm, user_message  # noqa: E402
from evals.items import Item  # noqa: E402
from evals.prompts import multiple_choice  # noqa: E402
from evals.runner import run_arm  # noqa: E402
from testing.loopback import free_port  # noqa: E402
from testing.model_server import DelayedModelServer  # noqa: E402


class ModelProcess:
    """``python -m testing.model_server`` answering "B" after the delay, until stopped."""

    def __init__(self, delay_ms: float) -> None:
        port = free_port()
        argv = [sys.executable, "-m", "testing.model_server", "--port", str(port)]
        argv += ["--delay-ms", str(delay_ms), "--answer", "B"]
        self.proc = subprocess.Popen(argv, cwd=ROOT)
        self.base_url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 60
        while not self._up():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("the model server did not start")
            time.sleep(0.1)

    def _up(self) -> bool:
        try:
            return httpx.get(self.base_url + "/models", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def items(n: int) -> list[Item]:
    options = {"A": "Chest CT", "B": "ECG", "C": "D-dimer", "D": "Echocardiogram"}
    out = []
    for i in range(n):
        question = f"Case {i}: a 60-year-old with crushing chest pain. First test?"
        prompt = multiple_choice(question, [f"{k}. {v}" for k, v in options.items()])
        out.append(Item("MedQA_USMLE", str(i), "mcq", question, prompt, "B", options=options))
    return out


async def raw_loop(base_url: str, batch: list[Item], concurrency: int, model: str) -> float:
    client = AsyncOpenAI(base_url=base_url, api_key="EMPTY", max_retries=0)
    gate = asyncio.Semaphore(concurrency)

    async def one(item: Item) -> str:
        async with gate:
            response = await client.chat.completions.create(
                model=model, messages=[user_message(item)], temperature=0.0, max_tokens=1536
            )
            return response.choices[0].message.content or ""

    start = time.perf_counter()
    await asyncio.gather(*(one(item) for item in batch))
    elapsed = time.perf_counter() - start
    await client.close()
    return len(batch) / elapsed


async def harness(settings: Settings, batch: list[Item], concurrency: int, out: Path) -> float:
    arm = BareArm(settings, [settings.base_url])
    start = time.perf_counter()
    records = await run_arm(batch, arm, out, concurrency=concurrency)
    elapsed = time.perf_counter() - start
    await arm.close()
    assert all(r["correct"] for r in records), "the model answers B; every item is right"
    return len(batch) / elapsed


async def agent_overhead(n: int, delay_s: float, out: Path) -> dict[str, Any]:
    with DelayedModelServer(lambda _: "An ECG comes first. Answer: B", delay_s) as server:
        settings = Settings(base_url=server.base_url, data_dir=out / "agent-data")
        arm = AgentArm(settings, [server.base_url])
        records = await run_arm(items(n), arm, out, concurrency=4)
        calls = len(server.requests)
    latency = statistics.mean(r["latency_s"] for r in records)
    return {
        "items": n,
        "model_requests_per_item": calls / n,
        "mean_latency_ms": round(latency * 1000, 1),
        "agent_overhead_ms": round((latency - delay_s * calls / n) * 1000, 1),
        "right": sum(1 for r in records if r["correct"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=512)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--delay-ms", type=float, default=200.0)
    parser.add_argument("--agent-items", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    batch = items(args.items)
    model = ModelProcess(args.delay_ms)
    settings = Settings(base_url=model.base_url)
    raw, ours = [], []
    cpu: dict[str, list[float]] = {"raw": [], "bare_arm": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in range(args.repeats):  # alternate the order: load drifts on a shared box
                runs = [
                    (
                        "raw",
                        lambda: raw_loop(model.base_url, batch, args.concurrency, settings.model),
                    ),
                    (
                        "bare_arm",
                        lambda n=n: harness(settings, batch, args.concurrency, Path(tmp) / str(n)),
                    ),
                ]
                for name, run in runs if n % 2 == 0 else runs[::-1]:
                    start = time.process_time()
                    rate = asyncio.run(run())
                    cpu[name].append((time.process_time() - start) / len(batch) * 1000)
                    (raw if name == "raw" else ours).append(rate)
            agent = asyncio.run(
                agent_overhead(args.agent_items, args.delay_ms / 1000, Path(tmp) / "agent")
            )
    finally:
        model.stop()
    result = {
        "benchmark": "eval_throughput",
        "items": args.items,
        "concurrency": args.concurrency,
        "delay_ms": args.delay_ms,
        "raw_items_per_s": [round(x, 1) for x in raw],
        "bare_arm_items_per_s": [round(x, 1) for x in ours],
        "ratio_median": round(statistics.median(o / r for o, r in zip(ours, raw, strict=True)), 3),
        "client_cpu_ms_per_item": {k: round(statistics.median(v), 3) for k, v in cpu.items()},
        "ideal_items_per_s": round(args.concurrency / (args.delay_ms / 1000), 1),
        "agent": agent,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
