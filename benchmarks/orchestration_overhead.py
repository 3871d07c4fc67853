"""Framework time of the orchestration modes against a default round, and prompt sizes per role.

Every model is scripted with zero latency, so the times are the framework's own work.
Tool rounds (milliseconds per round, median of interleaved repeats, in-memory
checkpointer, the graph's sync path):

- ``default``: Lingshu alone, prompted tool calling (the default), a no-op tool each round;
- ``default_image``: the default with one image in the session (Lingshu is sent it each call);
- ``default_native``: that with native tool calls (the planner's calling: the same tools
  offered but ``look``, so ``split`` against it is split mode's own cost);
- ``split``: split mode, the planner (native tool calls) calls the no-op tool each round,
  the same image in the session (the planner is sent its id and label, not its pixels);
- ``split_look``: split mode, the planner calls ``look`` on the image each round: the
  scripted Lingshu is sent the image and a question and its answer becomes an ``F#`` finding.

Panel: a clinical turn ending in a verified differential (one record tool round), against
the same turn in sequential mode (``mode="sequential"``: the graph's five panel nodes run
after verify, the challenger on the same scripted model); and the panel's roles called
directly (``agent.panel.run_round``) on the clinical turn's state.

Prompt sizes per role: the texts each model is sent (chat template not applied),
counted with a Qwen2.5 tokenizer when one is installed, else chars/4 (labelled), as
``benchmarks/prompt_budget.py`` counts; Lingshu's look prompt adds the image's tokens.
Prints one JSON line.

    .venv/bin/python benchmarks/orchestration_overhead.py [--rounds 10] [--repeats 25]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.prebuilt import ToolRuntime
from PIL import Image

from agent.deps import make_deps
from agent.graph import build_graph
from agent.models.qwen_tokens import image_tokens_at
from agent.panel import PanelContext, run_round
from agent.panel.challenger import challenge_prompt
from agent.panel.context import leader
from agent.resources import Resources
from agent.settings import Settings
from knowledge.costs import load_table
from knowledge.imaging import ImageStore
from testing.fakes import ScriptedChatModel, call
from tools import ALL_TOOLS
from tools.runtime import ToolArtifact, ToolContext

QUESTION = "Is there a focal opacity in the upper right?"
FINDING = "A bright square opacity in the upper right quadrant, about a third of the width."
PLANNER_AT = "http://127.0.0.1:9/v1"  # never contacted: the planner is scripted
CHALLENGE = json.dumps(
    {"alternative": "Unstable angina", "argument": "no ECG yet", "falsifying_test": "ECG"}
)


@tool
def noop(value: int) -> str:
    """Do nothing and say so.

    Args:
        value: Any number.
    """
    return "ok"


@tool(parse_docstring=True, response_format="content_and_artifact")
def troponin(runtime: ToolRuntime[ToolContext, Any]) -> tuple[str, ToolArtifact]:
    """The patient's troponin result."""
    label = "hs-Troponin T 96 ng/L (high, rising)"
    eid = runtime.context.ledger.cite("ehr", "Observation/trop-3", label=label, excerpt=label)
    return f"[{eid}] {label}", {"evidence": [eid]}


def native(name: str, i: int, **args: Any) -> AIMessage:
    return AIMessage(
        content="", tool_calls=[{"name": name, "args": args, "id": f"c{i}", "type": "tool_call"}]
    )


def image_in(tmp: Path, store: ImageStore) -> dict[str, Any]:
    """One stored 512x512 image, as the session's intake receives it."""
    tmp.mkdir(parents=True, exist_ok=True)
    pixels = np.full((512, 512), 40, dtype=np.uint8)
    pixels[40:200, 300:460] = 220
    Image.fromarray(pixels).save(tmp / "cxr.png")
    info = store.add(tmp / "cxr.png")
    return {"citation": info.citation(), "label": info.label(), "excerpt": info.summary()}


