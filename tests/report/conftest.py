from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.report.answers import build_answer


@pytest.fixture
def built(tmp_path: Path) -> tuple[dict[str, Any], Path]:
    """(answer, image store folder) of a chest-pain consultation with a zoomed film."""
    return build_answer(tmp_path)
