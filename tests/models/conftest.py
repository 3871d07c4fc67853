"""Fixtures for the model backends: a tiny random-weight Qwen2.5-VL built offline."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from agent.models.transformers_backend import TransformersChatModel
from agent.settings import Settings
from testing.tiny import TINY_MAX_PIXELS, TINY_MIN_PIXELS, build_tiny_qwen


@pytest.fixture(scope="session")
def tiny_qwen_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Qwen2.5-VL checkpoint (model + processor) written once per test session."""
    return build_tiny_qwen(tmp_path_factory.mktemp("tiny-qwen"))


def png_data_url(
    width: int = 120, height: int = 90, color: tuple[int, int, int] = (200, 30, 30)
) -> str:
    """A solid-colour PNG as a base64 data URI, as the graph sends images."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture
def tiny_chat(tiny_qwen_path: Path) -> Callable[..., TransformersChatModel]:
    """Factory: the transformers chat model over the tiny checkpoint, with settings overrides."""

    def make(**overrides: object) -> TransformersChatModel:
        values: dict[str, object] = {
            "backend": "transformers",
            "model": str(tiny_qwen_path),
            "device": "cpu",
            "max_new_tokens": 16,
            "min_pixels": TINY_MIN_PIXELS,
            "max_pixels": TINY_MAX_PIXELS,
        }
        values.update(overrides)
        return TransformersChatModel.from_settings(Settings(**values))  # type: ignore[arg-type]

    return make
