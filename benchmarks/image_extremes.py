"""Time and peak memory of images with extreme shapes, from file to what the model is sent.

Each case's PNG (all-zero grey) is written first; then a fresh Python process (so peak
RSS is that case's alone) gives it to ``ImageStore.add`` (decode, validate, store) and
turns it into the model's data URL (``ImageStore.data_url``). Reported per case:
seconds for each step, peak resident memory, the size sent to the model and its pixels
over the budget (``max_pixels``), or the error when the image is refused. Prints one
JSON line.

    .venv/bin/python benchmarks/image_extremes.py [--cases 1x40000000,1x100000,4000x3000]
        [--root CHECKOUT]   (another checkout's code, e.g. the commit before a change)
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import base64, io, json, resource, sys, tempfile, time, zlib
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from PIL import Image
from knowledge.imaging import ImageError, ImageStore

src = Path(sys.argv[3])
tmp = Path(tempfile.mkdtemp(prefix="lingshu-bench-"))
store = ImageStore(tmp / "store")
out = {"case": sys.argv[2], "file_kb": round(src.stat().st_size / 1024, 1)}
out["rss_before_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
t0 = time.perf_counter()
try:
    info = store.add(src)
    out["add_s"] = round(time.perf_counter() - t0, 3)
    t1 = time.perf_counter()
    url = store.data_url(info.path, store.min_pixels, store.max_pixels)
    out["data_url_s"] = round(time.perf_counter() - t1, 3)
    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as sent:
        out["sent"] = f"{sent.width}x{sent.height}"
        out["sent_over_budget"] = round(sent.width * sent.height / store.max_pixels, 3)
    out["outcome"] = "sent"
except ImageError as exc:
    out["outcome"] = "refused"
    out["error"] = str(exc)[:200]
    out["refused_after_s"] = round(time.perf_counter() - t0, 3)
out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
import shutil
shutil.rmtree(tmp, ignore_errors=True)
print(json.dumps(out))
"""


def write_png(path: Path, width: int, height: int) -> None:
    """An all-zero grey PNG, compressed in pieces (never the whole image in memory)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    comp = zlib.compressobj(9)
    row = b"\0" + bytes(width)
    per_piece = max(1, 4_000_000 // len(row))
    parts = []
    for start in range(0, height, per_piece):
        parts.append(comp.compress(row * min(per_piece, height - start)))
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", b"".join(parts))
        + chunk(b"IEND", b"")
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", default="1x40000000,1x100000,4000x3000")
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args()
    results = []
    folder = Path(tempfile.mkdtemp(prefix="lingshu-extremes-"))
    for case in args.cases.split(","):
        width, height = (int(v) for v in case.split("x"))
        png = folder / f"{case}.png"
        write_png(png, width, height)
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(args.root), case, str(png)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            results.append({"case": case, "outcome": "crashed", "stderr": proc.stderr[-300:]})
        else:
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    shutil.rmtree(folder, ignore_errors=True)
    print(
        json.dumps(
            {
                "benchmark": "image_extremes",
                "machine": f"{platform.machine()} {platform.system()}",
                "python": platform.python_version(),
                "cases": results,
            }
        )
    )


if __name__ == "__main__":
    main()
