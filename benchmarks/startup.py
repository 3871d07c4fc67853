"""Start-up figures a user meets first: CLI start, the first starter store, the first search.

Each figure is measured in a fresh Python process (as a user's command would run),
``--repeat`` times; the median wall time is reported with the median CPU time
(user + system) of the child, because wall time on a shared machine includes
waiting for a core. The load average at the start is reported beside them.

- ``help_s``: ``lingshu --help``.
- ``patients_s``: ``lingshu patients`` over the synthetic demo EHR.
- ``starter_store_ready_s``: a fresh process opens a new folder and makes the whole
  starter store (project corpus + open-medicine) ready to search, imports included
  (``ensure_starter_store``; the shipped vectors are used, nothing is embedded).
- ``starter_store_reopen_s``: the same again on the ready store (hashes compared).
- ``first_search_s``: a fresh process opens the ready store and runs one guideline
  search, imports and embedding-model loading included; ``warm_search_ms`` is the
  next search in that process.

    .venv/bin/python benchmarks/startup.py [--repeat 3]

prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LINGSHU = [sys.executable, "-m", "agent.cli"]
ENV = os.environ | {"HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}

STORE = """
import sys, time
from pathlib import Path
started = time.perf_counter()
from knowledge.guidelines import ensure_starter_store
store = ensure_starter_store(Path(sys.argv[1]))
print(store.count(), time.perf_counter() - started)
"""

SEARCH = """
import sys, time
from pathlib import Path
started = time.perf_counter()
from knowledge.guidelines import GuidelineStore
store = GuidelineStore.open(Path(sys.argv[1]), create=False)
hits = store.search("Fever, cough and right basal crackles. Differential?", k=5)
first = time.perf_counter() - started
started = time.perf_counter()
store.search("sudden pleuritic chest pain after a long flight", k=5)
warm = time.perf_counter() - started
print(hits[0].chunk.title, "|", first, warm)
"""


def _run(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, child CPU seconds and stdout of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=ENV, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def _median(runs: list[tuple[float, float, str]]) -> dict[str, float]:
    return {
        "wall_s": round(statistics.median(r[0] for r in runs), 2),
        "cpu_s": round(statistics.median(r[1] for r in runs), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    line: dict[str, Any] = {"benchmark": "startup", "load_avg_1m": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        line["help_s"] = _median([_run([*LINGSHU, "--help"]) for _ in range(args.repeat)])
        _run([*LINGSHU, "ehr", "load-demo", "--data-dir", str(data)])
        patients = [
            _run([*LINGSHU, "patients", "--data-dir", str(data)]) for _ in range(args.repeat)
        ]
        line["patients_s"] = _median(patients)
        line["patients_listed"] = len([x for x in patients[0][2].splitlines() if x.strip()])

        ready: list[tuple[float, float, str]] = []
        for i in range(args.repeat):
            folder = Path(tmp) / f"store-{i}"
            ready.append(_run([sys.executable, "-c", STORE, str(folder)]))
            if i < args.repeat - 1:
                shutil.rmtree(folder)
        store = Path(tmp) / f"store-{args.repeat - 1}"
        line["starter_store_ready_s"] = _median(ready)
        line["starter_chunks"] = int(ready[-1][2].split()[0])
        reopen = [_run([sys.executable, "-c", STORE, str(store)]) for _ in range(args.repeat)]
        line["starter_store_reopen_s"] = _median(reopen)

        searches = [_run([sys.executable, "-c", SEARCH, str(store)]) for _ in range(args.repeat)]
        line["first_search_process_s"] = _median(searches)
        parsed = [s[2].strip().rsplit("|", 1) for s in searches]
        line["first_search_s"] = round(statistics.median(float(p[1].split()[0]) for p in parsed), 2)
        line["warm_search_ms"] = round(
            1000 * statistics.median(float(p[1].split()[1]) for p in parsed), 1
        )
        line["first_hit"] = parsed[0][0].strip()
    line["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(line))


if __name__ == "__main__":
    main()
