"""Tools with the schema shapes the constraint must handle, for the constrained-decoding tests.

Nested objects, enums, arrays, optional fields and a ``zoom`` whose box holds fractions
0 <= x <= 1. The functions only echo: the tests are about the calls, not the results.
"""

from __future__ import annotations

from typing import Annotated, Literal

from langchain_core.tools import BaseTool, tool
from pydantic import BaseModel, Field

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class Window(BaseModel):
    """A display window."""

    center: int = Field(ge=-1000, le=3000)
    width: int = Field(ge=1, le=4000)


@tool(parse_docstring=True)
def zoom(
    image_id: str,
    box: Annotated[list[Fraction], Field(min_length=4, max_length=4)],
    scale: Annotated[float, Field(ge=1.0, le=8.0)] = 2.0,
) -> str:
    """Zoom into a region of an image.

    Args:
        image_id: Id of the image, e.g. "I1".
        box: Region as [x0, y0, x1, y1], fractions 0-1 of width and height.
        scale: Magnification, 1 to 8.
    """
    return f"zoomed {image_id} {box} x{scale}"


@tool(parse_docstring=True)
def set_window(
    image_id: str,
    window: Window,
    preset: Literal["lung", "bone", "brain"] | None = None,
) -> str:
    """Apply a display window to an image.

    Args:
        image_id: Id of the image.
        window: Centre and width in HU.
        preset: A named preset instead of centre and width.
    """
    return f"windowed {image_id} {window} {preset}"


@tool(parse_docstring=True)
def search_guidelines(query: str, k: Annotated[int, Field(ge=1, le=10)] = 5) -> str:
    """Search the guideline store.

    Args:
        query: What to look for, in clinical words.
        k: How many passages, 1 to 10.
    """
    return f"{k} passages for {query}"


@tool
def list_images() -> str:
    """List the images of this session."""
    return "I1"


CONSTRAINT_TOOLS: list[BaseTool] = [zoom, set_window, search_guidelines, list_images]
