"""The prompt budget with images: counted as the processor counts, old images go first.

Issue: in a chat with one CT image the third turn already left an earlier turn out of
the prompt, and ``lingshu vllm-command`` allowed 8 images of 1,280 tokens in an
8,192-token context.
"""

from __future__ import annotations

import io
import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from PIL import Image
from typer.testing import CliRunner

from agent.models.qwen_tokens import (
    SYSTEM_RESERVE_TOKENS,
    full_image_tokens,
    history_budget,
    image_tokens_at,
    images_per_prompt,
    smart_resize,
)
from agent.models.vllm import vllm_command
from agent.prompt_budget import fit_history, image_tokens
from agent.session import Lingshu
from agent.settings import Settings
from agent.state import TOOL_IMAGES
from testing.tiny import TINY_MAX_PIXELS, TINY_MIN_PIXELS
from tests.fakes import ScriptedChatModel

MIN, MAX = 256 * 28 * 28, 1280 * 28 * 28
SIZES = [(28, 28), (90, 120), (512, 512), (40, 4000), (3000, 2000), (1, 150), (777, 333)]


@pytest.mark.parametrize(("h", "w"), SIZES)
def test_smart_resize_is_the_processors(h: int, w: int) -> None:
    from qwen_vl_utils import smart_resize as qwen_utils
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize as hf

    for low, high in [(MIN, MAX), (TINY_MIN_PIXELS, TINY_MAX_PIXELS), (3136, 12845056)]:
        ours = smart_resize(h, w, 28, low, high)
        assert ours == hf(h, w, 28, low, high)  # the processor vLLM runs
        if min(h, w) >= 28 and 0 not in (theirs := qwen_utils(h, w, 28, low, high)):
            assert ours == theirs


def _png(width: int, height: int) -> str:
    import base64

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (120, 120, 120)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _record(width: int, height: int, eid: str = "I1") -> dict[str, Any]:
    return {
        "id": eid,
        "kind": "image",
        "label": f"ct-{eid}.png (CT, {width}x{height})",
        "excerpt": f"CT {width}x{height}",
        "citation": {"width": width, "height": height, "path": f"/x/{eid}.png"},
    }


@pytest.mark.parametrize(("w", "h"), [(120, 90), (200, 60), (28, 28), (500, 500)])
def test_image_tokens_are_what_the_processor_puts_in_the_prompt(
    tiny_chat: Any, w: int, h: int
) -> None:
    """The tiny Qwen2.5-VL processor, fed the image the graph sends, makes as many
    <|image_pad|> tokens (plus vision start and end) as the budget counts."""
    from knowledge.imaging import fit_pixels

    chat = tiny_chat()
    sent_w, sent_h = fit_pixels(w, h, TINY_MIN_PIXELS, TINY_MAX_PIXELS)
    turn = [
        HumanMessage(
            [
                {"type": "image_url", "image_url": {"url": _png(sent_w, sent_h)}},
                {"type": "text", "text": "?"},
            ]
        )
    ]
    ids = chat.prepare_inputs(turn)["input_ids"][0].tolist()
    tokenizer = chat.loaded().processor.tokenizer
    pad = tokenizer.convert_tokens_to_ids("<|image_pad|>")
    counted = image_tokens(_record(w, h), TINY_MIN_PIXELS, TINY_MAX_PIXELS)  # type: ignore[arg-type]
    assert ids.count(pad) + 2 == counted


def _turn(question: str, answer: str, images: list[str] | None = None) -> list[BaseMessage]:
    kwargs = {"image_ids": images} if images else {}
    return [HumanMessage(question, additional_kwargs=kwargs), AIMessage(answer)]


def _fit(history: list[BaseMessage], budget: int, max_images: int = 8, **records: Any) -> Any:
    evidence = {k: _record(*v, eid=k) for k, v in records.items()}
    return fit_history(
        history, budget=budget, evidence=evidence, min_pixels=MIN, max_pixels=MAX,
        max_images=max_images,
    )  # fmt: skip


