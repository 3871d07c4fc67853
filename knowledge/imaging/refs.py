"""Who holds each stored image, so a deleted session takes its images with it.

The image store is content-addressed: two sessions given the same picture share one
file. Each holder of a file is a row ``(file name, owner)`` in ``refs.sqlite`` beside
the images; an owner is a session (``session:<id>``) or, for a derived view (a crop,
a windowed view), the root image it was rendered from (``image:<file name>``). When an
owner is released, every file it held that no other owner still holds is deleted, and
the views derived from a deleted file are released in turn. Files no row ever named
(images stored before this ledger existed) are never deleted by it.

All changes happen inside one ``BEGIN IMMEDIATE`` transaction, so two processes that
claim and release the same file at once are serialised by SQLite.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from knowledge.imaging.errors import ImageError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS image_refs (
    name TEXT NOT NULL,
    owner TEXT NOT NULL,
    PRIMARY KEY (name, owner)
);
CREATE INDEX IF NOT EXISTS image_refs_owner ON image_refs (owner);
"""


def session_owner(session_id: str) -> str:
    return f"session:{session_id}"


def image_owner(name: str) -> str:
    return f"image:{name}"


class ImageRefs:
    """The holders of the files directly under ``root`` (see the module text)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.path = self.root / "refs.sqlite"

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self.root.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.executescript(_SCHEMA)
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    def claim(self, owner: str, paths: Iterable[str | Path]) -> None:
        """Record ``owner`` as a holder of each stored file.

        Raises:
            ImageError: a file is not in the store (e.g. removed by a release meanwhile):
                the image must be given again.
        """
        names = [self._name(p) for p in paths]
        if not names:
            return
        with self._write() as conn:
            for name in names:
                if not (self.root / name).is_file():
                    raise ImageError(f"stored image {name} is gone; give the image again")
            conn.executemany(
                "INSERT OR IGNORE INTO image_refs (name, owner) VALUES (?, ?)",
                [(name, owner) for name in names],
            )

    def release(self, owner: str) -> list[Path]:
        """Drop ``owner``'s holds; delete and return the files nobody holds any more."""
        deleted: list[Path] = []
        with self._write() as conn:
            pending = [owner]
            while pending:
                current = pending.pop()
                names = [
                    r[0]
                    for r in conn.execute(
                        "SELECT name FROM image_refs WHERE owner = ?", (current,)
                    ).fetchall()
                ]
                conn.execute("DELETE FROM image_refs WHERE owner = ?", (current,))
                for name in names:
                    held = conn.execute(
                        "SELECT 1 FROM image_refs WHERE name = ? LIMIT 1", (name,)
                    ).fetchone()
                    if held is None:
                        path = self.root / name
                        path.unlink(missing_ok=True)
                        deleted.append(path)
                        pending.append(image_owner(name))
        return deleted

    def holders(self, path: str | Path) -> list[str]:
        """The owners that hold a stored file (empty when none, or never recorded)."""
        if not self.path.exists():
            return []
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            rows = conn.execute(
                "SELECT owner FROM image_refs WHERE name = ? ORDER BY owner", (self._name(path),)
            ).fetchall()
        except sqlite3.OperationalError:  # no table yet
            return []
        finally:
            conn.close()
        return [r[0] for r in rows]

    def _name(self, path: str | Path) -> str:
        p = Path(path)
        if p.parent.resolve() != self.root.resolve() or p.name in ("", "refs.sqlite"):
            raise ImageError(f"{p.name}: not a file of this image store")
        return p.name
