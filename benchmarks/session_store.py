"""The SQLite session store's own calls, the ones every service request makes.

Sessions of ``--messages`` messages (about 500 characters each) are written with the
store's ``put``; then, on one thread: ``has_thread`` (the service's "does this session
exist"), ``get_tuple`` (the state a turn starts from) and ``put_writes`` (a step's
writes); and 8 threads reading at once (``get_tuple``), as concurrent turns do.
Prints one JSON line; times are means per call in microseconds.

    .venv/bin/python benchmarks/session_store.py [--messages 40] [--calls 2000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from langchain_core.messages import AIMessage, HumanMessage  # noqa: E402
from langgraph.checkpoint.base import empty_checkpoint  # noqa: E402

from agent.checkpoints import open_sqlite_checkpointer  # noqa: E402

SESSIONS = 50


def _config(thread: int) -> Any:
    return {"configurable": {"thread_id": f"t{thread % SESSIONS}", "checkpoint_ns": ""}}


def _mean_us(calls: int, fn: Callable[[int], object]) -> float:
    start = time.perf_counter()
    for i in range(calls):
        fn(i)
    return round((time.perf_counter() - start) / calls * 1e6, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=40)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    saver = open_sqlite_checkpointer(Path(tempfile.mkdtemp()) / "sessions.sqlite")
    messages = [
        HumanMessage("q " * 250) if i % 2 == 0 else AIMessage("a " * 250)
        for i in range(args.messages)
    ]
    saved: Any = None
    for thread in range(SESSIONS):
        checkpoint = empty_checkpoint()
        checkpoint["channel_values"] = {"messages": messages}
        saved = saver.put(_config(thread), checkpoint, {"source": "loop", "step": 1}, {})
    result: dict[str, Any] = {
        "benchmark": "session_store",
        "messages_per_session": args.messages,
        "has_thread_us": _mean_us(args.calls, lambda i: saver.has_thread(f"t{i % SESSIONS}")),
        "get_tuple_us": _mean_us(args.calls, lambda i: saver.get_tuple(_config(i))),
        "put_writes_us": _mean_us(
            args.calls, lambda i: saver.put_writes(saved, [("messages", messages[:2])], f"w{i}")
        ),
    }

    def reader(offset: int) -> None:
        for i in range(300):
            saver.get_tuple(_config(i + offset))

    start = time.perf_counter()
    threads = [threading.Thread(target=reader, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result["threads_8_get_tuple_2400_s"] = round(time.perf_counter() - start, 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
