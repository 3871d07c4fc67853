"""Client CPU of one model call, with and without the turn deadline and the reply cap.

One OpenAI-wire model server (testing/model_server.py, uvicorn in this process,
no delay) answers; the client calls it N times in each way: ``acall_model`` (the
service's plain turns: the SDK's ``post`` over its aiohttp client, deadline as an asyncio
timeout) and ``call_model``
(CLI and SSE turns: the deadline adds a worker-thread hop). For the choice issue 16
asks about, the same async call through the stock ``ChatOpenAI`` (public API only), with
the SDK's default transport and with the SDK's public aiohttp client. CPU time of the
process per call (server included, the same in every row), median of R runs. Prints
one JSON line.

    .venv/bin/python benchmarks/model_call_cpu.py [--calls 300] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import openai
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI

from agent.models.calling import acall_model, call_model
from agent.models.openai_backend import LingshuChatOpenAI
from testing.model_server import DelayedModelServer

MESSAGES = [SystemMessage("You are Lingshu. " * 200), HumanMessage("Chest pain since 8 am.")]


def _bounds(bounded: bool) -> dict[str, Any]:
    if not bounded:
        return {}
    return {"deadline": time.monotonic() + 600, "max_reply_chars": 4096}


def _sync(model: LingshuChatOpenAI, calls: int, bounded: bool) -> float:
    for _ in range(10):
        call_model(model, MESSAGES, **_bounds(bounded))
    start = time.process_time()
    for _ in range(calls):
        call_model(model, MESSAGES, **_bounds(bounded))
    return (time.process_time() - start) / calls * 1000


def _async(model: Any, calls: int, bounded: bool) -> float:
    async def run() -> float:
        try:
            for _ in range(10):
                await acall_model(model, MESSAGES, **_bounds(bounded))
            start = time.process_time()
            for _ in range(calls):
                await acall_model(model, MESSAGES, **_bounds(bounded))
            return (time.process_time() - start) / calls * 1000
        finally:
            if isinstance(model, LingshuChatOpenAI):
                await model.aclose_loop_client()

    return asyncio.run(run())


def _stock(base_url: str, aiohttp: bool) -> Callable[[Any, int, bool], float]:
    """A stock ChatOpenAI made inside the run's event loop (its client belongs to it)."""

    def way(_: Any, calls: int, bounded: bool) -> float:
        async def run() -> float:
            http = openai.DefaultAioHttpClient() if aiohttp else openai.DefaultAsyncHttpxClient()
            model = ChatOpenAI(
                base_url=base_url, api_key="sk", model="m", max_retries=0, http_async_client=http
            )
            for _ in range(10):
                await acall_model(model, MESSAGES, **_bounds(bounded))
            start = time.process_time()
            for _ in range(calls):
                await acall_model(model, MESSAGES, **_bounds(bounded))
            spent = (time.process_time() - start) / calls * 1000
            await http.aclose()
            return spent

        return asyncio.run(run())

    return way


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[float]] = {}
    with DelayedModelServer(lambda _: "The answer.", 0.0) as server:
        ways: dict[str, tuple[Callable[[Any, int, bool], float], bool]] = {
            "async_unbounded": (_async, False),
            "async_deadline_and_cap": (_async, True),
            "sync_unbounded": (_sync, False),
            "sync_deadline_and_cap": (_sync, True),
            "stock_chatopenai_async_deadline": (_stock(server.base_url, False), True),
            "stock_chatopenai_aiohttp_deadline": (_stock(server.base_url, True), True),
        }
        results = {name: [] for name in ways}
        model = LingshuChatOpenAI(
            base_url=server.base_url, api_key="sk", model="m", max_retries=0, max_reply_chars=4096
        )
        for _ in range(args.repeats):
            for name, (way, bounded) in ways.items():
                results[name].append(round(way(model, args.calls, bounded), 3))
    record = {
        "benchmark": "model_call_cpu",
        "calls": args.calls,
        "repeats": args.repeats,
        "cpu_ms_per_call": {
            k: {"runs": v, "median": statistics.median(v)} for k, v in results.items()
        },
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    print(json.dumps(record))


if __name__ == "__main__":
    main()
