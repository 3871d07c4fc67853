"""Image claims (I#): a size needs a cited view that showed it across enough pixels."""

from __future__ import annotations

from typing import Any

from agent.claims import check_claim

MAX_PIXELS = 1280 * 28 * 28


def image(eid: str, width: int, spacing: float, parent: str | None = None) -> dict[str, Any]:
    citation: dict[str, Any] = {"width": width, "height": width, "spacing": [spacing, spacing]}
    if parent:
        citation["parent"] = parent
    return {
        "id": eid,
        "kind": "image",
        "key": eid,
        "label": eid,
        "excerpt": "",
        "citation": citation,
    }


EVIDENCE = {
    "I1": image("I1", 2048, 0.7),  # a CT slice, shown downscaled to the pixel budget
    "I2": image("I2", 512, 0.2, parent="I1"),  # a zoomed crop of it
}


def test_a_small_finding_cited_to_the_downscaled_image_is_marked() -> None:
    verdict = check_claim(
        "A 3 mm nodule in the right upper lobe", ["I1"], EVIDENCE, max_pixels=MAX_PIXELS
    )  # type: ignore[arg-type]
    assert verdict.status == "mismatch"
    assert "under 3 pixels in I1" in verdict.reason and "zoom" in verdict.reason


def test_the_same_finding_cited_to_the_zoomed_view_is_checked() -> None:
    verdict = check_claim(
        "A 3 mm nodule in the right upper lobe", ["I2"], EVIDENCE, max_pixels=MAX_PIXELS
    )  # type: ignore[arg-type]
    assert verdict.status == "checked" and "I2" in verdict.reason


def test_a_region_claim_without_a_size_names_the_view_it_cites() -> None:
    verdict = check_claim(
        "Consolidation at the right base", ["I2"], EVIDENCE, max_pixels=MAX_PIXELS
    )  # type: ignore[arg-type]
    assert verdict.status == "checked" and "the view I2" in verdict.reason
