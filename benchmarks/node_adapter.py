"""What a graph node's adapter costs per step: the one in agent/nodes vs the alternatives.

A node of the consultation graph is a pair of plain functions (sync and async) that
``agent.nodes.common.Node`` hands LangGraph as one public ``Runnable``. This times a
two-node loop of 200 steps with three adapters over the same bodies, interleaved, under
``invoke`` and under ``stream(["updates", "messages"])`` (what the CLI and service use):

- ``Node``: the project's adapter (a ``langchain_core.runnables.Runnable`` subclass);
- ``RunnableLambda(func, afunc)``: public, but opens a callback run per call;
- ``RunnableCallable(trace=False)``: LangGraph's private class the graph used before
  (left out when it can no longer be imported).

The minimum over repeats is reported (the machine is shared; the minimum is the run
least disturbed). Prints one JSON line.

    .venv/bin/python benchmarks/node_adapter.py [--repeats 30]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from langchain_core.runnables import Runnable, RunnableLambda
from langgraph.graph import END, START, StateGraph

from agent.nodes.common import Node, NodeSpec

STEPS = 200


class Count(TypedDict):
    n: int


def body(state: Any, deps: Any) -> dict[str, int]:
    return {"n": state["n"] + 1}


async def abody(state: Any, deps: Any) -> dict[str, int]:
    return {"n": state["n"] + 1}


def adapters() -> dict[str, Callable[[str], Runnable]]:
    made: dict[str, Callable[[str], Runnable]] = {
        "node": lambda name: Node(NodeSpec(name, body, abody), deps=None),  # type: ignore[arg-type]
        "runnable_lambda": lambda name: RunnableLambda(
            lambda s: body(s, None), afunc=lambda s: abody(s, None), name=name
        ),
    }
    try:  # the private class the graph used before issue 16 (for comparison only)
        from langgraph._internal._runnable import RunnableCallable

        made["private_runnable_callable"] = lambda name: RunnableCallable(
            lambda s: body(s, None), lambda s: abody(s, None), name=name, trace=False
        )
    except ImportError:
        pass
    return made


def loop(make: Callable[[str], Runnable]) -> Any:
    builder = StateGraph(Count)
    builder.add_node("a", make("a"))
    builder.add_node("b", make("b"))
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_conditional_edges("b", lambda s: END if s["n"] >= STEPS else "a")
    return builder.compile()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    graphs = {name: loop(make) for name, make in adapters().items()}
    best: dict[str, dict[str, float]] = {n: {"invoke": 1e9, "stream": 1e9} for n in graphs}
    for _ in range(args.repeats):
        for name, graph in graphs.items():
            t0 = time.perf_counter()
            graph.invoke({"n": 0})
            t1 = time.perf_counter()
            list(graph.stream({"n": 0}, stream_mode=["updates", "messages"]))
            t2 = time.perf_counter()
            best[name]["invoke"] = min(best[name]["invoke"], (t1 - t0) / STEPS * 1e6)
            best[name]["stream"] = min(best[name]["stream"], (t2 - t1) / STEPS * 1e6)
    out: dict[str, Any] = {"benchmark": "node_adapter", "steps": STEPS, "repeats": args.repeats}
    for name, times in best.items():
        out[f"{name}_invoke_us_per_step"] = round(times["invoke"], 1)
        out[f"{name}_stream_us_per_step"] = round(times["stream"], 1)
    out["python"] = platform.python_version()
    out["machine"] = f"{platform.machine()}, {__import__('os').cpu_count()} cores"
    print(json.dumps(out))


if __name__ == "__main__":
    main()
