"""Lab and vital trends read as a clinician would: latest against previous and the peak or nadir."""

from __future__ import annotations

import pytest

from knowledge.ehr import EmbeddedFhirStore
from knowledge.ehr.records import Measurement, describe_series, trend
from tests.ehr.conftest import call, context


def _series(values: list[float], days: list[int] | None = None) -> list[Measurement]:
    days = days or list(range(1, len(values) + 1))
    return [
        Measurement(
            f"Observation/o{i}",
            f"2026-03-{d:02d}T08:00:00",
            "1988-5",
            "",
            "CRP",
            v,
            f"{v:g}",
            "mg/L",
        )
        for i, (v, d) in enumerate(zip(values, days, strict=True))
    ]


@pytest.mark.parametrize(
    ("values", "shape", "says", "never"),
    [
        (
            [4, 186, 92],
            "peaked",
            "rose from 4 to a peak of 186 mg/L on 2026-03-02, then fell to 92 "
            "on 2026-03-03 (-51% from the peak)",
            "rising",
        ),
        (
            [140, 120, 135],
            "troughed",
            "fell from 140 to a low of 120 mg/L on 2026-03-02, then rose to 135 on 2026-03-03",
            "falling",
        ),
        (
            [52, 80, 96],
            "rising",
            "rising, 52 -> 96 mg/L over 2 days (+85%); latest 96 on "
            "2026-03-03, previous 80 on 2026-03-02",
            "fell",
        ),
        ([100, 60, 40], "falling", "falling, 100 -> 40 mg/L over 2 days (-60%)", "ris"),
        (
            [10, 10.2, 9.9, 10.1],
            "stable",
            "stable, 10 -> 10.1 mg/L over 3 days (range 9.9-10.2)",
            "ris",
        ),
        ([50, 60, 57, 70, 68, 80], "rising", "rising, 50 -> 80 mg/L", "fluctuat"),
        (
            [5, 9, 4, 10, 3],
            "fluctuating",
            "fluctuating between 3 (2026-03-05) and 10 mg/L "
            "(2026-03-04) over 4 days; latest 3 on 2026-03-05, previous 10 on 2026-03-04",
            "rising",
        ),
    ],
)
def test_series_shapes(values: list[float], shape: str, says: str, never: str) -> None:
    described = describe_series(_series(values))
    assert described.shape == shape
    assert says in described.text
    assert never not in described.text and never not in described.brief


def test_single_value_and_text_values_have_no_trend() -> None:
    assert trend(_series([7])) == ""
    assert describe_series(_series([7])).brief == "single value"
    positive = Measurement("Observation/p", "2026-03-01", "x", "", "culture", None, "positive", "")
    assert trend([positive, positive]) == ""


def test_peak_then_fall_with_an_earlier_previous_value_names_both() -> None:
    described = describe_series(_series([4, 186, 120, 92]))
    assert described.shape == "peaked"
    assert "then fell to 92 on 2026-03-04" in described.text
    assert "previous 120 on 2026-03-03" in described.text
    assert described.brief == "down from peak 186 on 2026-03-02"


def test_within_two_days_the_times_are_given() -> None:
    values = _series([4, 186, 92])
    hours = [
        Measurement(m.ref, f"2026-03-01T0{h}:00:00", m.code, "", m.display, m.value, m.text, m.unit)
        for m, h in zip(values, (1, 5, 9), strict=True)
    ]
    assert "peak of 186 mg/L on 2026-03-01 05:00, then fell to 92 on 2026-03-01 09:00" in trend(
        hours
    )


def test_crp_that_fell_after_its_peak_reads_so_in_tool_and_synopsis(
    demo_store: EmbeddedFhirStore,
) -> None:
    ctx = context(demo_store, "pneumonia")
    labs = str(call(ctx, "get_labs", name_or_loinc="CRP").content)
    assert "trend: rose from 4 to a peak of 186 mg/L on 2026-01-14" in labs
    assert "then fell to 92 on 2026-01-16" in labs
    assert "rising" not in labs
    synopsis = str(call(context(demo_store, "pneumonia"), "patient_summary").content)
    assert "CRP 92 mg/L H (2026-01-16 07:30, down from peak 186 on 2026-01-14)" in synopsis
    assert "rising" not in synopsis
