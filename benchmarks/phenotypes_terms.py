"""HPO term extraction measured on labelled descriptions (phenotypes_terms*.json).

Strict: a term counts when its id is the curator's id. Lenient: also when it is an
ancestor or a descendant of one (a less or more specific term for the same finding).
Micro-averaged over all descriptions. Prints one JSON line.

    .venv/bin/python benchmarks/phenotypes_terms.py            # development set (44)
    .venv/bin/python benchmarks/phenotypes_terms.py --heldout  # held-out set (20)
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from knowledge.phenotypes import most_specific, release, term, terms_in_text

DATA = Path(__file__).with_name("phenotypes_terms.json")
HELDOUT = Path(__file__).with_name("phenotypes_terms_heldout.json")


def _related(a: str, b: str) -> bool:
    ta, tb = term(a), term(b)
    if ta is None or tb is None:
        return False
    return a == b or ta.child_of(tb) or tb.child_of(ta)


def prf(t: int, p: int, n: int) -> dict[str, float]:
    """Precision, recall and F1 from true positives, false positives, false negatives."""
    precision = t / (t + p) if t + p else 0.0
    recall = t / (t + n) if t + n else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3)}


def main() -> None:
    data = HELDOUT if "--heldout" in sys.argv else DATA
    items = json.loads(data.read_text(encoding="utf-8"))["items"]
    started = time.perf_counter()
    most_specific(terms_in_text("warm-up"))
    load_s = time.perf_counter() - started
    tp = fp = fn = lenient_tp = lenient_fp = lenient_fn = 0
    misses: list[dict[str, object]] = []
    started = time.perf_counter()
    for item in items:
        gold = set(item["terms"])
        found = {f.hpo_id for f in most_specific(terms_in_text(item["text"]))}
        tp += len(found & gold)
        fp += len(found - gold)
        fn += len(gold - found)
        lenient_tp += sum(1 for f in found if any(_related(f, g) for g in gold))
        lenient_fp += sum(1 for f in found if not any(_related(f, g) for g in gold))
        lenient_fn += sum(1 for g in gold if not any(_related(f, g) for f in found))
        if found != gold:
            misses.append(
                {
                    "text": item["text"][:60],
                    "extra": sorted(found - gold),
                    "missed": sorted(gold - found),
                }
            )
    elapsed = time.perf_counter() - started
    print(
        json.dumps(
            {
                "benchmark": "phenotypes_terms",
                "set": data.name,
                "descriptions": len(items),
                "gold_terms": tp + fn,
                "strict": prf(tp, fp, fn),
                "lenient": prf(lenient_tp, lenient_fp, lenient_fn),
                "lexicon_load_s": round(load_s, 2),
                "ms_per_description": round(1000 * elapsed / len(items), 2),
                "data": release(),
                "misses": misses if "--misses" in sys.argv else len(misses),
                "machine": platform.machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
