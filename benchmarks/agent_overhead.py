"""Framework time per tool round: lingshu's graph vs LangChain's own agent loop.

Both run the same zero-latency scripted model and the same no-op tool, with the
same in-memory checkpointer; lingshu also parses, validates, audits and verifies
citations. Prints one JSON line.

    .venv/bin/python benchmarks/agent_overhead.py [--rounds 20] [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
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
from tests.fakes import ScriptedChatModel


@tool
def noop(value: int) -> str:
    """Do nothing and say so.

    Args:
        value: Any number.
    """
    return "ok"


def script(rounds: int) -> list[AIMessage]:
    calls = [
        AIMessage(
            content="",
            tool_calls=[{"name": "noop", "args": {"value": i}, "id": f"c{i}", "type": "tool_call"}],
        )
        for i in range(rounds)
    ]
    return [*calls, AIMessage(content="All rounds done.")]


def time_ours(rounds: int, repeats: int, checkpointer: Any, tmp: Path) -> list[float]:
    settings = Settings(data_dir=tmp, max_tool_rounds=rounds + 1)
    model = ScriptedChatModel()
    resources = Resources(images=ImageStore(tmp / "images"))
    graph = build_graph(
        settings, model=model, checkpointer=checkpointer, tools=[noop], resources=resources
    )
    per_round = []
    for r in range(repeats):
        model.script = list(script(rounds))
        config = {"configurable": {"thread_id": f"ours-{r}"}}
        t0 = time.perf_counter()
        out = graph.invoke({"messages": [HumanMessage("go")]}, config, durability="sync")
        per_round.append((time.perf_counter() - t0) / rounds)
        assert out["answer"]["text"] == "All rounds done.", out["answer"]
    return per_round


def time_theirs(rounds: int, repeats: int) -> tuple[list[float], str]:
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
        t0 = time.perf_counter()
        out = agent.invoke({"messages": [HumanMessage("go")]}, config, durability="sync")
        per_round.append((time.perf_counter() - t0) / rounds)
        assert out["messages"][-1].content == "All rounds done."
    return per_round, name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        # Warm-up of both paths (imports, first compile), not timed.
        time_ours(2, 1, InMemorySaver(), tmp)
        time_theirs(2, 1)
        # Interleaved, so that load from other processes hits both sides alike.
        ours, theirs, name = [], [], ""
        for _ in range(args.repeats):
            ours += time_ours(args.rounds, 1, InMemorySaver(), tmp)
            more, name = time_theirs(args.rounds, 1)
            theirs += more
        sqlite = time_ours(
            args.rounds, args.repeats, open_sqlite_checkpointer(tmp / "bench.sqlite"), tmp
        )
    ours_ms = statistics.median(ours) * 1000
    theirs_ms = statistics.median(theirs) * 1000
    print(
        json.dumps(
            {
                "benchmark": "agent_overhead",
                "rounds": args.rounds,
                "repeats": args.repeats,
                "ours_ms_per_round": round(ours_ms, 3),
                "theirs_ms_per_round": round(theirs_ms, 3),
                "ratio": round(ours_ms / theirs_ms, 3),
                "theirs": name,
                "ours_sqlite_sync_ms_per_round": round(statistics.median(sqlite) * 1000, 3),
                "python": platform.python_version(),
                "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
            }
        )
    )


if __name__ == "__main__":
    main()
