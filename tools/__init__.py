"""What the model can call: plain typed functions, one module per concern.

Each tool declares the context parts it needs (``metadata["requires"]``); the graph
offers the model only the tools whose stores are configured for the session.
"""

from __future__ import annotations

from langchain_core.tools import BaseTool

from tools.coding import CODING_TOOLS
from tools.ehr import EHR_TOOLS
from tools.guidelines import GUIDELINE_TOOLS
from tools.imaging import IMAGING_TOOLS
from tools.phenotypes import PHENOTYPE_TOOLS
from tools.scores import SCORE_TOOLS

ALL_TOOLS: list[BaseTool] = [
    *GUIDELINE_TOOLS,
    *EHR_TOOLS,
    *IMAGING_TOOLS,
    *CODING_TOOLS,
    *SCORE_TOOLS,
    *PHENOTYPE_TOOLS,
]

__all__ = [
    "ALL_TOOLS",
    "CODING_TOOLS",
    "EHR_TOOLS",
    "GUIDELINE_TOOLS",
    "IMAGING_TOOLS",
    "PHENOTYPE_TOOLS",
    "SCORE_TOOLS",
]
