"""The embedded FHIR store: Bundles and Bulk Data NDJSON imported into SQLite.

One table holds each resource's JSON with the fields it is searched by (patient,
type, date); a second holds its codes. Look-ups by patient + type + date and by
code use indexes, so a patient with tens of thousands of observations still
answers in milliseconds.

Import never moves data between patients and never loses good data for a bad line:

- a resource whose ``Type/id`` already belongs to another patient is refused and
  named, never re-parented (``replace=True`` / ``lingshu ehr import --replace`` allows it);
- files are read as UTF-8 (with or without a BOM) or UTF-16/32 with a BOM; a line that
  is not text, not JSON, nested deeper than :data:`MAX_DEPTH`, or a second resource
  with an id already seen in the same file is skipped and named, the rest imports;
- the counts are of resources stored, each once.
"""

from __future__ import annotations

import codecs
import json
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from knowledge.ehr.parse import IndexedResource, MalformedResource, bom_codec, validate
from knowledge.ehr.source import split_token

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    type TEXT NOT NULL, id TEXT NOT NULL, patient_id TEXT, date TEXT,
    json TEXT NOT NULL, PRIMARY KEY (type, id));
CREATE INDEX IF NOT EXISTS resources_by_patient ON resources (patient_id, type, date);
CREATE TABLE IF NOT EXISTS codes (
    type TEXT NOT NULL, id TEXT NOT NULL, system TEXT NOT NULL, code TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS codes_by_resource ON codes (type, id);
CREATE INDEX IF NOT EXISTS codes_by_code ON codes (code, type);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
IMPORTABLE_SUFFIXES = (".json", ".ndjson")
MAX_DEPTH = 64
"""Deepest JSON nesting imported (real FHIR resources stay under 20 levels)."""


MAX_WARNINGS = 1000
"""Skips named (kept and logged) per import; the count goes on past it. A file of a million
bad lines costs a million counts, not a million log lines and kept strings."""


@dataclass
class ImportReport:
    """What one import did: counts and the warnings (each names the skipped resource).

    ``warnings`` holds the first :data:`MAX_WARNINGS` skips; ``skipped`` counts them all.
    """

    imported: int = 0
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)
    by_type: dict[str, int] = field(default_factory=dict)

    def skip(self, warning: str) -> None:
        self.skipped += 1
        if len(self.warnings) < MAX_WARNINGS:
            log.warning("skipped %s", warning)
            self.warnings.append(warning)
        elif self.skipped == MAX_WARNINGS + 1:
            log.warning("more than %d skipped: the rest are counted, not named", MAX_WARNINGS)

    def add(self, other: ImportReport) -> None:
        self.imported += other.imported
        self.skipped += other.skipped
        self.warnings.extend(other.warnings[: max(0, MAX_WARNINGS - len(self.warnings))])
        for rtype, n in other.by_type.items():
            self.by_type[rtype] = self.by_type.get(rtype, 0) + n


def _whose(patient_id: str | None) -> str:
    return f"patient {patient_id}" if patient_id else "no patient (a shared resource)"


def importable_files(paths: Iterable[Path]) -> list[Path]:
    """Files to import: the paths given, with folders expanded to their .json/.ndjson files."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in IMPORTABLE_SUFFIXES))
        else:
            files.append(path)
    return files


def _rewrite_references(node: Any, mapping: dict[str, str]) -> None:
    """Replace ``urn:uuid:...`` (Bundle fullUrl) references by ``Type/id``, in place."""
    if isinstance(node, dict):
        ref = node.get("reference")
        if isinstance(ref, str) and ref in mapping:
            node["reference"] = mapping[ref]
        for value in node.values():
            _rewrite_references(value, mapping)
    elif isinstance(node, list):
        for item in node:
            _rewrite_references(item, mapping)


def _bundle_resources(bundle: dict[str, Any], name: str) -> Iterator[tuple[Any, str]]:
    """Each entry's resource, references rewritten; an entry nested too deeply is named."""
    entries = [e for e in bundle.get("entry") or [] if isinstance(e, dict)]
    deep = {id(e) for e in entries if _too_deep(e.get("resource"), MAX_DEPTH)}
    entries = [e if id(e) not in deep else {"deep": True} for e in entries]
    mapping: dict[str, str] = {}
    for entry in entries:
        res, full = entry.get("resource"), entry.get("fullUrl")
        if isinstance(res, dict) and isinstance(full, str) and res.get("resourceType"):
            if not res.get("id") and full.startswith("urn:uuid:"):
                res["id"] = full.removeprefix("urn:uuid:")
            if res.get("id"):
                mapping[full] = f"{res['resourceType']}/{res['id']}"
    for number, entry in enumerate(entries, start=1):
        where = f"{name} entry {number}"
        if entry.get("deep"):
            yield None, f"{where} (JSON nested deeper than {MAX_DEPTH} levels)"
            continue
        resource = entry.get("resource")
        _rewrite_references(resource, mapping)
        yield resource, where


