"""Report mode: a statement citing Lingshu's finding on an image (F#) cites that image."""

from __future__ import annotations

from typing import Any

import pytest

from agent.verification import verify_reply
from tests.split.test_finding_claims import evidence

NEEDS_IMAGE = "must cite the images they come from"


def report(cited: str) -> str:
    return (
        f"Findings: a rounded opacity in the right lower zone {cited}.\n"
        f"Impression: right lower zone opacity {cited}."
    )


@pytest.mark.parametrize(
    ("cited", "accepted"),
    [
        ("[F1]", True),  # Lingshu's finding on I1 points at I1
        ("[I1]", True),
        ("[F1, I1]", True),
        ("[E1]", False),  # record evidence only: no image cited
        ("[F2]", False),  # a finding on an image this session does not hold
        ("", False),
    ],
)
def test_a_finding_on_a_session_image_counts_as_citing_it(cited: str, accepted: bool) -> None:
    records: dict[str, Any] = evidence()
    records["F2"] = {**records["F1"], "id": "F2", "key": "c", "citation": {"images": ["I7"]}}
    records["E1"] = {
        "id": "E1",
        "kind": "ehr",
        "key": "Observation/x",
        "label": "CXR report",
        "excerpt": "Rounded opacity in the right lower zone.",
        "citation": {},
    }
    verdict = verify_reply(report(cited), records, mode="report")
    problems = [p for p in verdict.problems if NEEDS_IMAGE in p]
    assert (problems == []) is accepted, verdict.problems
