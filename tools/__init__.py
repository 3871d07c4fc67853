"""What the model can call: plain typed functions, one module per concern."""

from __future__ import annotations

from langchain_core.tools import BaseTool

from tools.imaging import IMAGING_TOOLS

ALL_TOOLS: list[BaseTool] = [*IMAGING_TOOLS]

__all__ = ["ALL_TOOLS"]
