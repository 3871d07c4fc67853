"""Load on the HTTP service: N concurrent sessions x 3 turns through the real HTTP path.

`lingshu serve` runs as its own process; the model is a loopback OpenAI-wire server,
also its own process, that answers every request after a fixed delay (200 ms). Added
latency is the turn's wall time minus the model's delay (one model call per turn here).

Sessions start spread evenly over ``--ramp-ms`` (default: one model delay), as users
do; ``--ramp-ms 0`` starts them all in the same instant, the worst case, where the
first turns of every session queue behind each other. ``calibration`` is the same
client calling the model server directly, with the same sessions and ramp: the floor
this harness measures when the agent adds nothing.

    .venv/bin/python benchmarks/serve_load.py [--sessions 50 200] [--turns 3] [--delay-ms 200]
        [--ramp-ms 200] [--workers 1] [--checkpoint-every step|turn] [--repeats 1]
        [--postgres postgresql://...]

``--repeats R`` runs each level R times against the same server (new sessions each
time); ``summary`` then gives, per level, every run's p95 and how many were within
``--target-ms`` (50: the issue's target at N = 50). On a shared 2-core machine one
run says little about the tail. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from testing.loopback import free_port  # noqa: E402
from testing.serve import ServeProcess  # noqa: E402

ANSWER = "Chest pain with ST changes: exclude acute coronary syndrome first."


class ModelProcess:
    """``python -m testing.model_server`` on a free port, until stopped."""

    def __init__(self, delay_ms: float) -> None:
        port = free_port()
        argv = [sys.executable, "-m", "testing.model_server", "--port", str(port)]
        argv += ["--delay-ms", str(delay_ms), "--answer", ANSWER]
        self.proc = subprocess.Popen(argv, cwd=ROOT)
        self.base_url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(self.base_url + "/models", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("the model server did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children so far (Linux /proc)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        mine = int(stat.parent.name) == pid
        if mine or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


async def post(http: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> tuple[int, Any]:
    async with http.post(url, json=body) as res:
        return res.status, await res.json(content_type=None)


async def agent_session(
    http: aiohttp.ClientSession, url: str, turns: int, latencies: list[float], errors: list[str]
) -> None:
    status, made = await post(http, url + "/v1/sessions", {})
    if status != 201:
        errors.append(f"create {status}")
        return
    sid = made["session_id"]
    for i in range(turns):
        start = time.perf_counter()
        try:
            status, res = await post(
                http, f"{url}/v1/sessions/{sid}/turns", {"text": f"Question {i + 1}"}
            )
        except aiohttp.ClientError as exc:
            errors.append(type(exc).__name__)
            continue
        elapsed = time.perf_counter() - start
        if status != 200 or res.get("produced_by") != "model":
            reason = (res.get("model_error") or "") if status == 200 else ""
            errors.append(f"turn {status} {reason[:60]}".strip())
            continue
        latencies.append(elapsed)


async def model_session(
    http: aiohttp.ClientSession, url: str, turns: int, latencies: list[float], errors: list[str]
) -> None:
    """The calibration: the same turns sent straight to the model server."""
    for i in range(turns):
        body = {"model": "lingshu", "messages": [{"role": "user", "content": f"Question {i}"}]}
        start = time.perf_counter()
        try:
            status, _ = await post(http, url + "/chat/completions", body)
        except aiohttp.ClientError as exc:
            errors.append(type(exc).__name__)
            continue
        if status != 200:
            errors.append(f"model {status}")
            continue
        latencies.append(time.perf_counter() - start)


async def run_level(
    url: str,
    session: Any,
    sessions: int,
    turns: int,
    delay_s: float,
    ramp_s: float,
    server_pid: int | None = None,
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []

    async def staggered(i: int) -> None:
        await asyncio.sleep(ramp_s * i / sessions)
        await session(http, url, turns, latencies, errors)

    # aiohttp: a load client whose own cost stays flat with hundreds of connections.
    connector = aiohttp.TCPConnector(limit=sessions)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        # Warm-up: every worker's first turns (imports, connections, caches) are not
        # what a running service pays; one turn per session at this level first.
        await asyncio.gather(*(session(http, url, 1, [], []) for _ in range(sessions)))
        cpu = cpu_seconds(server_pid) if server_pid else 0.0
        start = time.perf_counter()
        await asyncio.gather(*(staggered(i) for i in range(sessions)))
        wall = time.perf_counter() - start
        cpu = cpu_seconds(server_pid) - cpu if server_pid else 0.0
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
    } | ({"server_cpu_ms_per_turn": round(1000 * cpu / len(latencies), 2)} if cpu else {})


def summary(results: list[dict[str, Any]], levels: list[int], target_ms: float) -> list[Any]:
    """Per level: every run's p95 (sorted), their median and worst, and how many met the goal."""
    out = []
    for n in dict.fromkeys(levels):
        runs = [r for r in results if r["sessions"] == n]
        p95s = sorted(r["p95_added_ms"] for r in runs if r["p95_added_ms"] is not None)
        out.append(
            {
                "sessions": n,
                "runs": len(runs),
                "errors": sum(r["errors"] for r in runs),
                "p95_added_ms_runs": p95s,
                "p95_added_ms_median": round(statistics.median(p95s), 1) if p95s else None,
                "p95_added_ms_worst": p95s[-1] if p95s else None,
                "runs_within_target": f"{sum(p <= target_ms for p in p95s)}/{len(runs)}",
                "target_p95_ms": target_ms,
                "server_cpu_ms_per_turn_median": round(
                    statistics.median(r.get("server_cpu_ms_per_turn", 0.0) for r in runs), 2
                ),
            }
        )
    return out


