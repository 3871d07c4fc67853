"""Time per tool round: lingshu's runner (agent.acting.run_calls) vs LangGraph's ToolNode.

Both run inside a one-node LangGraph graph, with the same no-op tools taking
``runtime: ToolRuntime[ToolContext, Any]`` and the same context. ToolNode gets the
per-call timeout the act node needs through its public ``wrap_tool_call`` hook
(each call handed to lingshu's tool pool and waited for with a timeout); without
it a hung tool would hold the round. Prints one JSON line.

    .venv/bin/python benchmarks/tool_runner.py [--rounds 300] [--calls 3] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, TypedDict

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from langchain_core.messages import AIMessage, AnyMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, StateGraph
from langgraph.prebuilt import ToolNode, ToolRuntime
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.runtime import Runtime

from agent.acting import run_calls, tool_pool
from tools.evidence import EvidenceLedger
from tools.runtime import ToolContext


@tool
def noop(value: int, runtime: ToolRuntime[ToolContext, Any]) -> str:
    """Do nothing and say so.

    Args:
        value: Any number.
    """
    return f"ok {value} {runtime.context.patient_id}"


class State(TypedDict):
    messages: list[AnyMessage]


def _calls(n: int) -> AIMessage:
    calls = [
        {"name": "noop", "args": {"value": i}, "id": f"c{i}", "type": "tool_call"} for i in range(n)
    ]
    return AIMessage(content="", tool_calls=calls)


def ours(pool: ThreadPoolExecutor) -> Any:
    def act(state: State, runtime: Runtime[ToolContext]) -> dict[str, Any]:
        call_msg = state["messages"][-1]
        assert isinstance(call_msg, AIMessage)
        outcomes = run_calls(
            call_msg.tool_calls, {"noop": noop}, runtime.context, timeout_s=30, turn=1, pool=pool
        )
        return {"messages": [o.message for o in outcomes]}

    graph = StateGraph(State, context_schema=ToolContext)
    graph.add_node("act", act)
    graph.add_edge(START, "act")
    graph.add_edge("act", END)
    return graph.compile()


def toolnode(pool: ThreadPoolExecutor) -> Any:
    def timed(request: ToolCallRequest, execute: Any) -> ToolMessage:
        future = pool.submit(execute, request)
        try:
            result: ToolMessage = future.result(timeout=30)
        except FutureTimeout:
            call = request.tool_call
            return ToolMessage(f"Error: {call['name']} timed out", tool_call_id=call["id"])
        return result

    graph = StateGraph(State, context_schema=ToolContext)
    graph.add_node("act", ToolNode([noop], wrap_tool_call=timed))
    graph.add_edge(START, "act")
    graph.add_edge("act", END)
    return graph.compile()


def time_rounds(graph: Any, rounds: int, calls: int) -> float:
    """Milliseconds per round, ``calls`` tool calls each."""
    message = _calls(calls)
    ctx = ToolContext(ledger=EvidenceLedger(), patient_id="p1")
    out = graph.invoke({"messages": [message]}, context=ctx)
    assert out["messages"][-1].text.startswith("ok"), out
    t0 = time.perf_counter()
    for _ in range(rounds):
        graph.invoke({"messages": [message]}, context=ctx)
    return (time.perf_counter() - t0) * 1000 / rounds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    pool = tool_pool()
    graphs = {"run_calls": ours(pool), "toolnode": toolnode(pool)}
    samples: dict[str, list[float]] = {name: [] for name in graphs}
    for _ in range(args.repeats):  # interleaved, so load drifts hit both alike
        for name, graph in graphs.items():
            samples[name].append(time_rounds(graph, args.rounds, args.calls))
    median = {name: statistics.median(s) for name, s in samples.items()}
    print(
        json.dumps(
            {
                "benchmark": "tool_runner",
                "calls_per_round": args.calls,
                "rounds": args.rounds,
                "repeats": args.repeats,
                "ms_per_round_median": {k: round(v, 3) for k, v in median.items()},
                "ms_per_round_all": {k: [round(x, 3) for x in v] for k, v in samples.items()},
                "toolnode_over_run_calls": round(median["toolnode"] / median["run_calls"], 3),
                "python": platform.python_version(),
            }
        )
    )


if __name__ == "__main__":
    main()