class Round:
    """One kind of tool round: a compiled graph, its scripted reasoning model, its script."""

    def __init__(self, kind: str, tmp: Path, rounds: int) -> None:
        self.kind, self.rounds = kind, rounds
        store = ImageStore(tmp / f"images-{kind}")
        self.image = image_in(tmp, store) if kind != "default" else None
        split = kind.startswith("split")
        settings = Settings(
            data_dir=tmp / kind,
            max_tool_rounds=rounds + 1,
            tool_calling="native" if kind == "default_native" else "prompted",
            planner_base_url=PLANNER_AT if split else None,
            planner_model="planner" if split else None,
        )
        self.model = ScriptedChatModel()  # Lingshu (the perceiver in split mode)
        self.planner = ScriptedChatModel() if split else None
        deps = make_deps(
            settings,
            model=self.model,
            tools=[noop, *ALL_TOOLS],
            resources=Resources(images=store),
            planner=self.planner,
        )
        self.deps = deps
        self.graph = build_graph(deps=deps, checkpointer=InMemorySaver())
        self.runs = 0

    def script(self) -> list[AIMessage]:
        n = self.rounds
        if self.kind == "split_look":
            calls = [
                native("look", i, image_ids=["I1"], question=f"{QUESTION} ({i})") for i in range(n)
            ]
            return [*calls, AIMessage(content=f"{FINDING} [F1, I1].")]
        if self.kind in ("split", "default_native"):
            return [*(native("noop", i, value=i) for i in range(n)), AIMessage("All done.")]
        return [*(AIMessage(call("noop", value=i)) for i in range(n)), AIMessage("All done.")]

    def once(self) -> float:
        """Milliseconds per round of one turn of ``rounds`` tool rounds."""
        reasoner = self.planner if self.planner is not None else self.model
        self.model.script = [FINDING] * self.rounds if self.kind == "split_look" else []
        reasoner.script = self.script()  # the same model as Lingshu's without a planner
        payload: dict[str, Any] = {"messages": [HumanMessage("go")]}
        if self.image is not None:
            payload["incoming_images"] = [self.image]
        self.runs += 1
        config = {"configurable": {"thread_id": f"{self.kind}-{self.runs}"}}
        t0 = time.perf_counter()
        out = self.graph.invoke(payload, config)
        ms = (time.perf_counter() - t0) * 1000 / self.rounds
        assert out["answer"]["produced_by"] == "model", out["answer"]
        assert reasoner.script == [] and self.model.script == [], "a scripted call was not made"
        if self.kind == "split_look":
            assert (
                len(out["answer"]["citations"]) == 2 and out["evidence"]["F1"]["kind"] == "finding"
            )
        return ms


def differential_reply() -> str:
    dx = {
        "summary": "Acute chest pain with a rising troponin.",
        "red_flags": [],
        "diagnoses": [
            {
                "name": "Non-ST elevation myocardial infarction",
                "icd10": "I21.4",
                "likelihood": 0.55,
                "supporting": [{"text": "hs-troponin T is high and rising", "evidence": ["E1"]}],
                "against": [],
                "next_steps": [{"action": "ECG", "kind": "test", "why": "", "evidence": []}],
            },
            {
                "name": "Unstable angina",
                "icd10": "I20.0",
                "likelihood": 0.3,
                "supporting": [{"text": "troponin is rising", "evidence": ["E1"]}],
                "next_steps": [{"action": "troponin", "kind": "test", "why": "", "evidence": []}],
            },
        ],
        "missing": ["ECG tracing"],
    }
    return "```json\n" + json.dumps(dx) + "\n```\nNSTEMI is the working diagnosis."


ROLES = {"keeper", "chooser", "challenger", "stewardship", "checklist"}


