"""Added latency of a tool call through MCP, against the same tool called in process.

The tool is ``get_labs`` (troponin, 3 results) on the synthetic chest-pain patient in an
embedded FHIR store. In process: the act node's own runner (``agent.acting.run_calls``:
thread pool, timeout, output limit, audit entry). Through MCP: the same tool served by
``LingshuMcp`` and called with the SDK's client over streamable HTTP on loopback (a key
checked on every request) and over stdio (``lingshu mcp`` as a subprocess); both also
append the call to the MCP audit log. Prints one JSON line (median and p90, ms).

    .venv/bin/python benchmarks/mcp_latency.py [--calls 50]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import anyio
import httpx2
from langchain_core.messages import ToolCall
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from agent.acting import run_calls, tool_pool
from agent.mcp import LingshuMcp
from agent.server.auth import key_entry
from agent.settings import Settings
from knowledge.ehr import ensure_demo_patients
from testing.loopback import ThreadedUvicorn
from tools.ehr import EHR_TOOLS
from tools.evidence import EvidenceLedger
from tools.runtime import ToolContext

ARGS = {"name_or_loinc": "troponin"}
KEY = "lsk-benchmark"


def stats(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {
        "median_ms": round(statistics.median(ordered), 2),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))], 2),
    }


def in_process(settings: Settings, calls: int) -> list[float]:
    from agent.resources import open_resources

    resources = open_resources(settings)
    tool = next(t for t in EHR_TOOLS if t.name == "get_labs")
    pool = tool_pool()
    out = []
    for _ in range(calls + 3):
        ctx = ToolContext(ledger=EvidenceLedger(), patient_id="chest-pain", ehr=resources.ehr)
        call = ToolCall(name="get_labs", args=dict(ARGS), id="b", type="tool_call")
        t0 = time.perf_counter()
        (outcome,) = run_calls([call], {"get_labs": tool}, ctx, timeout_s=30, turn=1, pool=pool)
        out.append((time.perf_counter() - t0) * 1000)
        assert "96 ng/L" in outcome.message.text
    return out[3:]


async def timed(client: Client, calls: int) -> list[float]:
    out = []
    async with client as mcp:
        for _ in range(calls + 3):
            t0 = time.perf_counter()
            result = await mcp.call_tool("get_labs", dict(ARGS))
            out.append((time.perf_counter() - t0) * 1000)
            assert not result.is_error and "96 ng/L" in result.content[0].text
    return out[3:]


def over_http(settings: Settings, calls: int) -> list[float]:
    mcp = LingshuMcp(settings, "http")
    try:
        with ThreadedUvicorn(mcp.http_app(), log_level="error") as served:
            http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}, timeout=30)
            url = served.url + "/mcp"
            client = Client(streamable_http_client(url, http_client=http), cache=None)
            return anyio.run(timed, client, calls)
    finally:
        mcp.close()


def over_stdio(data: Path, calls: int) -> list[float]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "agent.cli", "mcp", "--patient", "chest-pain"],
        env={"LINGSHU_DATA_DIR": str(data), "LINGSHU_CONFIG": str(data / "none.toml")},
        cwd=str(Path(__file__).resolve().parents[1]),
    )
    return anyio.run(timed, Client(params, cache=None, read_timeout_seconds=60), calls)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="lingshu-mcp-bench-"))
    os.environ["LINGSHU_CONFIG"] = str(data / "none.toml")
    ensure_demo_patients(data / "ehr.sqlite").close()
    settings = Settings(data_dir=data, server_api_keys=[key_entry("bench", KEY, ["chest-pain"])])
    local = stats(in_process(settings, args.calls))
    http = stats(over_http(settings, args.calls))
    stdio = stats(over_stdio(data, args.calls))
    result: dict[str, Any] = {
        "benchmark": "mcp_latency",
        "tool": "get_labs(troponin), 3 results",
        "calls": args.calls,
        "in_process": local,
        "mcp_streamable_http": http,
        "mcp_stdio": stdio,
        "added_http_median_ms": round(http["median_ms"] - local["median_ms"], 2),
        "added_stdio_median_ms": round(stdio["median_ms"] - local["median_ms"], 2),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
