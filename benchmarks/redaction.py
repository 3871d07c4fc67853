"""Precision and recall of the free-text identifier redaction on labelled notes.

The notes (benchmarks/redaction_notes.json) are synthetic, with every identifier marked
``[[kind|text]]``: the patient's and other people's names, record numbers, birth dates,
addresses, phone numbers, e-mail addresses, SSNs, including people who are not in the
record (which the redactor cannot know) and everyday words that are also names. Each
note is redacted with the identity read from its patient's record (Patient,
RelatedPerson, Practitioner), as knowledge/ehr/redact.py does for the tools.

- recall: labelled identifiers whose every character was redacted;
- precision: redacted spans that overlap a labelled identifier;
- leaked: labelled identifiers with any character left (the complement of recall).

Prints one JSON line.

    .venv/bin/python benchmarks/redaction.py
"""

from __future__ import annotations

import json
import platform
import re
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from knowledge.ehr.redact import Redactor, identity_of

NOTES = Path(__file__).with_name("redaction_notes.json")
_MARK = re.compile(r"\[\[([^|\]]+)\|([^\]]+)\]\]")


def unmark(text: str) -> tuple[str, list[tuple[int, int, str]]]:
    """Plain text and the labelled spans (start, end, kind)."""
    plain, spans, last = "", [], 0
    for m in _MARK.finditer(text):
        plain += text[last : m.start()]
        spans.append((len(plain), len(plain) + len(m.group(2)), m.group(1)))
        plain += m.group(2)
        last = m.end()
    return plain + text[last:], spans


def main() -> None:
    data = json.loads(NOTES.read_text(encoding="utf-8"))
    redactors = {
        pid: Redactor(identity_of(p["patient"], p["related"]))
        for pid, p in data["patients"].items()
    }
    caught, labelled, true_pos, predicted = Counter(), Counter(), 0, 0
    missed: list[str] = []
    false_pos: list[str] = []
    started = time.perf_counter()
    for note in data["notes"]:
        text, gold = unmark(note["text"])
        found = redactors[note["patient"]].spans(text)
        covered = set()
        for span in found:
            covered.update(range(span.start, span.end))
        for start, end, kind in gold:
            labelled[kind] += 1
            chars = {i for i in range(start, end) if not text[i].isspace()}
            if chars <= covered:
                caught[kind] += 1
            else:
                missed.append(f"{kind}: {text[start:end]}")
        for span in found:
            predicted += 1
            if any(span.start < end and start < span.end for start, end, _ in gold):
                true_pos += 1
            else:
                false_pos.append(f"{span.kind}: {text[span.start : span.end]}")
    elapsed = time.perf_counter() - started
    total = sum(labelled.values())
    print(
        json.dumps(
            {
                "benchmark": "redaction",
                "notes": len(data["notes"]),
                "labelled_identifiers": total,
                "recall": round(sum(caught.values()) / total, 3),
                "precision": round(true_pos / predicted, 3) if predicted else None,
                "leaked": total - sum(caught.values()),
                "recall_by_kind": {k: f"{caught[k]}/{labelled[k]}" for k in sorted(labelled)},
                "missed": missed,
                "false_positives": false_pos,
                "ms_per_note": round(1000 * elapsed / len(data["notes"]), 2),
                "machine": f"{platform.machine()} {platform.system()}",
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
