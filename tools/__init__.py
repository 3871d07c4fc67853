"""What the model can call: plain typed functions, one module per concern."""

from __future__ import annotations

from langchain_core.tools import BaseTool

ALL_TOOLS: list[BaseTool] = []

__all__ = ["ALL_TOOLS"]
