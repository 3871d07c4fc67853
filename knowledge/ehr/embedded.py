"""The embedded FHIR store: Bundles and Bulk Data NDJSON imported into SQLite.

One table holds each resource's JSON with the fields it is searched by (patient,
type, date); a second holds its codes. Look-ups by patient + type + date and by
code use indexes, so a patient with tens of thousands of observations still
answers in milliseconds.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from knowledge.ehr.parse import IndexedResource, MalformedResource, validate
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


@dataclass
class ImportReport:
    """What one import did: counts and the warnings (each names the skipped resource)."""

    imported: int = 0
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)
    by_type: dict[str, int] = field(default_factory=dict)

    def add(self, other: ImportReport) -> None:
        self.imported += other.imported
        self.skipped += other.skipped
        self.warnings.extend(other.warnings)
        for rtype, n in other.by_type.items():
            self.by_type[rtype] = self.by_type.get(rtype, 0) + n


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
    entries = [e for e in bundle.get("entry") or [] if isinstance(e, dict)]
    mapping: dict[str, str] = {}
    for entry in entries:
        res, full = entry.get("resource"), entry.get("fullUrl")
        if isinstance(res, dict) and isinstance(full, str) and res.get("resourceType"):
            if not res.get("id") and full.startswith("urn:uuid:"):
                res["id"] = full.removeprefix("urn:uuid:")
            if res.get("id"):
                mapping[full] = f"{res['resourceType']}/{res['id']}"
    for number, entry in enumerate(entries, start=1):
        resource = entry.get("resource")
        _rewrite_references(resource, mapping)
        yield resource, f"{name} entry {number}"


def read_file_resources(path: Path) -> Iterator[tuple[Any, str]]:
    """(resource, where) pairs from a Bundle/resource JSON file or a Bulk Data NDJSON file.

    A line or file that is not JSON yields ``(None, where)`` so it is counted as skipped.
    """
    if path.suffix == ".ndjson":
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        yield json.loads(line), f"{path.name} line {number}"
                    except json.JSONDecodeError:
                        yield None, f"{path.name} line {number} (invalid JSON)"
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        yield None, f"{path.name} (invalid JSON)"
        return
    if isinstance(data, dict) and data.get("resourceType") == "Bundle":
        yield from _bundle_resources(data, path.name)
    else:
        yield data, path.name


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
    def import_file(self, path: Path) -> ImportReport:
        """Import one Bundle, resource or NDJSON file; malformed resources are skipped."""
        report = ImportReport()
        good: list[IndexedResource] = []
        for resource, where in read_file_resources(Path(path)):
            try:
                if resource is None:
                    raise MalformedResource(f"{where}: not valid JSON")
                good.append(validate(resource, where))
            except MalformedResource as exc:
                log.warning("skipped %s", exc)
                report.skipped += 1
                report.warnings.append(str(exc))
        self.add(good)
        report.imported = len(good)
        for item in good:
            report.by_type[item.resource_type] = report.by_type.get(item.resource_type, 0) + 1
        return report

    def import_paths(self, paths: Iterable[Path]) -> ImportReport:
        report = ImportReport()
        for path in importable_files(paths):
            report.add(self.import_file(path))
        return report

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
