"""Framework time of one sequential-diagnosis panel round, and the challenger's prompt size.

All five roles (keeper, chooser, challenger, stewardship, checklist) run over a scripted
three-turn chest-pain case with a zero-latency scripted challenger model, so the time is
the panel's own work (merging, scoring candidates, parsing, ICD-10 checks). Then whole
turns through the graph (``Lingshu.ask``, SQLite session store, a zero-latency scripted
model answering one verified differential): a default (clinical) turn against the same
turn in sequential mode, where verify routes through the five panel nodes. Prints one
JSON line.

    .venv/bin/python benchmarks/panel_round.py [--repeats 50] [--turns 30]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.panel import PanelContext, run_round
from agent.panel.challenger import challenge_prompt
from agent.panel.context import leader
from agent.session import Lingshu
from agent.settings import Settings
from knowledge.costs import load_table
from testing.fakes import ScriptedChatModel
from testing.panel import dx, turn_state

REPLY = json.dumps(
    {"alternative": "Pulmonary embolism", "argument": "fits", "falsifying_test": "CTPA"}
)
TURNS = [
    turn_state(
        1,
        dx("NSTEMI", "I21.4", 0.45, (("troponin", "test"), ("ECG", "test"))),
        dx("Pulmonary embolism", "I26.99", 0.3, (("D-dimer", "test"), ("CTPA", "imaging"))),
        dx("Pericarditis", "I30.9", 0.15, (("echo", "imaging"),)),
        missing=("onset and character of the pain",),
    ),
    turn_state(
        2,
        dx("NSTEMI", "I21.4", 0.3, (("troponin", "test"),), against=1),
        dx("Pulmonary embolism", "I26.99", 0.55, (("CTPA", "imaging"),)),
        dx("Pericarditis", "I30.9", 0.1, (("echo", "imaging"),)),
    ),
    turn_state(
        3,
        dx("Pulmonary embolism", "I26.99", 0.85, (("CTPA", "imaging"),)),
        dx("NSTEMI", "I21.4", 0.05, against=2),
    ),
]


def session(ctx: PanelContext) -> tuple[list[float], int]:
    """Milliseconds of each round of one three-turn session; the last challenger prompt size."""
    state: dict = {}
    times, chars = [], 0
    for turn in TURNS:
        state = {**state, **turn}
        ctx.model = ScriptedChatModel(script=[REPLY])
        t0 = time.perf_counter()
        state = run_round(state, ctx)
        times.append((time.perf_counter() - t0) * 1000)
        top = leader(state["hypotheses"])
        chars = len(challenge_prompt(state, top)) if top else 0
    return times, chars


DIFFERENTIAL = {
    "summary": "chest pain",
    "red_flags": [],
    "diagnoses": [
        {
            "name": name,
            "icd10": code,
            "likelihood": p,
            "supporting": [{"text": "the image shown", "evidence": ["I1"]}],
            "against": [],
            "next_steps": [{"action": step, "kind": "test", "why": "", "evidence": ["I1"]}],
        }
        for name, code, p, step in (
            ("NSTEMI", "I21.4", 0.45, "troponin"),
            ("Pulmonary embolism", "I26.99", 0.35, "D-dimer"),
        )
    ],
    "missing": [],
}


def _reply(messages: list[Any]) -> str:
    """The challenger's prompt gets the challenge; every other call the differential."""
    if "falsifying_test" in messages[-1].text:
        return REPLY
    return f"```json\n{json.dumps(DIFFERENTIAL)}\n```"


def graph_turns(folder: Path, mode: str, turns: int) -> list[float]:
    """Milliseconds of ``turns`` first turns (a new session each) in ``mode``."""
    from PIL import Image

    image = folder / "chest.png"
    Image.new("L", (64, 64), 90).save(image)
    settings = Settings(data_dir=folder / mode, mode=mode)  # type: ignore[arg-type]
    model = ScriptedChatModel(script=[_reply] * (2 * turns + 4))
    agent = Lingshu(settings, model=model, tools=[])
    agent.ask("Chest pain, differential?", images=[image])  # warm-up
    times = []
    for _ in range(turns):
        t0 = time.perf_counter()
        answer = agent.ask("Chest pain, differential?", images=[image]).answer
        times.append((time.perf_counter() - t0) * 1000)
        assert answer["produced_by"] == "model" and (mode != "sequential" or answer["costs"])
    return times


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--turns", type=int, default=30)
    args = parser.parse_args()
    ctx = PanelContext(Settings(), load_table(), None)
    session(ctx)  # warm-up: the ICD-10 data and the prompt template load once
    rounds: list[float] = []
    chars = 0
    for _ in range(args.repeats):
        times, chars = session(ctx)
        rounds.extend(times)
    with tempfile.TemporaryDirectory() as tmp:
        default = graph_turns(Path(tmp), "clinical", args.turns)
        sequential = graph_turns(Path(tmp), "sequential", args.turns)
    print(
        json.dumps(
            {
                "benchmark": "panel_round",
                "rounds": len(rounds),
                "round_ms_median": round(statistics.median(rounds), 3),
                "round_ms_p95": round(sorted(rounds)[int(0.95 * (len(rounds) - 1))], 3),
                "challenger_prompt_chars": chars,
                "graph_turns": args.turns,
                "default_turn_ms_median": _median(default),
                "sequential_turn_ms_median": _median(sequential),
                "panel_overhead_ms_median": round(_median(sequential) - _median(default), 3),
                "python": platform.python_version(),
            }
        )
    )


if __name__ == "__main__":
    main()
