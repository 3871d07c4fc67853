"""Reading the files datasets are released in: Parquet (a hub snapshot), JSON lines, JSON, CSV.

A hub snapshot (``huggingface-cli download --repo-type dataset NAME --local-dir DIR``)
keeps each split as ``data/<split>-00000-of-0000N-<hash>.parquet``; images inside a
Parquet file are ``{"bytes": ..., "path": ...}`` structs, written out once to a cache
folder so that both arms can send the same file.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evals.items import DatasetError


def split_files(folder: Path, split: str) -> list[Path]:
    """Files of one split under ``folder``: ``<split>*.parquet|jsonl|json`` anywhere below,
    or a file whose name contains the split (``phrases_no_exclude_test.jsonl``)."""
    if not folder.is_dir():
        raise DatasetError(f"no dataset folder {folder}")
    found = []
    for suffix in (".parquet", ".jsonl", ".json"):
        found += [
            p
            for p in sorted(folder.rglob(f"*{suffix}"))
            if split in p.name and not any(part.startswith(".") for part in p.parts)
        ]
        if found:
            return found
    raise DatasetError(f"no {split} split (parquet, jsonl or json) under {folder}")


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of one Parquet, JSON-lines, JSON (a list) or CSV file."""
    if path.suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError as exc:  # an optional dependency: say how to get it
            raise DatasetError(
                f"{path} is Parquet: install pyarrow (pip install 'lingshu-agent[eval]')"
            ) from exc
        yield from pq.read_table(path).to_pylist()
    elif path.suffix == ".jsonl":
        with path.open(encoding="utf-8") as handle:
            for n, line in enumerate(handle, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise DatasetError(f"{path}:{n}: not JSON ({exc.msg})") from None
    elif path.suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(data, list):
            raise DatasetError(f"{path}: expected a JSON list of items")
        yield from data
    elif path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as handle:
            yield from csv.DictReader(handle)
    else:
        raise DatasetError(f"{path}: unknown file type")


def rows(folder: Path, split: str) -> list[dict[str, Any]]:
    return [row for path in split_files(folder, split) for row in read_rows(path)]


def image_file(value: Any, folder: Path, cache: Path) -> Path:
    """A file for an image given as a path (relative to ``folder``) or a Parquet struct."""
    if isinstance(value, dict) and value.get("bytes"):
        data: bytes = value["bytes"]
        suffix = Path(str(value.get("path") or "image.png")).suffix or ".png"
        target = cache / f"{hashlib.sha256(data).hexdigest()[:20]}{suffix}"
        if not target.exists():
            cache.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(target.suffix + ".part")
            tmp.write_bytes(data)
            tmp.replace(target)
        return target
    if isinstance(value, dict):
        value = value.get("path")
    if not value:
        raise DatasetError("an item has no image")
    path = Path(str(value))
    path = path if path.is_absolute() else folder / path
    if not path.is_file():
        raise DatasetError(f"image {path} does not exist")
    return path


def require(row: dict[str, Any], *keys: str, where: str) -> None:
    missing = [k for k in keys if k not in row]
    if missing:
        raise DatasetError(f"{where}: missing field(s) {', '.join(missing)}")
