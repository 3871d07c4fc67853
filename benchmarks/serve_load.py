"""Load on the HTTP service: N concurrent sessions x 3 turns through the real HTTP path.

`lingshu serve` runs as its own process; the model is a loopback OpenAI-wire server
that answers every request after a fixed delay (200 ms). Added latency is the
turn's wall time minus the model's time (one model call per turn here).

    .venv/bin/python benchmarks/serve_load.py [--sessions 50 200] [--turns 3] [--delay-ms 200]
        [--postgres postgresql://...]

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.server.conftest import ServeProcess  # noqa: E402
from tests.server.model_server import DelayedModelServer  # noqa: E402

ANSWER = "Chest pain with ST changes: exclude acute coronary syndrome first."


async def one_session(
    http: httpx.AsyncClient, turns: int, latencies: list[float], errors: list[str]
) -> None:
    made = await http.post("/v1/sessions", json={})
    if made.status_code != 201:
        errors.append(f"create {made.status_code}")
        return
    sid = made.json()["session_id"]
    for i in range(turns):
        start = time.perf_counter()
        try:
            res = await http.post(f"/v1/sessions/{sid}/turns", json={"text": f"Question {i + 1}"})
        except httpx.HTTPError as exc:
            errors.append(type(exc).__name__)
            continue
        elapsed = time.perf_counter() - start
        if res.status_code != 200 or res.json().get("produced_by") != "model":
            reason = res.json().get("model_error") or "" if res.status_code == 200 else ""
            errors.append(f"turn {res.status_code} {reason[:60]}".strip())
            continue
        latencies.append(elapsed)


async def run_level(url: str, sessions: int, turns: int, delay_s: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=sessions, max_keepalive_connections=sessions)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        await one_session(http, 1, [], [])  # warm-up
        start = time.perf_counter()
        await asyncio.gather(
            *(one_session(http, turns, latencies, errors) for _ in range(sessions))
        )
        wall = time.perf_counter() - start
    added = sorted((t - delay_s) * 1000 for t in latencies)
    return {
        "sessions": sessions,
        "turns": sessions * turns,
        "completed_turns": len(latencies),
        "errors": len(errors),
        "error_kinds": {kind: errors.count(kind) for kind in sorted(set(errors))},
        "wall_s": round(wall, 2),
        "throughput_turns_per_s": round(len(latencies) / wall, 1),
        "p50_added_ms": round(statistics.median(added), 1) if added else None,
        "p95_added_ms": round(added[int(0.95 * (len(added) - 1))], 1) if added else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--delay-ms", type=float, default=200.0)
    parser.add_argument("--postgres", help="postgresql:// URL (default: SQLite)")
    parser.add_argument("--workers", type=int, default=1, help="server workers (needs --postgres)")
    args = parser.parse_args()
    delay = args.delay_ms / 1000
    results = []
    with tempfile.TemporaryDirectory() as tmp, DelayedModelServer(lambda _: ANSWER, delay) as model:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LINGSHU_")}
        env |= {
            "LINGSHU_DATA_DIR": str(Path(tmp) / "data"),
            "LINGSHU_CONFIG": str(Path(tmp) / "none.toml"),
            "LINGSHU_BASE_URL": model.base_url,
            "LINGSHU_SERVER_THREADS": str(max(args.sessions) + 8),
            "PYTHONPATH": str(ROOT),
            "HF_HUB_OFFLINE": "1",
        }
        if args.postgres:
            env["LINGSHU_CHECKPOINT_URL"] = args.postgres
        server = ServeProcess(
            env, Path(tmp) / "serve.log", "--log-level", "warning", "--workers", str(args.workers)
        )
        try:
            for n in args.sessions:
                results.append(asyncio.run(run_level(server.url, n, args.turns, delay)))
        finally:
            server.stop()
    print(
        json.dumps(
            {
                "benchmark": "serve_load",
                "model_delay_ms": args.delay_ms,
                "turns_per_session": args.turns,
                "sessions_store": "postgres" if args.postgres else "sqlite",
                "workers": args.workers,
                "cpus": os.cpu_count(),
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