CALIBRATION_KEYS = ("sessions", "p50_added_ms", "p95_added_ms", "errors")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--delay-ms", type=float, default=200.0)
    parser.add_argument("--ramp-ms", type=float, help="spread of session starts (default: delay)")
    parser.add_argument("--postgres", help="postgresql:// URL (default: SQLite)")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument(
        "--checkpoint-every", choices=["step", "turn"], default="step", help="commit granularity"
    )
    parser.add_argument("--repeats", type=int, default=1, help="runs of each level")
    parser.add_argument("--target-ms", type=float, default=50.0, help="p95 added latency goal")
    return parser.parse_args()


def _serve_env(tmp: str, base_url: str, args: argparse.Namespace) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINGSHU_")}
    env |= {
        "LINGSHU_DATA_DIR": str(Path(tmp) / "data"),
        "LINGSHU_CONFIG": str(Path(tmp) / "none.toml"),
        "LINGSHU_BASE_URL": base_url,
        "LINGSHU_SERVER_THREADS": str(max(args.sessions) + 8),
        "PYTHONPATH": str(ROOT),
        "HF_HUB_OFFLINE": "1",
        "LINGSHU_CHECKPOINT_EVERY": args.checkpoint_every,
    }
    if args.postgres:
        env["LINGSHU_CHECKPOINT_URL"] = args.postgres
    return env


def main() -> None:
    args = _arguments()
    delay = args.delay_ms / 1000
    ramp = (args.delay_ms if args.ramp_ms is None else args.ramp_ms) / 1000
    results, calibration = [], []
    model = ModelProcess(args.delay_ms)
    try:
        for n in args.sessions:
            calibration.append(
                asyncio.run(run_level(model.base_url, model_session, n, args.turns, delay, ramp))
            )
        with tempfile.TemporaryDirectory() as tmp:
            server = ServeProcess(
                _serve_env(tmp, model.base_url, args),
                Path(tmp) / "serve.log",
                "--log-level",
                "warning",
                "--workers",
                str(args.workers),
            )
            try:
                for n in args.sessions:
                    for _ in range(args.repeats):
                        level = run_level(
                            server.url, agent_session, n, args.turns, delay, ramp, server.proc.pid
                        )
                        results.append(asyncio.run(level))
            finally:
                server.stop()
    finally:
        model.stop()
    print(
        json.dumps(
            {
                "benchmark": "serve_load",
                "model_delay_ms": args.delay_ms,
                "turns_per_session": args.turns,
                "ramp_ms": ramp * 1000,
                "sessions_store": "postgres" if args.postgres else "sqlite",
                "workers": args.workers,
                "checkpoint_every": args.checkpoint_every,
                "cpus": os.cpu_count(),
                "results": results,
                "summary": summary(results, args.sessions, args.target_ms),
                "calibration": [{k: c[k] for k in CALIBRATION_KEYS} for c in calibration],
            }
        )
    )


if __name__ == "__main__":
    main()
