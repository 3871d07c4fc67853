"""The price table of tests: a shipped CSV, overridable by a user's own CSV, and a look-up.

Columns (the same for the shipped file and a user's file): ``code`` (CPT/HCPCS),
``name``, ``synonyms`` (``;``-separated), ``category`` (lab | imaging | procedure |
other), ``price_usd`` (empty where no sourced figure is known), ``source``, ``year``.

A user's row replaces the shipped row with the same code, or else the same name; other
user rows are added. A bad row is refused with its file, row number and column, and
nothing of that file is used.

For demonstration and education only: not for billing, not for clinical use.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

COLUMNS = ("code", "name", "synonyms", "category", "price_usd", "source", "year")
CATEGORIES = frozenset({"lab", "imaging", "procedure", "other"})
_CODE = re.compile(r"^(?:\d{4}[0-9A-Z]|[A-Z]\d{4})$")
_WORD = re.compile(r"[a-z0-9]+")
NOTICE = (
    "Prices are public fee-schedule figures for demonstration and education; "
    "not for billing and not for clinical use."
)


class PriceTableError(ValueError):
    """A price table that cannot be used: names the file, the row and the column."""

    def __init__(self, where: str, row: int, column: str, message: str) -> None:
        self.where, self.row, self.column = where, row, column
        super().__init__(f"{where}, row {row}, column '{column}': {message}")


@dataclass(frozen=True)
class PriceRow:
    """One priced (or honestly unpriced) test."""

    code: str
    name: str
    category: str
    price_usd: float | None
    """None where no sourced figure is known: shown as 'price unknown', never as 0."""
    source: str
    year: int | None
    synonyms: tuple[str, ...] = ()
    origin: str = "shipped"
    """'shipped' or the path of the user's CSV the row came from."""

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "name": self.name,
            "category": self.category,
            "price_usd": self.price_usd,
            "source": self.source,
            "year": self.year,
            "origin": self.origin,
        }


def words(text: str) -> tuple[str, ...]:
    """Lower-case word tokens (``CT-pulmonary angiogram`` -> ``ct pulmonary angiogram``)."""
    return tuple(_WORD.findall(text.lower()))


@dataclass
class PriceTable:
    """Rows by code, with a look-up by code, name or synonym."""

    rows: dict[str, PriceRow] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    def by_code(self, code: str) -> PriceRow | None:
        return self.rows.get(code.strip().upper())

    def lookup(self, text: str) -> PriceRow | None:
        """The row a test's name refers to: its code, name or a synonym, else None.

        An exact match of the whole text wins; otherwise the row whose name or synonym
        appears, word for word, in the text (the longest such phrase), so "serial
        high-sensitivity troponin at 0 and 2 h" finds the troponin row.
        """
        query = words(text)
        if not query:
            return None
        for token in query:
            if (row := self.by_code(token)) is not None:
                return row
        best: tuple[int, PriceRow] | None = None
        for row in self.rows.values():
            for phrase in (words(row.name), *(words(s) for s in row.synonyms)):
                if phrase == query:
                    return row
                if phrase and _contains(query, phrase) and (best is None or len(phrase) > best[0]):
                    best = (len(phrase), row)
        return best[1] if best else None

    def merged(self, others: Iterable[PriceRow]) -> PriceTable:
        """A new table with ``others`` replacing rows of the same code, else the same name."""
        rows = dict(self.rows)
        by_name = {words(r.name): code for code, r in rows.items()}
        for row in others:
            old = row.code if row.code in rows else by_name.get(words(row.name))
            if old is not None:
                rows.pop(old, None)
            rows[row.code] = row
            by_name[words(row.name)] = row.code
        return PriceTable(rows)


def _contains(query: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(query[i : i + n] == phrase for i in range(len(query) - n + 1))


def _price(value: str, where: str, row: int) -> float | None:
    if not value.strip():
        return None
    try:
        price = float(value.strip().lstrip("$").replace(",", ""))
    except ValueError:
        raise PriceTableError(where, row, "price_usd", f"{value!r} is not a number") from None
    if not math.isfinite(price) or price < 0:
        raise PriceTableError(where, row, "price_usd", f"{value!r} is not a price >= 0")
    return price


def _year(value: str, where: str, row: int) -> int | None:
    if not value.strip():
        return None
    if not value.strip().isdigit() or not 1990 <= int(value) <= 2100:
        raise PriceTableError(where, row, "year", f"{value!r} is not a year (1990-2100)")
    return int(value)


def _row(raw: dict[str, str | None], where: str, number: int) -> PriceRow:
    cells = {k: (raw.get(k) or "").strip() for k in COLUMNS}
    code = cells["code"].upper()
    if not _CODE.match(code):
        raise PriceTableError(where, number, "code", f"{code!r} is not a CPT/HCPCS code")
    if not cells["name"]:
        raise PriceTableError(where, number, "name", "the name is empty")
    category = cells["category"].lower() or "other"
    if category not in CATEGORIES:
        allowed = ", ".join(sorted(CATEGORIES))
        raise PriceTableError(where, number, "category", f"{category!r} is not one of {allowed}")
    price = _price(cells["price_usd"], where, number)
    if price is not None and not cells["source"]:
        raise PriceTableError(where, number, "source", "a price needs its source")
    return PriceRow(
        code=code,
        name=cells["name"],
        category=category,
        price_usd=price,
        source=cells["source"],
        year=_year(cells["year"], where, number),
        synonyms=tuple(s.strip() for s in cells["synonyms"].split(";") if s.strip()),
        origin=where,
    )


def parse_rows(text: str, where: str) -> list[PriceRow]:
    """The rows of one CSV text; the header must name every column of :data:`COLUMNS`."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise PriceTableError(where, 1, missing[0], f"the header lacks {', '.join(missing)}")
    rows: list[PriceRow] = []
    seen: dict[str, int] = {}
    for raw in reader:
        number = reader.line_num
        if None in raw:
            raise PriceTableError(where, number, "(end)", "more cells than columns")
        row = _row(raw, where, number)
        if row.code in seen:
            raise PriceTableError(
                where, number, "code", f"{row.code} already given on row {seen[row.code]}"
            )
        seen[row.code] = number
        rows.append(row)
    return rows


def shipped_table() -> PriceTable:
    """The table shipped in ``knowledge/costs/prices.csv``."""
    text = (resources.files(__package__) / "prices.csv").read_text(encoding="utf-8")
    return PriceTable({r.code: r for r in parse_rows(text, "shipped")})


def load_table(user_csv: Path | str | None = None) -> PriceTable:
    """The shipped table, with a user's CSV (same columns) overriding it by code or name."""
    table = shipped_table()
    if user_csv is None:
        return table
    path = Path(user_csv).expanduser()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PriceTableError(str(path), 0, "(file)", f"cannot be read ({exc})") from None
    return table.merged(parse_rows(text, str(path)))
