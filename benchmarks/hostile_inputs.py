"""Time and peak memory of small hostile files that claim a lot (issue 14, classes 6 and 9).

Each case's file is written first; then a fresh Python process (so peak RSS is that
case's alone) reads it the way the agent does:

- ``apng``: a 1.5 MB animated PNG of 95 frames of 2,000 x 2,000 (``ImageStore.add``);
- ``tiff_pages``: a TIFF whose first page is 10 x 10 and second 9,000 x 9,000;
- ``nifti_f64``: a 6 MB ``.nii.gz`` of 512 x 512 x 700 float64 zeros;
- ``ndjson_lines``: an NDJSON file of 1,000,000 one-byte bad lines (``lingshu ehr import``).

Reported per case: the outcome (decoded shape, refusal, import counts), seconds, peak
resident memory and, for the import, the lines written to stderr. Prints one JSON line.

    .venv/bin/python benchmarks/hostile_inputs.py [--cases apng,tiff_pages,nifti_f64,ndjson_lines]
        [--root CHECKOUT]   (another checkout's code, e.g. the commit before a change)
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = ("apng", "tiff_pages", "nifti_f64", "ndjson_lines")

_MAKE = r"""
import sys
from pathlib import Path
import numpy as np
from PIL import Image
case, path = sys.argv[1], Path(sys.argv[2])
if case == "apng":
    frames = [Image.new("RGB", (2000, 2000), (i, 0, 0)) for i in range(2)]
    frames[0].save(path, save_all=True, append_images=[frames[1]] * 94)
elif case == "tiff_pages":
    Image.new("L", (10, 10)).save(path, save_all=True, compression="tiff_deflate",
                                  append_images=[Image.new("RGB", (9000, 9000))])
elif case == "nifti_f64":
    import nibabel as nib
    nib.save(nib.Nifti1Image(np.zeros((512, 512, 700), dtype=np.float64), np.eye(4)), path)
else:
    path.write_bytes(b"x\n" * 1_000_000)
"""

_READ = r"""
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
case, path = sys.argv[1], Path(sys.argv[2])
started = time.perf_counter()
out = {}
if case == "ndjson_lines":
    import subprocess
    run = subprocess.run([sys.executable, "-m", "agent.cli", "ehr", "import", str(path), "--db",
                          str(path.with_suffix(".sqlite"))], capture_output=True, text=True,
                         cwd=sys.argv[3])
    out["outcome"] = " ".join(run.stdout.split())[-120:]
    out["stderr_lines"] = run.stderr.count("\n")
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
else:
    from knowledge.imaging import ImageError, ImageStore
    store = ImageStore(path.parent / "store")
    try:
        info = store.add(path)
        out["outcome"] = "decoded " + "x".join(map(str, store.volume(info.path).pixels.shape))
    except ImageError as exc:
        out["outcome"] = "refused: " + str(exc)[:160]
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
out["seconds"] = round(time.perf_counter() - started, 2)
print(json.dumps(out))
"""

_SUFFIX = {"apng": ".png", "tiff_pages": ".tif", "nifti_f64": ".nii.gz", "ndjson_lines": ".ndjson"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases.split(","):
            path = Path(tmp) / case / f"{case}{_SUFFIX[case]}"
            path.parent.mkdir()
            subprocess.run([sys.executable, "-c", _MAKE, case, str(path)], check=True)
            run = subprocess.run(
                [sys.executable, "-c", _READ, case, str(path), str(args.root.resolve())],
                capture_output=True,
                text=True,
                check=True,
            )
            result = {"case": case, "file_kb": round(path.stat().st_size / 1024, 1)}
            results.append(result | json.loads(run.stdout.strip().splitlines()[-1]))
    print(
        json.dumps(
            {
                "benchmark": "hostile_inputs",
                "root": "this checkout" if args.root.resolve() == ROOT else str(args.root),
                "machine": f"{platform.machine()} {platform.system()}",
                "python": platform.python_version(),
                "cases": results,
            }
        )
    )


if __name__ == "__main__":
    main()
