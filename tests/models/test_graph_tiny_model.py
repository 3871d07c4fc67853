"""The whole graph through the tiny random-weight Qwen2.5-VL, with an image.

Real processor, real image preprocessing and image tokens, real ``generate``: the
output is garbage, which is the point. The turn must still end cleanly, say why,
and leave the session usable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from agent.session import Lingshu
from agent.settings import Settings
from testing.tiny import TINY_MAX_PIXELS, TINY_MIN_PIXELS


def test_garbage_from_random_weights_ends_the_turn_cleanly(
    tiny_qwen_path: Path, tmp_path: Path
) -> None:
    image = tmp_path / "fundus.png"
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (180, 140, 3), dtype=np.uint8)).save(image)
    settings = Settings(
        backend="transformers",
        model=str(tiny_qwen_path),
        device="cpu",
        data_dir=tmp_path / "data",
        max_new_tokens=24,
        min_pixels=TINY_MIN_PIXELS,
        max_pixels=TINY_MAX_PIXELS,
        max_repairs=1,
    )
    agent = Lingshu(settings)
    first = agent.ask("What does this fundus photograph show?", images=[image])
    answer = first.answer
    assert answer["produced_by"] == "none"
    assert answer["text"] == ""
    assert any("repair" in w or "could not be used" in w for w in answer["warnings"]), answer
    assert first.evidence["I1"]["citation"]["width"] == 140
    # The session stays usable: a second turn runs and ends the same clean way.
    second = agent.ask("Please answer in plain words.", session_id=first.session_id)
    assert second.answer["turn"] == 2
    assert second.answer["produced_by"] in {"none", "model"}
    users = [t["text"] for t in agent.turns(first.session_id) if t["role"] == "user"]
    assert users == ["What does this fundus photograph show?", "Please answer in plain words."]
