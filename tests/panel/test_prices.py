"""The price table: sourced shipped rows, a user's CSV overriding them, bad rows named."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.costs import PriceTableError, load_table, shipped_table
from tests.panel.cases import price_file

README = Path(__file__).parents[2] / "knowledge" / "costs" / "README.md"


def test_every_shipped_price_states_its_source_and_year_and_unknowns_stay_unknown() -> None:
    table = shipped_table()
    assert len(table) >= 20
    priced = [r for r in table.rows.values() if r.price_usd is not None]
    assert priced, "at least one sourced price ships"
    for row in priced:
        assert "CMS" in row.source and row.year is not None
    for row in table.rows.values():
        if row.price_usd is None:
            assert "no public figure" in row.source
    assert "not for billing" in README.read_text() and "education" in README.read_text()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("troponin", "84484"),
        ("CT pulmonary angiogram", "71275"),
        ("CBC", "85025"),
        ("serial high-sensitivity troponin at 0 and 2 h", "84484"),
        ("order a CTPA now", "71275"),
        ("85379", "85379"),
    ],
)
def test_lookup_by_name_synonym_or_code(text: str, code: str) -> None:
    row = shipped_table().lookup(text)
    assert row is not None and row.code == code


def test_lookup_of_an_unknown_test_is_none() -> None:
    assert shipped_table().lookup("tarot reading") is None


def test_a_user_csv_overrides_by_code_and_by_name_and_adds_rows(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text(
        "code,name,synonyms,category,price_usd,source,year\n"
        '84484,"Troponin, quantitative",troponin,lab,19.50,our chargemaster,2025\n'
        "G0001,Comprehensive metabolic panel,CMP,lab,9.00,our list,2024\n"
        '85025,"Complete blood count, automated, with automated differential",,lab,8.25,ours,2025\n'
        "99999,Bespoke assay,,lab,3.00,ours,2025\n",
        encoding="utf-8",
    )
    table = load_table(path)
    trop = table.lookup("troponin")
    assert trop is not None and trop.price_usd == 19.5 and trop.origin == str(path)
    assert table.by_code("85025") is not None and table.by_code("85025").price_usd == 8.25
    assert table.by_code("99999") is not None
    cmp_row = table.lookup("CMP")  # same name as the shipped 80053: it replaces that row
    assert cmp_row is not None and cmp_row.code == "G0001" and cmp_row.price_usd == 9.0
    assert table.by_code("80053") is None
    assert len(table) == len(shipped_table()) + 1  # only 99999 is new


@pytest.mark.parametrize(
    ("row", "column", "words"),
    [
        ('84484,"Troponin",troponin,lab,ten,ours,2025', "price_usd", "'ten' is not a number"),
        ("8448,Troponin,,lab,10,ours,2025", "code", "not a CPT/HCPCS code"),
        ("84484,,,lab,10,ours,2025", "name", "the name is empty"),
        ("84484,Troponin,,blood,10,ours,2025", "category", "'blood' is not one of"),
        ("84484,Troponin,,lab,-3,ours,2025", "price_usd", "not a price >= 0"),
        ("84484,Troponin,,lab,10,,2025", "source", "needs its source"),
        ("84484,Troponin,,lab,10,ours,20x5", "year", "is not a year"),
        ("84484,Troponin,,lab,10,ours,2025,extra", "(end)", "more cells than columns"),
    ],
)
def test_a_bad_row_is_named_by_row_and_column(
    tmp_path: Path, row: str, column: str, words: str
) -> None:
    path = tmp_path / "bad.csv"
    good = "85025,CBC,,lab,8,ours,2025"
    path.write_text(f"code,name,synonyms,category,price_usd,source,year\n{good}\n{row}\n")
    with pytest.raises(PriceTableError) as raised:
        load_table(path)
    assert raised.value.row == 3 and raised.value.column == column
    assert f"row 3, column '{column}'" in str(raised.value) and words in str(raised.value)
    assert str(path) in str(raised.value)


def test_a_missing_column_a_duplicate_code_and_an_unreadable_file_are_refused(
    tmp_path: Path,
) -> None:
    path = tmp_path / "x.csv"
    path.write_text("code,name,price_usd\n84484,Troponin,10\n")
    with pytest.raises(PriceTableError, match="header lacks synonyms, category, source, year"):
        load_table(path)
    path.write_text(
        "code,name,synonyms,category,price_usd,source,year\n"
        "84484,Troponin,,lab,10,ours,2025\n84484,Troponin again,,lab,11,ours,2025\n"
    )
    with pytest.raises(PriceTableError, match="row 3, column 'code': 84484 already given on row 2"):
        load_table(path)
    with pytest.raises(PriceTableError, match="cannot be read"):
        load_table(tmp_path / "absent.csv")


def test_fixture_prices_load(tmp_path: Path) -> None:
    table = load_table(price_file(tmp_path))
    assert table.lookup("CTPA").price_usd == 350.0


def test_the_prices_command_looks_up_and_names_a_bad_row(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from agent.cli import app

    runner = CliRunner()
    found = runner.invoke(app, ["prices", "CTPA", "--json", "--file", str(price_file(tmp_path))])
    assert found.exit_code == 0, found.output
    assert '"price_usd": 350.0' in found.stdout and '"code": "71275"' in found.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "code,name,synonyms,category,price_usd,source,year\n84484,Trop,,lab,ten,x,2025\n"
    )
    refused = runner.invoke(app, ["prices", "--file", str(bad)])
    assert refused.exit_code == 2
    assert "row 2, column 'price_usd': 'ten' is not a number" in refused.output
    missing = runner.invoke(app, ["prices", "tarot", "reading"])
    assert missing.exit_code == 2 and "no test in the price table matches" in missing.output