def _encoding(path: Path) -> str:
    """The file's encoding from its byte-order mark; UTF-8 when it has none."""
    with path.open("rb") as handle:
        head = handle.read(4)
    return bom_codec(head) or "utf-8"


def _too_deep(node: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether JSON data nests deeper than ``limit`` (iterative: no recursion to exhaust)."""
    stack = [(node, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def _parse(text: str, where: str) -> tuple[Any, str]:
    """(data, where), or (None, where with the reason) for text that cannot be imported.

    A Bundle's depth is checked entry by entry (:func:`_bundle_resources`), so one deep
    entry costs only itself.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"{where} (invalid JSON: {exc.msg} at column {exc.colno})"
    except RecursionError:
        return None, f"{where} (JSON nested too deeply)"
    if isinstance(data, dict) and data.get("resourceType") == "Bundle":
        data_but_entries = {k: v for k, v in data.items() if k != "entry"}
        deep = _too_deep(data_but_entries)
    else:
        deep = _too_deep(data)
    if deep:
        return None, f"{where} (JSON nested deeper than {MAX_DEPTH} levels)"
    return data, where


def _lines(path: Path, encoding: str) -> Iterator[tuple[int, str | None, str]]:
    """(number, text or None, reason) per line; a line that is not text in ``encoding`` is None."""
    if encoding.startswith("utf-8"):
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if number == 1 and raw.startswith(codecs.BOM_UTF8):
                    raw = raw[len(codecs.BOM_UTF8) :]
                try:
                    yield number, raw.decode("utf-8"), ""
                except UnicodeDecodeError as exc:
                    yield number, None, f"not UTF-8 text (byte {exc.start + 1})"
        return
    with path.open(encoding=encoding, newline=None) as text:
        for number, line in enumerate(text, start=1):
            yield number, line, ""


def read_file_resources(path: Path) -> Iterator[tuple[Any, str]]:
    """(resource, where) pairs from a Bundle/resource JSON file or a Bulk Data NDJSON file.

    A line or file that cannot be read yields ``(None, where and why)`` so it is counted
    as skipped and named; nothing here raises for bad content.
    """
    try:
        encoding = _encoding(path)
        if path.suffix == ".ndjson":
            for number, line, problem in _lines(path, encoding):
                where = f"{path.name} line {number}"
                if line is None:
                    yield None, f"{where} ({problem})"
                elif line.strip():
                    yield _parse(line, where)
            return
        raw = path.read_bytes()
    except (OSError, UnicodeError) as exc:
        yield None, f"{path.name} (cannot be read: {type(exc).__name__})"
        return
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        yield None, f"{path.name} (not {encoding.upper()} text at byte {exc.start + 1})"
        return
    data, where = _parse(text, path.name)
    if isinstance(data, dict) and data.get("resourceType") == "Bundle":
        yield from _bundle_resources(data, path.name)
    else:
        yield data, where


class EmbeddedFhirStore:
    """FHIR resources in one SQLite file; implements :class:`knowledge.ehr.FhirSource`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"EmbeddedFhirStore({str(self.path)!r})"

    # --- import ---------------------------------------------------------------------------
    def import_file(self, path: Path, *, replace: bool = False) -> ImportReport:
        """Import one Bundle, resource or NDJSON file; every bad resource is skipped and named.

        Args:
            path: the file.
            replace: let a resource move to another patient when its ``Type/id`` is already
                stored under a different one (refused, and named, by default).
        """
        report = ImportReport()
        good: dict[tuple[str, str], IndexedResource] = {}
        first_seen: dict[tuple[str, str], str] = {}
        for resource, where in read_file_resources(Path(path)):
            try:
                if resource is None:
                    raise MalformedResource(where)  # says where and why
                item = validate(resource, where)
                key = (item.resource_type, item.id)
                if key in first_seen:
                    raise MalformedResource(
                        f"{item.resource_type}/{item.id} in {where}: duplicate id in this file "
                        f"(first in {first_seen[key]}); the first is kept"
                    )
                first_seen[key] = where
                good[key] = item
            except MalformedResource as exc:
                report.skip(str(exc))
        if not replace:
            for key, owner in self.owner_conflicts(list(good.values())).items():
                item = good.pop(key)
                report.skip(
                    f"{key[0]}/{key[1]} in {first_seen[key]}: this id already belongs to "
                    f"{_whose(owner)}, not {_whose(item.patient_id)}; not moved "
                    "(import with --replace to move it)"
                )
        self.add(list(good.values()))
        report.imported = len(good)
        for item in good.values():
            report.by_type[item.resource_type] = report.by_type.get(item.resource_type, 0) + 1
        return report

    def import_paths(self, paths: Iterable[Path], *, replace: bool = False) -> ImportReport:
        report = ImportReport()
        for path in importable_files(paths):
            report.add(self.import_file(path, replace=replace))
        return report

    def _owners(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
        """Stored owners of those ``(type, id)`` keys that differ from the incoming resource's."""
        if not keys:
            return {}
        found: dict[tuple[str, str], str | None] = {}
        with self._lock:
            for start in range(0, len(keys), 400):
                chunk = keys[start : start + 400]
                where = " OR ".join("(type = ? AND id = ?)" for _ in chunk)
                args = [x for key in chunk for x in key]
                rows = self._db.execute(
                    f"SELECT type, id, patient_id FROM resources WHERE {where}", args
                ).fetchall()
                found.update({(t, i): p for t, i, p in rows})
        return found

    def owner_conflicts(
        self, items: Sequence[IndexedResource]
    ) -> dict[tuple[str, str], str | None]:
        """Stored owners of the resources in ``items`` that would change patient."""
        owners = self._owners([(i.resource_type, i.id) for i in items])
        by_key = {(i.resource_type, i.id): i for i in items}
        return {k: p for k, p in owners.items() if p != by_key[k].patient_id}

    def add(self, items: Sequence[IndexedResource]) -> None:
        """Insert or replace validated resources (one transaction)."""
        with self._lock, self._db:
            self._db.executemany(
                "DELETE FROM codes WHERE type = ? AND id = ?",
                [(i.resource_type, i.id) for i in items],
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO resources VALUES (?, ?, ?, ?, ?)",
                [
                    (i.resource_type, i.id, i.patient_id, i.date, json.dumps(i.resource))
                    for i in items
                ],
            )
            self._db.executemany(
                "INSERT INTO codes VALUES (?, ?, ?, ?)",
                [(i.resource_type, i.id, s, c) for i in items for s, c in i.codes],
            )

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # --- FhirSource -----------------------------------------------------------------------
    def patient(self, patient_id: str) -> dict[str, Any] | None:
        return self.read("Patient", patient_id, shared_only=False)

    def read(
        self, resource_type: str, resource_id: str, *, shared_only: bool = True
    ) -> dict[str, Any] | None:
        sql = "SELECT json FROM resources WHERE type = ? AND id = ?"
        if shared_only:
            sql += " AND patient_id IS NULL"
        with self._lock:
            row = self._db.execute(sql, (resource_type, resource_id)).fetchone()
        return json.loads(row[0]) if row else None

    def search(
        self,
        resource_type: str,
        patient_id: str,
        *,
        codes: Sequence[str] | None = None,
        since: date | None = None,
        count: int | None = None,
    ) -> list[dict[str, Any]]:
        sql = "SELECT r.json FROM resources r WHERE r.patient_id = ? AND r.type = ?"
        args: list[Any] = [patient_id, resource_type]
        if since is not None:
            sql += " AND r.date >= ?"
            args.append(since.isoformat())
        if codes:
            clauses = []
            for system, code in map(split_token, codes):
                clauses.append("(c.code = ?" + (" AND c.system = ?)" if system else ")"))
                args.extend([code, system] if system else [code])
            sql += (
                " AND EXISTS (SELECT 1 FROM codes c WHERE c.type = r.type AND c.id = r.id"
                f" AND ({' OR '.join(clauses)}))"
            )
        sql += " ORDER BY r.date DESC, r.id DESC"
        if count is not None:
            sql += " LIMIT ?"
            args.append(count)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [json.loads(row[0]) for row in rows]

    def patients(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT json FROM resources WHERE type = 'Patient' ORDER BY id"
            ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def counts(self) -> dict[str, int]:
        """Number of resources per type."""
        with self._lock:
            rows = self._db.execute("SELECT type, COUNT(*) FROM resources GROUP BY type").fetchall()
        return dict(rows)

    def close(self) -> None:
        with self._lock:
            self._db.close()