def panel_times(tmp: Path, repeats: int) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Per repeat (ms): a clinical turn ending in a verified differential; the panel's roles
    run directly on its state (``run_round``); the same turn in sequential mode (the graph's
    panel nodes after verify, the challenger on the same scripted model)."""
    model = ScriptedChatModel()
    settings = Settings(data_dir=tmp / "panel")
    resources = Resources(images=ImageStore(tmp / "panel-images"))
    graph = build_graph(
        settings, model=model, tools=[troponin], resources=resources, checkpointer=InMemorySaver()
    )
    ctx = PanelContext(settings, load_table(), None)
    times: dict[str, list[float]] = {"clinical_turn": [], "panel_round": [], "sequential_turn": []}
    state: dict[str, Any] = {}
    for r in range(repeats):
        for mode in ("clinical", "sequential"):
            model.script = [call("troponin"), differential_reply()]
            model.script += [CHALLENGE] if mode == "sequential" else []
            payload = {"messages": [HumanMessage("Chest pain. Differential?")], "mode": mode}
            t0 = time.perf_counter()
            out = graph.invoke(payload, {"configurable": {"thread_id": f"{mode}-{r}"}})
            times[f"{mode}_turn"].append((time.perf_counter() - t0) * 1000)
            assert out["answer"]["differential"] is not None, out["answer"]
            assert model.script == [], "a scripted call was not made"
            if mode == "sequential":
                assert set(out["panel"]) >= ROLES, out.get("panel")
            else:
                ctx.model = ScriptedChatModel(script=[CHALLENGE])
                t0 = time.perf_counter()
                state = run_round(out, ctx)
                times["panel_round"].append((time.perf_counter() - t0) * 1000)
                assert set(state["panel"]) >= ROLES
    return times, state


def first_prompts(tmp: Path) -> dict[str, tuple[list[Any], list[Any]]]:
    """The first prompt (messages, natively bound tools) each model was sent in one turn
    with an image: Lingshu alone, the planner, and Lingshu asked by ``look``."""
    alone = Round("default_image", tmp / "alone", 1)
    alone.once()
    split = Round("split_look", tmp / "split", 1)
    split.once()
    assert split.planner is not None
    return {
        "lingshu_alone": (alone.model.prompts[0], []),
        "planner": (split.planner.prompts[0], split.planner.bound_tools[0]),
        "lingshu_look": (split.model.prompts[0], []),
    }


def prompt_sizes(tmp: Path, state: dict[str, Any]) -> dict[str, Any]:
    """Each role's first prompt: its messages' text, the tool specs sent beside them
    (native calling), and the image tokens of the images in it."""
    from benchmarks.prompt_budget import counter

    count, counted_with = counter(["Qwen/Qwen2.5-VL-7B-Instruct", "Qwen/Qwen2.5-7B-Instruct"])
    sizes: dict[str, Any] = {"token_counter": counted_with}
    s = Settings()
    image = image_in(tmp, ImageStore(tmp / "images-size"))["citation"]
    per_image = image_tokens_at(image["width"], image["height"], s.min_pixels, s.max_pixels)
    for role, (messages, tools) in first_prompts(tmp).items():
        text = "\n".join(m.text for m in messages)
        specs = json.dumps([convert_to_openai_tool(t) for t in tools]) if tools else ""
        shown = sum(
            1
            for m in messages
            if isinstance(m.content, list)
            for p in m.content
            if isinstance(p, dict) and p.get("type") == "image_url"
        )
        sizes[role] = {
            "text_chars": len(text),
            "tool_spec_chars": len(specs),
            "images": shown,
            "tokens": count(text) + (count(specs) if specs else 0) + shown * per_image,
        }
    top = leader(state["hypotheses"])
    prompt = challenge_prompt(state, top) if top else ""
    sizes["panel_challenger"] = {"text_chars": len(prompt), "tokens": count(prompt)}
    for role in ("keeper", "chooser", "stewardship", "checklist"):
        sizes[f"panel_{role}"] = "no model call (a deterministic role)"
    return sizes


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=25)
    args = parser.parse_args()
    kinds = ("default", "default_native", "default_image", "split", "split_look")
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        benches = {k: Round(k, tmp, args.rounds) for k in kinds}
        for bench in benches.values():
            bench.once()  # warm-up: imports, first compile, first image encoding
        times: dict[str, list[float]] = {k: [] for k in kinds}
        for _ in range(args.repeats):  # interleaved: load from others hits every kind alike
            for k, bench in benches.items():
                times[k].append(bench.once())
        panel_times(tmp, 1)  # warm-up: ICD-10 data, the price table, templates
        panel, state = panel_times(tmp, args.repeats)
        sizes = prompt_sizes(tmp, state)
    base = statistics.median(times["default"])
    rounds = {
        k: {
            "ms_per_round": median(v),
            "ms_per_round_min": round(min(v), 3),
            "ratio_to_default": round(statistics.median(v) / base, 3),
        }
        for k, v in times.items()
    }
    turn = statistics.median(panel["clinical_turn"])
    record = {
        "benchmark": "orchestration_overhead",
        "rounds": args.rounds,
        "repeats": args.repeats,
        "tool_rounds": rounds,
        "split_ratio_to_default": rounds["split"]["ratio_to_default"],
        "split_ratio_to_default_native": round(
            statistics.median(times["split"]) / statistics.median(times["default_native"]), 3
        ),
        "split_look_ratio_to_default_image": round(
            statistics.median(times["split_look"]) / statistics.median(times["default_image"]), 3
        ),
        "clinical_turn_ms": round(turn, 3),
        "sequential_turn_ms": median(panel["sequential_turn"]),
        "sequential_turn_ratio": round(statistics.median(panel["sequential_turn"]) / turn, 3),
        "panel_round_direct_ms": median(panel["panel_round"]),
        "prompt_sizes": sizes,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(record))


if __name__ == "__main__":
    main()
