"""Prompt efficiency of a scripted 3-turn consultation on the demo patient.

For every model call, the prompt is rendered exactly as the model would see it
(the tiny Qwen2.5-VL processor's chat template over the graph's messages) and
compared with the call before it: how much of it is a byte-identical prefix that
vLLM's prefix cache can reuse. Prints one JSON line.

    .venv/bin/python benchmarks/prompt_budget.py
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
from agent.models.tiny import build_tiny_qwen
from agent.session import Lingshu
from agent.settings import Settings
from tests.fakes import ScriptedChatModel, call

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


def main() -> None:
    from transformers import AutoProcessor

    from agent.cli.demo import prepare_demo_stores

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        settings = Settings(data_dir=tmp / "data")
        prepare_demo_stores(settings, quiet=True)
        processor = AutoProcessor.from_pretrained(build_tiny_qwen(tmp / "tiny"))
        script = [reply for _, replies in TURNS for reply in replies]
        model = ScriptedChatModel(script=list(script))
        agent = Lingshu(settings, model=model)
        session_id = None
        calls_per_turn = []
        for question, replies in TURNS:
            before = len(model.prompts)
            result = agent.ask(question, session_id=session_id, patient_id="chest-pain")
            session_id = result.session_id
            assert result.answer["produced_by"] == "model", result.answer
            calls_per_turn.append(len(model.prompts) - before)
            assert calls_per_turn[-1] == len(replies), (calls_per_turn, result.answer)
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
        deps = agent.graph.deps
        offered = deps.offered({"patient_id": "chest-pain", "synopsis": "x"})
        instructions = processor.apply_chat_template(
            [{"role": "system", "content": deps.system("clinical", offered, None)}],
            tokenize=False,
        )
        tokenizer = processor.tokenizer
        # Two views of reuse between consecutive calls: the share of the NEW prompt that is
        # the previous prompt (falls as tool results add text), and the share of the
        # PREVIOUS prompt found again as a prefix (1.0 = the whole cache entry is reused).
        reuse_within: list[float] = []
        kept_within: list[float] = []
        reuse_across: list[float] = []
        index = 0
        for count in calls_per_turn:
            for k in range(count):
                if index > 0:
                    same = common_prefix(texts[index - 1], texts[index])
                    if k > 0:
                        reuse_within.append(same / len(texts[index]))
                        kept_within.append(same / len(texts[index - 1]))
                    else:
                        reuse_across.append(same / len(texts[index]))
                index += 1
        static_identical = all(t.startswith(static) for t in texts)
        largest = max(texts, key=len)
        record: dict[str, Any] = {
            "benchmark": "prompt_budget",
            "model_calls": len(texts),
            "tools_offered": len(offered),
            "instructions_and_tools_chars": len(instructions),
            "instructions_and_tools_tokens_equiv": len(instructions) // 4,
            "static_prefix_chars": len(static),
            "static_prefix_tokens_equiv": len(static) // 4,
            "static_prefix_tiny_tokens": len(tokenizer(static)["input_ids"]),
            "static_prefix_identical_in_all_calls": static_identical,
            "prefix_reuse_within_turn_min": round(min(reuse_within), 3),
            "prefix_reuse_within_turn_mean": round(sum(reuse_within) / len(reuse_within), 3),
            "previous_prompt_reused_within_turn_min": round(min(kept_within), 3),
            "prefix_reuse_across_turns_min": round(min(reuse_across), 3),
            "largest_prompt_chars": len(largest),
            "largest_prompt_tokens_equiv": len(largest) // 4,
            "largest_prompt_tiny_tokens": len(tokenizer(largest)["input_ids"]),
            "prompt_budget_tokens": settings.prompt_budget_tokens,
            "python": platform.python_version(),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        }
    print(json.dumps(record))


if __name__ == "__main__":
    main()
