"""Process CPU time per tool round: lingshu's graph (prompted and native) vs LangChain's
create_agent, the same rounds as ``benchmarks/agent_overhead.py`` (which times wall
clock). CPU time is less disturbed by other processes on a shared machine; the figure
is the minimum over repeats. Prints one JSON line.

    .venv/bin/python benchmarks/agent_round_cpu.py [--rounds 20] [--repeats 15]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from agent_overhead import noop, script
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from agent.graph import build_graph
from agent.resources import Resources
from agent.settings import Settings
from knowledge.imaging import ImageStore
from testing.fakes import ScriptedChatModel


def _best(graph: Any, model: ScriptedChatModel, rounds: int, repeats: int, mode: str) -> float:
    best = float("inf")
    for r in range(repeats):
        model.script = script(rounds, mode)
        config = {"configurable": {"thread_id": f"{mode}-{r}"}, "recursion_limit": 4 * rounds + 10}
        start = time.process_time()
        graph.invoke({"messages": [HumanMessage("go")]}, config, durability="sync")
        best = min(best, (time.process_time() - start) / rounds * 1000)
    return round(best, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    from langchain.agents import create_agent

    cpu: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("prompted", "native"):
            settings = Settings(
                data_dir=Path(tmp), max_tool_rounds=args.rounds + 1, tool_calling=mode
            )
            model = ScriptedChatModel()
            resources = Resources(images=ImageStore(Path(tmp) / "images"))
            graph = build_graph(
                settings,
                model=model,
                checkpointer=InMemorySaver(),
                tools=[noop],
                resources=resources,
            )
            cpu[mode] = _best(graph, model, args.rounds, args.repeats, mode)
        model = ScriptedChatModel()
        agent = create_agent(model, tools=[noop], checkpointer=InMemorySaver())
        cpu["theirs"] = _best(agent, model, args.rounds, args.repeats, "native")
    record = {
        "benchmark": "agent_round_cpu",
        "rounds": args.rounds,
        "repeats": args.repeats,
        "cpu_ms_per_round": cpu,
        "ratio_prompted": round(cpu["prompted"] / cpu["theirs"], 3),
        "ratio_native": round(cpu["native"] / cpu["theirs"], 3),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(record))


if __name__ == "__main__":
    main()
