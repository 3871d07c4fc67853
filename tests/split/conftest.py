"""Split mode's fixtures: a session's images in a real store, Lingshu as a loopback server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from PIL import Image

from agent.settings import Settings
from agent.split import SplitMode, build_split
from knowledge.imaging import ImageStore
from testing.openai_server import OpenAICompatibleServer
from tools.evidence import EvidenceLedger
from tools.look import PERCEIVER
from tools.runtime import ToolContext, call_tool

LINGSHU = "lingshu-medical-mllm/Lingshu-7B"


def chest_png(path: Path) -> Path:
    """A 96x96 grey image with a bright square in its top-right quadrant."""
    pixels = np.full((96, 96), 40, dtype=np.uint8)
    pixels[8:40, 56:88] = 220
    Image.fromarray(pixels).save(path)
    return path


def register(ctx: ToolContext, path: Path) -> str:
    """What the graph's intake does for a user image."""
    assert ctx.images is not None
    info = ctx.images.add(path)
    return ctx.ledger.cite("image", key=info.sha256, label=info.label(), citation=info.citation())


def call(tool: BaseTool, ctx: ToolContext, **args: Any) -> ToolMessage:
    """Run a tool as the act node does (its context through LangGraph's ToolRuntime)."""
    message = call_tool(tool, ctx, **args)
    assert isinstance(message, ToolMessage)
    return message


def split_settings(lingshu_url: str, tmp_path: Path, **more: Any) -> Settings:
    return Settings(
        base_url=lingshu_url,
        model=LINGSHU,
        planner_base_url="http://127.0.0.1:9/v1",
        planner_model="Qwen/Qwen2.5-7B-Instruct",
        data_dir=tmp_path / "data",
        connect_retries=0,
        **more,
    )


@pytest.fixture
def lingshu() -> Iterator[OpenAICompatibleServer]:
    server = OpenAICompatibleServer([], model=LINGSHU).start()
    yield server
    server.stop()


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "store")


@pytest.fixture
def split(lingshu: OpenAICompatibleServer, tmp_path: Path, store: ImageStore) -> SplitMode:
    built = build_split(split_settings(lingshu.base_url, tmp_path, tool_timeout_s=3.0), store)
    assert built is not None
    return built


@pytest.fixture
def ctx(store: ImageStore, split: SplitMode) -> ToolContext:
    return ToolContext(ledger=EvidenceLedger(), images=store, extras={PERCEIVER: split.perceiver})


@pytest.fixture
def chest_id(ctx: ToolContext, tmp_path: Path) -> str:
    return register(ctx, chest_png(tmp_path / "chest.png"))
