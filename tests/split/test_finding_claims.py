"""Claims citing Lingshu's findings (F#) are held to what Lingshu said it saw."""

from __future__ import annotations

from typing import Any

import pytest

from agent.claims import check_claim

SAID = "A 12 mm rounded opacity in the right lower zone; no pleural effusion."


def evidence(said: str = SAID, spacing: list[float] | None = None) -> dict[str, Any]:
    image: dict[str, Any] = {"path": "x.png", "width": 512, "height": 512}
    if spacing:
        image["spacing"] = spacing
    return {
        "I1": {
            "id": "I1",
            "kind": "image",
            "key": "a",
            "label": "CXR",
            "excerpt": "",
            "citation": image,
        },
        "F1": {
            "id": "F1",
            "kind": "finding",
            "key": "b",
            "label": "Lingshu on I1",
            "excerpt": said,
            "citation": {"images": ["I1"], "question": "?", "model": "lingshu"},
        },
    }


@pytest.mark.parametrize(
    ("claim", "status", "reason"),
    [
        ("A rounded opacity in the right lower zone [F1].", "checked", "the vision model said so"),
        ("A 1.2 cm rounded opacity in the right lower zone [F1].", "checked", "spans"),
        ("A 20 mm rounded opacity in the right lower zone [F1].", "mismatch", "20 mm is not"),
        ("Three nodules in the right lower zone [F1].", "checked", "said so"),
        ("3 nodules in the right lower zone [F1].", "mismatch", "3 is not in what"),
        ("A rounded opacity in the left lower zone [F1].", "mismatch", "says left"),
        ("A rounded opacity in the right upper zone [F1].", "mismatch", "says upper"),
        ("Cardiomegaly with hilar fullness [F1].", "unchecked", "not those of the vision"),
        (
            "A right lower zone opacity with a pleural effusion [F1].",
            "mismatch",
            "denied: effusion, pleural",
        ),
        (
            "A right lower opacity; the pleural effusion is small [F1].",
            "mismatch",
            "denied: effusion, pleural",
        ),
        ("A right lower zone opacity, no pleural effusion [F1].", "checked", "said so"),
        ("Right lower zone: pleural effusion is absent [F1].", "checked", "said so"),
        (
            "No rounded opacity in the right lower zone [F1].",
            "mismatch",
            "it sees: opacity, rounded",
        ),
        ("The right lower zone opacity is not rounded [F1].", "mismatch", "it sees: rounded"),
        ("A rounded opacity in the right lower zone [F2].", "mismatch", "F2 not in"),
    ],
)
def test_a_claim_is_held_to_the_finding_it_cites(claim: str, status: str, reason: str) -> None:
    ids = [i for i in ("F1", "F2") if f"[{i}]" in claim]
    verdict = check_claim(claim, ids, evidence(spacing=[0.5, 0.5]), max_pixels=512 * 512)
    assert verdict.status == status, verdict
    assert reason in verdict.reason, verdict


def test_both_sides_said_allows_either_side_and_a_size_needs_the_pixels() -> None:
    both = evidence("Bilateral lower zone opacities, about 4 mm.", spacing=[2.0, 2.0])
    assert check_claim("Left lower zone opacity [F1].", ["F1"], both).status == "checked"
    small = check_claim("A 4 mm left lower opacity [F1].", ["F1"], both, max_pixels=512 * 512)
    assert small.status == "mismatch" and "under 3 pixels in I1" in small.reason
