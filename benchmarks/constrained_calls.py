"""Constrained tool calls on the tiny random-weight Qwen2.5-VL: valid-call rate and cost.

Random weights know nothing of tool calls. The agent's real tools are offered (their
Hermes specs in the system prompt, as the graph renders them); each sample is one reply
at temperature 1 with its own seed. With the constraint (the structural tag of those
tools, a call required) every reply must be a call that parses and validates; without
it, the same prompts and seeds. Per-token time: the slope of wall time over generated
tokens (prefill and prompt preparation fall in the intercept), fitted per arm; and the
time the grammar mask itself takes per token (measured inside the logits processor),
which is the cost of the constraint without the noise of a shared machine.

Run: ``.venv/bin/python benchmarks/constrained_calls.py`` (about 3 to 5 minutes on 2 cores).
Prints one JSON line.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import time
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import torch
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import agent.models.transformers_backend as backend  # noqa: E402
from agent.models.constrained import ToolCallLogitsProcessor, ToolConstraint  # noqa: E402
from agent.models.protocol import parse_reply, render_tools_block  # noqa: E402
from agent.models.transformers_backend import TransformersChatModel  # noqa: E402
from testing.tiny import TINY_MAX_PIXELS, TINY_MIN_PIXELS, build_tiny_qwen  # noqa: E402
from tools import ALL_TOOLS  # noqa: E402

SAMPLES = 50
MAX_NEW_TOKENS = 400
PROCESSORS: list[ToolCallLogitsProcessor] = []


def _recording(*args: Any, **kwargs: Any) -> ToolCallLogitsProcessor:
    """The backend's processor factory, keeping each processor to read its mask time."""
    processor = _make_processor(*args, **kwargs)
    PROCESSORS.append(processor)
    return processor


_make_processor = backend.tool_call_processor
backend.tool_call_processor = _recording


def run_arm(chat: TransformersChatModel, constraint: ToolConstraint | None) -> dict[str, object]:
    tools = {t.name: t for t in ALL_TOOLS}
    messages = [
        SystemMessage("You are Lingshu, a medical assistant.\n" + render_tools_block(ALL_TOOLS)),
        HumanMessage("Chest pain for two hours; troponin pending. What do the guidelines say?"),
    ]
    valid, tokens, seconds, names = 0, [], [], set[str]()
    for seed in range(SAMPLES):
        torch.manual_seed(seed)
        start = time.perf_counter()
        reply = chat.invoke(messages, stop=["<tool_response>"], tool_constraint=constraint)
        seconds.append(time.perf_counter() - start)
        assert isinstance(reply, AIMessage) and reply.usage_metadata is not None
        tokens.append(reply.usage_metadata["output_tokens"])
        parsed = parse_reply(reply, tools)
        if parsed.calls and not parsed.problems:
            valid += 1
            names.update(c["name"] for c in parsed.calls)
    slope, _intercept = np.polyfit(np.array(tokens, float), np.array(seconds), 1)
    return {
        "valid_rate": valid / SAMPLES,
        "ms_per_token": round(float(slope) * 1000, 3),
        "mean_tokens": round(float(np.mean(tokens)), 1),
        "max_tokens": int(max(tokens)),
        "mean_s_per_reply": round(float(np.mean(seconds)), 3),
        "tools_called": len(names),
    }


def main() -> None:
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    with tempfile.TemporaryDirectory() as folder:
        path = build_tiny_qwen(Path(folder) / "tiny-qwen")
        chat = TransformersChatModel(
            model_path=str(path),
            device="cpu",
            temperature=1.0,
            top_p=1.0,
            max_new_tokens=MAX_NEW_TOKENS,
            min_pixels=TINY_MIN_PIXELS,
            max_pixels=TINY_MAX_PIXELS,
            constrained_tools="on",
        )
        constraint = ToolConstraint.from_tools(ALL_TOOLS, require_call=True)
        chat.invoke([HumanMessage("warm up")], tool_constraint=constraint)  # load + compile
        PROCESSORS.clear()
        on = run_arm(chat, constraint)
        steps = sum(p.steps for p in PROCESSORS)
        mask_ms = 1000 * sum(p.seconds for p in PROCESSORS) / max(steps, 1)
        off = run_arm(chat, None)
    print(
        json.dumps(
            {
                "benchmark": "constrained_calls",
                "model": "tiny random-weight Qwen2.5-VL (testing.tiny), CPU",
                "tools_offered": len(ALL_TOOLS),
                "samples_per_arm": SAMPLES,
                "temperature": 1.0,
                "max_new_tokens": MAX_NEW_TOKENS,
                "valid_call_rate_constrained": on["valid_rate"],
                "valid_call_rate_unconstrained": off["valid_rate"],
                "ms_per_token_constrained": on["ms_per_token"],
                "ms_per_token_unconstrained": off["ms_per_token"],
                "grammar_mask_ms_per_token": round(mask_ms, 3),
                "constrained": on,
                "unconstrained": off,
                "xgrammar": version("xgrammar"),
                "torch_threads": torch.get_num_threads(),
            }
        )
    )


if __name__ == "__main__":
    main()
