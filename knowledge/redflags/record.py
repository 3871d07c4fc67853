"""The patient's current episode, read through any ``knowledge.ehr`` FHIR source.

The episode is the 24 hours up to the newest dated entry of the record that is not
after ``now`` (observations and notes), plus the active conditions dated within
72 hours of it. Older entries do not raise red flags: a blood pressure of last year
says nothing about today.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from knowledge.ehr.parse import date_of
from knowledge.ehr.records import clinical_status, concept_text, measurements, note_text
from knowledge.ehr.source import FhirSource
from knowledge.redflags.text import Measure

EPISODE = timedelta(hours=24)
CONDITION_WINDOW = timedelta(hours=72)
_SEARCH_COUNT = 500


@dataclass(frozen=True)
class Entry:
    """A text or a value from the record, with the resource it came from."""

    resource: dict[str, Any]
    """``{"resource_type", "id", "date", "label"}``: what the graph cites as ``E#``."""
    when: datetime | None
    text: str = ""
    value: float | None = None
    code: str = ""


def parse_when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value if "T" in value else value[:10])
    except ValueError:
        return None


def _ref(resource: dict[str, Any], label: str) -> dict[str, Any]:
    return {
        "resource_type": str(resource.get("resourceType")),
        "id": str(resource.get("id")),
        "date": date_of(resource),
        "label": label,
    }


@dataclass
class Episode:
    """Observations, notes and active conditions of the patient's current episode."""

    values: list[Entry] = field(default_factory=list)
    texts: list[Entry] = field(default_factory=list)
    end: datetime | None = None

    @classmethod
    def read(cls, ehr: FhirSource, patient_id: str, now: datetime) -> Episode:
        observations = _dated(ehr.search("Observation", patient_id, count=_SEARCH_COUNT), now)
        notes = _dated(ehr.search("DocumentReference", patient_id, count=_SEARCH_COUNT), now)
        newest = [when for when, _ in [*observations, *notes]]
        if not newest:
            return cls()
        end = max(newest)
        start = end - EPISODE
        episode = cls(end=end)
        for when, obs in observations:
            if when >= start:
                episode.values.extend(_values(obs, when))
        for when, doc in notes:
            if when >= start:
                title = concept_text(doc.get("type")) or "Note"
                episode.texts.append(
                    Entry(_ref(doc, f"{title} ({when:%Y-%m-%d %H:%M})"), when, note_text(doc))
                )
        conditions = _dated(ehr.search("Condition", patient_id, count=_SEARCH_COUNT), now)
        for when, cond in conditions:
            if when >= end - CONDITION_WINDOW and clinical_status(cond) in {"", "active"}:
                name = concept_text(cond.get("code"), "http://snomed.info/sct")
                onset = parse_when(cond.get("onsetDateTime"))
                episode.texts.append(Entry(_ref(cond, f"Condition: {name}"), onset, name))
        return episode

    def measured(self, measure: Measure) -> list[Entry]:
        """Values of ``measure`` in the episode, newest first."""
        found = [e for e in self.values if e.code in measure.loinc]
        return sorted(found, key=lambda e: e.when or datetime.min, reverse=True)


def _dated(resources: list[dict[str, Any]], now: datetime) -> list[tuple[datetime, dict[str, Any]]]:
    found = []
    for resource in resources:
        when = parse_when(date_of(resource))
        if when is not None and when <= now:
            found.append((when, resource))
    return found


def _values(observation: dict[str, Any], when: datetime) -> list[Entry]:
    entries = []
    for m in measurements(observation):
        if m.value is None:
            continue
        label = f"{m.display} {m.text} {m.unit} ({when:%Y-%m-%d %H:%M})".replace("  ", " ")
        entries.append(Entry(_ref(observation, label), when, value=m.value, code=m.code))
    return entries
