"""Prompt efficiency of a scripted 3-turn consultation on the demo patient.

For every model call, the prompt is rendered exactly as the model would see it
(the tiny Qwen2.5-VL processor's chat template over the graph's messages) and
compared with the call before it: how much of it is a byte-identical prefix that
vLLM's prefix cache can reuse. Prints one JSON line.

Token counts come from a real Qwen2.5 tokenizer when one is installed (found offline in
the Hugging Face cache: ``--tokenizer NAME_OR_PATH``, else the configured model, else
Qwen/Qwen2.5-VL-7B-Instruct); the JSON's ``token_counter`` names it. Without one, the
counts are chars/4, the same estimate the agent's own budget uses, and the JSON says so
(``token_counter: "chars/4 estimate"``): that only checks the code against itself. The
tiny model's tokenizer is not used for counting (a 512-token BPE, not Qwen2.5's).

    .venv/bin/python benchmarks/prompt_budget.py [--tokenizer PATH]
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from agent.models.qwen_format import to_qwen_messages
from agent.session import Lingshu
from agent.settings import Settings
from testing.fakes import ScriptedChatModel, call
from testing.tiny import build_tiny_qwen

TURNS = [
    (
        "62-year-old man with two hours of central chest pressure radiating to the left arm. "
        "Differential and next steps?",
        [
            call("search_guidelines", query="acute chest pain initial evaluation troponin", k=4)
            + "\n"
            + call("get_labs", name_or_loinc="troponin"),
            call("get_vitals"),
            "Acute coronary syndrome is most likely: rising hs-troponin T [E17] with typical "
            "pain; high-sensitivity troponin is the preferred biomarker [G1].",
        ],
    ),
    (
        "Could this be a pulmonary embolism instead?",
        [
            call("search_guidelines", query="pulmonary embolism suspected stable assessment", k=3),
            "PE is less likely: oxygen saturation is preserved [E14].",
        ],
    ),
    ("Summarise the plan in two lines.", ["ECG now, and repeat the hs-troponin T [E17]."]),
]


def common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def qwen_tokenizer(names: list[str]) -> tuple[Any, str | None]:
    """The first real Qwen2.5 tokenizer installed locally, and its name (None, None if none)."""
    from transformers import AutoTokenizer

    for name in names:
        try:
            tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=True)
        except (OSError, ValueError):
            continue
        if "<|im_start|>" in tokenizer.get_vocab() and len(tokenizer) > 100_000:
            return tokenizer, name
    return None, None


def counter(names: list[str]) -> tuple[Any, str]:
    """A function text -> token count, and what it counts with."""
    tokenizer, name = qwen_tokenizer(names)
    if tokenizer is None:
        return (lambda text: len(text) // 4), "chars/4 estimate (no Qwen2.5 tokenizer installed)"
    return (lambda text: len(tokenizer(text)["input_ids"])), f"Qwen2.5 tokenizer {name}"


def consult(agent: Lingshu, model: ScriptedChatModel) -> list[int]:
    """Run the scripted turns; the number of model calls in each."""
    session_id = None
    calls_per_turn = []
    for question, replies in TURNS:
        before = len(model.prompts)
        result = agent.ask(question, session_id=session_id, patient_id="chest-pain")
        session_id = result.session_id
        assert result.answer["produced_by"] == "model", result.answer
        calls_per_turn.append(len(model.prompts) - before)
        assert calls_per_turn[-1] == len(replies), (calls_per_turn, result.answer)
    return calls_per_turn


def reuse(texts: list[str], calls_per_turn: list[int]) -> dict[str, float]:
    """Two views of reuse between consecutive calls: the share of the NEW prompt that is
    the previous prompt (falls as tool results add text), and the share of the PREVIOUS
    prompt found again as a prefix (1.0 = the whole cache entry is reused)."""
    within: list[float] = []
    kept: list[float] = []
    across: list[float] = []
    index = 0
    for calls in calls_per_turn:
        for k in range(calls):
            if index > 0:
                same = common_prefix(texts[index - 1], texts[index])
                if k > 0:
                    within.append(same / len(texts[index]))
                    kept.append(same / len(texts[index - 1]))
                else:
                    across.append(same / len(texts[index]))
            index += 1
    return {
        "prefix_reuse_within_turn_min": round(min(within), 3),
        "prefix_reuse_within_turn_mean": round(sum(within) / len(within), 3),
        "previous_prompt_reused_within_turn_min": round(min(kept), 3),
        "prefix_reuse_across_turns_min": round(min(across), 3),
    }


def rendered(processor: Any, agent: Lingshu, model: ScriptedChatModel) -> dict[str, Any]:
    """Every prompt as the model sees it, the static prefix, the instructions and tools."""
    settings = agent.settings
    texts = []
    for prompt in model.prompts:
        qwen = to_qwen_messages(
            prompt, min_pixels=settings.min_pixels, max_pixels=settings.max_pixels
        )
        texts.append(
            processor.apply_chat_template(qwen, tokenize=False, add_generation_prompt=True)
        )
    static = processor.apply_chat_template(
        to_qwen_messages(model.prompts[0][:1], min_pixels=1, max_pixels=1), tokenize=False
    )
    # The session-independent part: instructions + tool specs, without the synopsis.
    offered = agent.deps.offered({"patient_id": "chest-pain", "synopsis": "x"})
    instructions = processor.apply_chat_template(
        [{"role": "system", "content": agent.deps.system("clinical", offered, None)}],
        tokenize=False,
    )
    return {"texts": texts, "static": static, "instructions": instructions, "offered": offered}


def main() -> None:
    import argparse

    from transformers import AutoProcessor

    from agent.cli.demo import prepare_demo_stores

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokenizer", action="append", default=[])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        settings = Settings(data_dir=tmp / "data")
        prepare_demo_stores(settings, quiet=True)
        processor = AutoProcessor.from_pretrained(build_tiny_qwen(tmp / "tiny"))
        model = ScriptedChatModel(script=[reply for _, replies in TURNS for reply in replies])
        agent = Lingshu(settings, model=model)
        calls_per_turn = consult(agent, model)
        got = rendered(processor, agent, model)
    count, counted_with = counter([*args.tokenizer, settings.model, "Qwen/Qwen2.5-VL-7B-Instruct"])
    tokens = "tokens_estimate" if counted_with.startswith("chars/4") else "tokens"
    texts, static = got["texts"], got["static"]
    largest = max(texts, key=len)
    record: dict[str, Any] = {
        "benchmark": "prompt_budget",
        "token_counter": counted_with,
        "model_calls": len(texts),
        "tools_offered": len(got["offered"]),
        "instructions_and_tools_chars": len(got["instructions"]),
        f"instructions_and_tools_{tokens}": count(got["instructions"]),
        "static_prefix_chars": len(static),
        f"static_prefix_{tokens}": count(static),
        "static_prefix_identical_in_all_calls": all(t.startswith(static) for t in texts),
        **reuse(texts, calls_per_turn),
        "largest_prompt_chars": len(largest),
        f"largest_prompt_{tokens}": count(largest),
        "prompt_budget_tokens": settings.prompt_budget_tokens,
        "largest_prompt_within_budget": count(largest) <= settings.prompt_budget_tokens,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(record))


if __name__ == "__main__":
    main()