def test_an_old_image_goes_before_any_text_turn() -> None:
    history = [
        *_turn("Q1 chest CT attached.", "A1 " + "x" * 2000, ["I1"]),
        *_turn("Q2 and the nodule?", "A2 " + "y" * 2000),
        HumanMessage("Q3 what next?"),
    ]
    image = image_tokens(_record(1024, 1024), MIN, MAX)  # type: ignore[arg-type]
    assert image == 35 * 35 + 2 < full_image_tokens(MAX) == 1282  # 1024 px -> 980 px sides
    # Text alone fits; with the image it does not.
    fitted = _fit(history, budget=1200 + image // 2, I1=(1024, 1024))
    assert fitted.turns == 0 and fitted.exchanges == 0
    assert fitted.referenced == ["I1"]
    first = fitted.history[0]
    assert "image_ids" not in first.additional_kwargs
    assert first.text.startswith("[I1] (shown earlier, left out of this prompt")
    assert "ct-I1.png (CT, 1024x1024)" in first.text and first.text.endswith(
        "Q1 chest CT attached."
    )
    assert [m.text.split()[0] for m in fitted.history if isinstance(m, HumanMessage)] == [
        "[I1]",
        "Q2",
        "Q3",
    ]
    assert any("I1 sent as references" in n for n in fitted.notes())
    # With room for everything, nothing changes.
    assert _fit(history, budget=10_000, I1=(1024, 1024)).history == history


def test_old_tool_results_go_before_old_turns_and_turns_go_last() -> None:
    call = AIMessage("", tool_calls=[{"name": "search", "args": {"q": "pe"}, "id": "c1"}])
    result = ToolMessage("G1 passage " * 400, tool_call_id="c1")
    crops = HumanMessage("crops", additional_kwargs={"lingshu": TOOL_IMAGES, "image_ids": ["I2"]})
    history = [
        HumanMessage("Q1"),
        call,
        result,
        crops,
        AIMessage("A1 [G1]"),
        *_turn("Q2", "A2"),
        HumanMessage("Q3"),
    ]
    fitted = _fit(history, budget=400, I2=(300, 300))
    assert fitted.exchanges == 1 and fitted.turns == 0
    assert [m.text for m in fitted.history] == ["Q1", "A1 [G1]", "Q2", "A2", "Q3"]
    tight = _fit(history, budget=10)  # each message costs 4 tokens at least
    assert tight.turns == 2 and [m.text for m in tight.history] == ["Q3"]


def test_no_more_images_than_the_server_takes_and_the_newest_stays() -> None:
    history = [
        HumanMessage("Q1", additional_kwargs={"image_ids": ["I1", "I2"]}),
        AIMessage("A1"),
        HumanMessage("Q2", additional_kwargs={"image_ids": ["I3"]}),
        AIMessage("", tool_calls=[{"name": "zoom", "args": {}, "id": "z"}]),
        ToolMessage("zoomed", tool_call_id="z"),
        HumanMessage("crop", additional_kwargs={"lingshu": TOOL_IMAGES, "image_ids": ["I4"]}),
    ]
    sizes = {f"I{i}": (300, 300) for i in range(1, 5)}
    fitted = _fit(history, budget=100_000, max_images=2, **sizes)
    kept = [i for m in fitted.history for i in m.additional_kwargs.get("image_ids", [])]
    assert kept == ["I3", "I4"] and fitted.referenced == ["I1", "I2"]
    # This turn's own images go too when they alone exceed it; the newest stays.
    alone = _fit(history[2:], budget=100_000, max_images=1, **sizes)
    assert [i for m in alone.history for i in m.additional_kwargs.get("image_ids", [])] == ["I4"]


def _ct(path: Path) -> Path:
    Image.new("L", (512, 512), 60).save(path)
    return path


def test_a_chat_with_one_ct_keeps_its_turns_on_the_third_turn(tmp_path: Path) -> None:
    """The issue's case, through the graph: the CT goes to a reference, no turn is lost."""
    model = ScriptedChatModel(script=[])
    settings = Settings(data_dir=tmp_path / "data", prompt_budget_tokens=6144)
    agent = Lingshu(settings, model=model, tools=[])
    system = agent.deps.system("clinical", [], None)
    room = history_budget(6144, settings.max_new_tokens) - len(system) // 4
    # Two answers that fill the room but for ~150 tokens: the text of three turns fits,
    # the 326-token CT (512 px -> 504 px sides) beside it does not.
    size = ((room - 150 - 3 * 12) // 2 - 4) * 4
    line = "The scan shows a spiculated nodule in the right upper lobe. "
    model.script.extend([(line * 200)[:size], (line * 200)[:size], "Third answer."])
    first = agent.ask("What does this CT show?", images=[_ct(tmp_path / "ct.png")])
    agent.ask("How big is it?", session_id=first.session_id)
    third = agent.ask("What should happen next?", session_id=first.session_id)
    sent = model.prompts[-1]
    questions = [m.text for m in sent if isinstance(m, HumanMessage)]
    assert len(questions) == 3, questions
    assert questions[0].startswith("[I1] (shown earlier, left out of this prompt")
    assert not any(isinstance(m.content, list) for m in sent)  # no image part was sent
    warnings = third.answer["warnings"]
    assert any("I1 sent as references" in w for w in warnings), warnings
    assert not any("turn(s) left out" in w for w in warnings), warnings
    # The second turn still had the room to send the image itself.
    assert any(isinstance(m.content, list) for m in model.prompts[1])


def test_vllm_command_limits_match_the_prompt_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    argv = vllm_command()
    limit = json.loads(argv[argv.index("--limit-mm-per-prompt") + 1])["image"]
    context = int(argv[argv.index("--max-model-len") + 1])
    assert limit == images_per_prompt(8192, 1536, MIN, MAX) == 2
    assert limit * full_image_tokens(MAX) + SYSTEM_RESERVE_TOKENS + 1536 <= context == 8192
    assert images_per_prompt(8192, 1536, MIN, 512 * 28 * 28) == 6
    with pytest.raises(ValueError, match=r"8 images at up to 1,282 tokens each .* at most 2"):
        vllm_command(max_images=8)
    assert image_tokens_at(504, 504, MIN, MAX) == 18 * 18 + 2

    from agent.cli import app

    monkeypatch.setenv("LINGSHU_PROMPT_BUDGET_TOKENS", "6144")
    monkeypatch.setenv("LINGSHU_MAX_PIXELS", str(512 * 28 * 28))
    result = CliRunner().invoke(app, ["vllm-command"])
    assert result.exit_code == 0, result.output
    served = shlex.split(result.stdout.strip().splitlines()[0])
    assert served[served.index("--max-model-len") + 1] == "6144"
    images = json.loads(served[served.index("--limit-mm-per-prompt") + 1])["image"]
    assert images == images_per_prompt(6144, 1536, MIN, 512 * 28 * 28) == 2
    refused = CliRunner().invoke(app, ["vllm-command", "--max-images", "8"])
    assert refused.exit_code == 2 and "at most 2" in " ".join(refused.stderr.split())
