"""Zoom and window latency of the image tools next to the bare numpy/PIL operation.

Two sources, both real DICOM written with pydicom: one 3000x3000 16-bit radiograph
and a 512x512x300 CT series (a folder of 300 slices). For each, the ``zoom`` and
``window`` tools are called as the act node calls them (id lookup, view composition,
render from the cached full-resolution volume, resize to the pixel budget, PNG
encode, content-addressed save, evidence citation) and compared with the bare
operation producing the same file: numpy crop + window + PIL resize + PNG encode +
write. p50 over the runs (tool and bare alternating, so both see the same load), in
milliseconds; decoding (the first load) is reported apart.

Run: .venv/bin/python benchmarks/imaging.py   (prints one JSON line)
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from langchain_core.tools import BaseTool
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from knowledge.imaging import ImageStore
from knowledge.imaging.derive import fit_area
from testing.dicom import ct_file, mono_file
from tools.evidence import EvidenceLedger
from tools.imaging import window, zoom
from tools.runtime import ToolContext, call_tool

RUNS = 25
MAX_PIXELS = 1280 * 28 * 28


def _p50_pair(
    tool_fn: Callable[[int], object], bare_fn: Callable[[int], object], runs: int = RUNS
) -> tuple[float, float]:
    """p50 of both, run alternately so that both see the same machine load."""
    tool_fn(0)  # warm-up
    bare_fn(0)
    times: tuple[list[float], list[float]] = ([], [])
    for i in range(1, runs + 1):
        for fn, sink in ((tool_fn, times[0]), (bare_fn, times[1])):
            t0 = time.perf_counter()
            fn(i)
            sink.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times[0]), 2), round(statistics.median(times[1]), 2)


def _bare(
    frame: np.ndarray,
    box: tuple[float, float, float, float],
    c: float,
    w: float,
    scale: float,
    out: Path,
) -> None:
    h, wd = frame.shape
    x0, y0 = math.floor(box[0] * wd), math.floor(box[1] * h)
    x1, y1 = math.ceil(box[2] * wd), math.ceil(box[3] * h)
    crop = frame[y0:y1, x0:x1].astype(np.float32)
    lo = c - 0.5 - (w - 1) / 2
    img8 = np.rint(np.clip((crop - lo) * (255.0 / (w - 1)), 0, 255)).astype(np.uint8)
    img = Image.fromarray(img8)
    size = fit_area(round(img.width * scale), round(img.height * scale), MAX_PIXELS)
    if size != img.size:
        img = img.resize(size, Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    data = buf.getvalue()
    (out / f"{hashlib.sha256(data).hexdigest()}.png").write_bytes(data)


def _box(i: int, side: float) -> tuple[float, float, float, float]:
    x = 0.05 + (i % 7) * 0.05
    y = 0.05 + (i % 5) * 0.05
    return (x, y, x + side, y + side)


def _call(tool: BaseTool, ctx: ToolContext, **args: object) -> None:
    call_tool(tool, ctx, call_id="b", **args)


def bench(store: ImageStore, ctx: ToolContext, source: Path, bare_dir: Path) -> dict[str, object]:
    t0 = time.perf_counter()
    info = store.add(source)
    load_ms = round((time.perf_counter() - t0) * 1000, 1)
    image_id = ctx.ledger.cite("image", info.sha256, label=info.label(), citation=info.citation())
    volume = store.volume(info.path)
    frame = volume.pixels[volume.frames // 2]
    c0, w0 = volume.window.center, volume.window.width  # type: ignore[union-attr]

    def tool_zoom(i: int) -> None:
        _call(zoom, ctx, image_id=image_id, box=list(_box(i, 0.25)), scale=2.0)

    def bare_zoom(i: int) -> None:
        _bare(frame, _box(i, 0.25), c0, w0, 2.0, bare_dir)

    def tool_window(i: int) -> None:
        _call(window, ctx, image_id=image_id, center=c0 + i, width=w0)

    def bare_window(i: int) -> None:
        _bare(frame, (0.0, 0.0, 1.0, 1.0), c0 + i, w0, 1.0, bare_dir)

    zoom_ms, zoom_bare_ms = _p50_pair(tool_zoom, bare_zoom)
    window_ms, window_bare_ms = _p50_pair(tool_window, bare_window)
    return {
        "shape": [volume.frames, volume.height, volume.width],
        "first_load_ms": load_ms,
        "zoom_p50_ms": zoom_ms,
        "zoom_bare_p50_ms": zoom_bare_ms,
        "zoom_ratio": round(zoom_ms / zoom_bare_ms, 2),
        "window_p50_ms": window_ms,
        "window_bare_p50_ms": window_bare_ms,
        "window_ratio": round(window_ms / window_bare_ms, 2),
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = ImageStore(root / "store")
        ctx = ToolContext(ledger=EvidenceLedger(), images=store)
        bare_dir = root / "bare"
        bare_dir.mkdir()
        yy, xx = np.mgrid[0:3000, 0:3000]
        radiograph = ((np.sin(xx / 97.0) * np.cos(yy / 53.0) + 1) * 30000).astype(np.uint16)
        dx = mono_file(root / "dx3000.dcm", radiograph, modality="CR")
        series = root / "series"
        series.mkdir()
        rng = np.random.default_rng(0)
        base = rng.normal(40, 300, (512, 512)).astype(np.int16)
        for k in range(300):
            ct_file(
                series / f"{k:03d}.dcm",
                base + k,
                slope=1.0,
                intercept=-1024.0,
                position=(0, 0, k * 1.0),
                instance=k + 1,
                series_uid="1.2.826.0.1.99",
            )
        out = {
            "benchmark": "imaging",
            "runs": RUNS,
            "max_pixels": MAX_PIXELS,
            "machine": f"{platform.machine()} {platform.system()}",
            "python": platform.python_version(),
            "dicom_3000x3000_u16": bench(store, ctx, dx, bare_dir),
            "ct_series_512x512x300": bench(store, ctx, series, bare_dir),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
