"""What the derived-image tools tell the model: in the default mode the view is shown to it
as the next image; in split mode (a perceiver in the context) the planner is sent no pixels,
so the text tells it to pass the view's id to ``look``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langchain_core.tools import BaseTool
from PIL import Image

from knowledge.imaging import ImageStore
from tests.split.conftest import call, chest_png, register
from tools.evidence import EvidenceLedger
from tools.imaging import enhance, select_slice, window, zoom
from tools.runtime import ToolContext

VIEWS: list[tuple[BaseTool, dict[str, Any]]] = [
    (zoom, {"box": [0.5, 0.0, 1.0, 0.5]}),
    (window, {"center": 128, "width": 200}),
    (enhance, {"method": "clahe"}),
    (select_slice, {"index": 0}),
]


def source(ctx: ToolContext, tmp_path: Path, tool: BaseTool) -> str:
    """A registered image: a three-frame TIFF for ``select_slice``, else a PNG."""
    if tool is not select_slice:
        return register(ctx, chest_png(tmp_path / "chest.png"))
    frames = [Image.fromarray(np.full((32, 32), 60 * n, dtype=np.uint8)) for n in range(3)]
    frames[0].save(tmp_path / "series.tif", save_all=True, append_images=frames[1:])
    return register(ctx, tmp_path / "series.tif")


@pytest.mark.parametrize(("tool", "args"), VIEWS, ids=[t.name for t, _ in VIEWS])
def test_split_mode_points_the_planner_at_look(
    ctx: ToolContext, tmp_path: Path, tool: BaseTool, args: dict[str, Any]
) -> None:
    key = "series_id" if tool is select_slice else "image_id"
    message = call(tool, ctx, **{key: source(ctx, tmp_path, tool)}, **args)
    view = message.artifact["images"][0]
    assert f"call look with [{view}]" in message.content
    assert "shown to you" not in message.content


@pytest.mark.parametrize(("tool", "args"), VIEWS, ids=[t.name for t, _ in VIEWS])
def test_the_default_mode_shows_the_view_as_the_next_image(
    tmp_path: Path, tool: BaseTool, args: dict[str, Any]
) -> None:
    ctx = ToolContext(ledger=EvidenceLedger(), images=ImageStore(tmp_path / "store"))
    key = "series_id" if tool is select_slice else "image_id"
    message = call(tool, ctx, **{key: source(ctx, tmp_path, tool)}, **args)
    assert message.content.endswith("It is shown to you as the next image.")
    assert "look" not in message.content
