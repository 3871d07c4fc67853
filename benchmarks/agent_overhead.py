"""Framework time per tool round: lingshu's graph vs LangChain's own agent loop.

Both run the same zero-latency scripted model and the same no-op tool, with the
same in-memory checkpointer; lingshu also parses, validates, audits and verifies
citations. Lingshu is timed in both tool-calling modes: ``prompted`` (the default: the
model writes ``<tool_call>`` text and lingshu's parser reads it) and ``native``
(``tool_calls`` on the message). LangChain's loop has native calls only, so it is the
baseline of both ratios. Every run is timed on two clocks: wall clock (median over
repeats) and process CPU time (``time.process_time``, minimum over repeats). The CPU
figure is the one to judge the ratio by on a shared machine: other processes add
little to it, while they add waits to the wall clock. Sides run interleaved. Prints one
JSON line.

    .venv/bin/python benchmarks/agent_overhead.py [--rounds 20] [--repeats 15]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

from agent.checkpoints import open_sqlite_checkpointer
from agent.graph import build_graph
from agent.resources import Resources
from agent.settings import Settings
from knowledge.imaging import ImageStore
from testing.fakes import ScriptedChatModel, call


@tool
def noop(value: int) -> str:
    """Do nothing and say so.

    Args:
        value: Any number.
    """
    return "ok"


def script(rounds: int, mode: str = "native") -> list[AIMessage]:
    """``rounds`` replies that each call ``noop`` once, then the answer."""
    if mode == "prompted":
        calls = [AIMessage(content=call("noop", value=i)) for i in range(rounds)]
    else:
        calls = [
            AIMessage(
                content="",
                tool_calls=[
                    {"name": "noop", "args": {"value": i}, "id": f"c{i}", "type": "tool_call"}
                ],
            )
            for i in range(rounds)
        ]
    return [*calls, AIMessage(content="All rounds done.")]


Timing = tuple[float, float]  # (wall seconds, CPU seconds) per round


def _per_round(t0: float, c0: float, rounds: int) -> Timing:
    return (time.perf_counter() - t0) / rounds, (time.process_time() - c0) / rounds


def time_ours(
    rounds: int, repeats: int, checkpointer: Any, tmp: Path, mode: str = "prompted"
) -> list[Timing]:
    settings = Settings(data_dir=tmp, max_tool_rounds=rounds + 1, tool_calling=mode)
    model = ScriptedChatModel()
    resources = Resources(images=ImageStore(tmp / "images"))
    graph = build_graph(
        settings, model=model, checkpointer=checkpointer, tools=[noop], resources=resources
    )
    per_round = []
    for r in range(repeats):
        model.script = list(script(rounds, mode))
        config = {"configurable": {"thread_id": f"ours-{mode}-{r}"}}
        t0, c0 = time.perf_counter(), time.process_time()
        out = graph.invoke({"messages": [HumanMessage("go")]}, config, durability="sync")
        per_round.append(_per_round(t0, c0, rounds))
        assert out["answer"]["text"] == "All rounds done.", out["answer"]
        assert len(model.prompts) == (r + 1) * (rounds + 1), "a round was not a tool round"
    return per_round


def time_theirs(rounds: int, repeats: int) -> tuple[list[Timing], str]:
    try:
        from langchain.agents import create_agent

        name = "langchain.agents.create_agent"
    except ImportError:  # older installs
        from langgraph.prebuilt import create_react_agent as create_agent  # type: ignore[no-redef]

        name = "langgraph.prebuilt.create_react_agent"
    model = ScriptedChatModel()
    agent = create_agent(model, tools=[noop], checkpointer=InMemorySaver())
    per_round = []
    for r in range(repeats):
        model.script = list(script(rounds))
        config = {"configurable": {"thread_id": f"theirs-{r}"}, "recursion_limit": 4 * rounds + 10}
        t0, c0 = time.perf_counter(), time.process_time()
        out = agent.invoke({"messages": [HumanMessage("go")]}, config, durability="sync")
        per_round.append(_per_round(t0, c0, rounds))
        assert out["messages"][-1].content == "All rounds done."
    return per_round, name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        # Warm-up of every path (imports, first compile), not timed.
        for mode in MODES:
            time_ours(2, 1, InMemorySaver(), tmp, mode)
        time_theirs(2, 1)
        # Interleaved, so that load from other processes hits every side alike.
        ours: dict[str, list[Timing]] = {mode: [] for mode in MODES}
        theirs: list[Timing] = []
        name = ""
        for _ in range(args.repeats):
            for mode in MODES:
                ours[mode] += time_ours(args.rounds, 1, InMemorySaver(), tmp, mode)
            more, name = time_theirs(args.rounds, 1)
            theirs += more
        sqlite = time_ours(
            args.rounds, args.repeats, open_sqlite_checkpointer(tmp / "bench.sqlite"), tmp
        )
    print(json.dumps(_result(args, ours, theirs, name, sqlite)))


MODES = ("prompted", "native")


def _wall_ms(times: list[Timing]) -> float:
    return statistics.median(t[0] for t in times) * 1000


def _cpu_ms(times: list[Timing]) -> float:
    return min(t[1] for t in times) * 1000


def _result(
    args: Any, ours: dict[str, list[Timing]], theirs: list[Timing], name: str, sqlite: list[Timing]
) -> dict[str, Any]:
    theirs_ms, theirs_cpu = _wall_ms(theirs), _cpu_ms(theirs)
    modes = {}
    for mode, times in ours.items():
        ms, cpu = _wall_ms(times), _cpu_ms(times)
        modes[mode] = {
            "ours_ms_per_round": round(ms, 3),
            "ratio": round(ms / theirs_ms, 3),
            "ours_cpu_ms_per_round": round(cpu, 3),
            "cpu_ratio": round(cpu / theirs_cpu, 3),
        }
    return {
        "benchmark": "agent_overhead",
        "rounds": args.rounds,
        "repeats": args.repeats,
        "theirs_ms_per_round": round(theirs_ms, 3),
        "theirs_cpu_ms_per_round": round(theirs_cpu, 3),
        "theirs": name,
        "modes": modes,
        "cpu_ratio_prompted": modes["prompted"]["cpu_ratio"],
        "cpu_ratio_native": modes["native"]["cpu_ratio"],
        "ratio_prompted": modes["prompted"]["ratio"],
        "ratio_native": modes["native"]["ratio"],
        "ours_sqlite_sync_prompted_ms_per_round": round(_wall_ms(sqlite), 3),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


if __name__ == "__main__":
    main()
