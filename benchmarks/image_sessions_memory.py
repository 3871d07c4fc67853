"""Memory held for images across sessions, and what deleting the sessions gives back.

N sessions (default 40), each asked one question with its own distinct 1600x1200 colour
picture, through the Python API with langchain-core's fake list model (it keeps no
prompt), so every picture is decoded and encoded for the model as in a real turn.
Then every session is deleted. Reported: Python-traced memory (tracemalloc, numpy
arrays included) after the turns and after the deletions, the image files left on
disk, and the seconds taken. Prints one JSON line.

    .venv/bin/python benchmarks/image_sessions_memory.py [--sessions 40] [--root CHECKOUT]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import gc, json, sys, tempfile, time, tracemalloc
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import numpy as np
from PIL import Image
from agent.session import Lingshu
from agent.settings import Settings
from langchain_core.language_models.fake_chat_models import FakeListChatModel

count = int(sys.argv[2])
tmp = Path(tempfile.mkdtemp(prefix="lingshu-mem-"))
rng = np.random.default_rng(0)
pictures = []
for i in range(count):
    path = tmp / f"p{i}.png"
    Image.fromarray(rng.integers(0, 255, (1200, 1600, 3), dtype=np.uint8)).save(path)
    pictures.append(path)
settings = Settings(data_dir=tmp / "data")
model = FakeListChatModel(responses=["Seen [I1]."])  # keeps no prompt
agent = Lingshu(settings, model=model, tools=[])
gc.collect()
tracemalloc.start()
base = tracemalloc.get_traced_memory()[0]
started = time.perf_counter()
sessions = [agent.ask("What is on this picture?", images=[p]).session_id for p in pictures]
turns_s = time.perf_counter() - started
gc.collect()
after_turns = tracemalloc.get_traced_memory()[0] - base
for sid in sessions:
    agent.delete(sid)
gc.collect()
after_delete = tracemalloc.get_traced_memory()[0] - base
left = [p for p in settings.images_path.iterdir() if p.suffix == ".png"]
print(json.dumps({
    "sessions": count,
    "turns_s": round(turns_s, 1),
    "traced_mb_after_turns": round(after_turns / 2**20, 1),
    "traced_mb_after_deleting_sessions": round(after_delete / 2**20, 1),
    "image_files_left_after_deleting_sessions": len(left),
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=40)
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args()
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(args.root), str(args.sessions)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print(
        json.dumps(
            {
                "benchmark": "image_sessions_memory",
                "machine": f"{platform.machine()} {platform.system()}",
                "python": platform.python_version(),
                **result,
            }
        )
    )


if __name__ == "__main__":
    main()
