"""Phenotype-driven disease ranking measured on the vignettes in phenotypes_cases.json.

Each vignette goes through the same path as the tool: terms extracted from the text,
then OMIM and Orphanet diseases ranked by similarity. The rank of the true disease
(any of its ids, or a candidate whose name carries its name) gives top-1/5/10 and the
mean reciprocal rank. Prints one JSON line.

    .venv/bin/python benchmarks/phenotypes_rank.py [--ranks]
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from knowledge.phenotypes import most_specific, rank, release, terms_in_text

DATA = Path(__file__).with_name("phenotypes_cases.json")
DEPTH = 50


def main() -> None:
    cases = json.loads(DATA.read_text(encoding="utf-8"))["cases"]
    most_specific(terms_in_text("warm-up"))
    ranks: list[int | None] = []
    times: list[float] = []
    for case in cases:
        started = time.perf_counter()
        found = most_specific(terms_in_text(case["text"]))
        ranked = rank([f.hpo_id for f in found], k=DEPTH)
        times.append(time.perf_counter() - started)
        position = None
        for number, candidate in enumerate(ranked, start=1):
            ids = {candidate.disease_id, *candidate.other_ids}
            if ids & set(case["ids"]) or case["name"] in candidate.name.lower():
                position = number
                break
        ranks.append(position)

    def top(n: int) -> float:
        return round(sum(1 for r in ranks if r is not None and r <= n) / len(ranks), 3)

    print(
        json.dumps(
            {
                "benchmark": "phenotypes_rank",
                "cases": len(cases),
                "top1": top(1),
                "top5": top(5),
                "top10": top(10),
                "mrr": round(statistics.fmean(1 / r if r else 0.0 for r in ranks), 3),
                "not_in_top": DEPTH,
                "not_found": sum(1 for r in ranks if r is None),
                "median_s_per_case": round(statistics.median(times), 3),
                "data": release(),
                "ranks": ranks if "--ranks" in sys.argv else None,
                "machine": platform.machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
