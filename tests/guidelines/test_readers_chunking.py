"""Every supported format is read with its citation metadata and chunked by section."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from knowledge.guidelines import ChunkConfig, ReadError, chunk_document, read_document
from knowledge.guidelines.chunking import estimate_tokens
from knowledge.guidelines.starter import starter_files
from tests.guidelines.conftest import write_md
from tests.guidelines.pdfmaker import write_pdf


def test_markdown_front_matter_and_section_paths(tmp_path: Path) -> None:
    path = write_md(
        tmp_path,
        "pe.md",
        title="Acute PE",
        publisher="ESC/ERS",
        year=2019,
        tags=["Cardiology", "radiology"],
        url="https://doi.org/10.1093/eurheartj/ehz405",
        body="# Acute PE\n\nIntro text.\n\n## Diagnosis\n\n### D-dimer\n\nMeasure D-dimer.\n",
    )
    doc = read_document(path)
    assert (doc.title, doc.publisher, doc.year) == ("Acute PE", "ESC/ERS", 2019)
    assert doc.url == "https://doi.org/10.1093/eurheartj/ehz405"
    assert doc.tags == ["cardiology", "radiology"]
    chunks = chunk_document(doc)
    by_text = {c.text: c for c in chunks}
    assert by_text["Measure D-dimer."].section == "Diagnosis > D-dimer"
    assert by_text["Intro text."].section == ""
    assert all(c.content_hash and c.doc_hash == doc.content_hash for c in chunks)


def test_table_and_list_are_not_cut_when_they_fit(tmp_path: Path) -> None:
    rows = "\n".join(f"| criterion {i} | value {i} |" for i in range(7))
    items = "\n".join(f"- item {i} with a few words of text" for i in range(8))
    body = (
        "## Criteria\n\n"
        + "Some introductory sentence here. " * 20
        + f"\n\n| name | value |\n| --- | --- |\n{rows}\n\n{items}\n"
    )
    doc = read_document(
        write_md(tmp_path, "t.md", title="T", publisher="P", year=2020, tags=[], body=body)
    )
    chunks = chunk_document(doc, ChunkConfig(chunk_tokens=120, overlap_tokens=10))
    tables = [c for c in chunks if "| criterion 0 |" in c.text]
    assert len(tables) == 1 and "| criterion 6 |" in tables[0].text
    lists = [c for c in chunks if "- item 0 " in c.text]
    assert len(lists) == 1 and "- item 7 " in lists[0].text


def test_long_table_is_cut_between_rows_and_repeats_its_header(tmp_path: Path) -> None:
    rows = "\n".join(f"| row {i} | {'word ' * 8}|" for i in range(40))
    body = f"## Big table\n\n| name | description |\n| --- | --- |\n{rows}\n"
    doc = read_document(
        write_md(tmp_path, "b.md", title="B", publisher="P", year=2020, tags=[], body=body)
    )
    config = ChunkConfig(chunk_tokens=100, overlap_tokens=10)
    chunks = chunk_document(doc, config)
    assert len(chunks) > 2
    for chunk in chunks:
        assert chunk.text.startswith("| name | description |\n| --- | --- |")
        assert estimate_tokens(chunk.text) <= config.chunk_tokens
    seen = [line for c in chunks for line in c.text.splitlines()[2:]]
    assert seen == [f"| row {i} | {'word ' * 8}|" for i in range(40)]


def test_long_section_chunks_overlap(tmp_path: Path) -> None:
    sentences = " ".join(f"Sentence number {i} says something specific." for i in range(60))
    doc = read_document(
        write_md(
            tmp_path,
            "o.md",
            title="O",
            publisher="P",
            year=2020,
            tags=[],
            body=f"## S\n\n{sentences}\n",
        )
    )
    chunks = chunk_document(doc, ChunkConfig(chunk_tokens=80, overlap_tokens=20))
    assert len(chunks) >= 3
    for first, second in itertools.pairwise(chunks):
        last_sentence = first.text.split(". ")[-1]
        assert last_sentence in second.text


def test_plain_text(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_text(
        "Hypertension basics\n\nLower sodium intake.\n\nMeasure at home.", encoding="utf-8"
    )
    doc = read_document(path)
    assert doc.title == "Hypertension basics"
    assert [c.text for c in chunk_document(doc)] == [
        "Hypertension basics\n\nLower sodium intake.\n\nMeasure at home."
    ]


def test_html_meta_headings_lists_and_tables(tmp_path: Path) -> None:
    path = tmp_path / "g.html"
    path.write_text(
        """<html><head><title>Ignored title</title>
        <meta name="citation_title" content="Asthma Guide">
        <meta name="citation_publisher" content="GINA">
        <meta name="citation_date" content="2023-05-01">
        <meta name="citation_doi" content="10.1000/xyz">
        <meta name="keywords" content="pulmonology, primary-care">
        <script>alert('x')</script></head>
        <body><nav>menu</nav><h1>Asthma Guide</h1><h2>Reliever</h2>
        <p>Use as-needed ICS-formoterol.</p>
        <ul><li>Step 1</li><li>Step 2</li></ul>
        <table><tr><th>Step</th><th>Drug</th></tr><tr><td>1</td><td>ICS-formoterol</td></tr></table>
        </body></html>""",
        encoding="utf-8",
    )
    doc = read_document(path)
    assert (doc.title, doc.publisher, doc.year) == ("Asthma Guide", "GINA", 2023)
    assert doc.url == "https://doi.org/10.1000/xyz"
    assert doc.tags == ["primary-care", "pulmonology"]
    text = "\n".join(c.text for c in chunk_document(doc))
    assert all(c.section == "Reliever" for c in chunk_document(doc))
    assert "- Step 1\n- Step 2" in text and "| 1 | ICS-formoterol |" in text
    assert "alert" not in text and "menu" not in text


def test_pdf_pages_and_metadata(tmp_path: Path) -> None:
    path = write_pdf(
        tmp_path / "g.pdf",
        [["Warfarin dosing basics."], ["Check the INR after three days."]],
        title="Anticoagulation Guide",
        author="NICE",
    )
    doc = read_document(path)
    assert (doc.title, doc.publisher, doc.year) == ("Anticoagulation Guide", "NICE", 2022)
    chunks = chunk_document(doc)
    by_page = {c.page: c for c in chunks}
    assert "INR" in by_page[2].text and by_page[2].section == "Page 2"
    assert "Warfarin" in by_page[1].text


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("x.docx", b"PK", "unsupported file type"),
        ("x.pdf", b"%PDF-1.4 this is not really a pdf", "PDF"),
        ("x.md", b"---\n- a\n- b\n---\ntext", "front matter"),
        ("x.txt", b"\xff\xfe\x00bad", "UTF-8"),
    ],
)
def test_unreadable_files_say_why(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ReadError, match=reason):
        read_document(path)


def test_starter_corpus_front_matter_is_complete() -> None:
    files = starter_files()
    assert len(files) >= 20
    # The imaging topics the open-medicine corpus lacks are covered by the project's own.
    stems = " ".join(p.stem for p in files)
    for topic in (
        "fleischner",
        "pneumothorax",
        "pulmonary-embolism",
        "tuberculosis",
        "diabetic-retinopathy",
        "dermoscopy",
        "right-lower-quadrant",
        "ottawa",
        "ct-head",
        "birads",
        "histopathology",
        "mid-trimester",
    ):
        assert topic in stems, topic
    for path in files:
        doc = read_document(path)
        assert doc.title and doc.publisher and doc.year and doc.tags, path.name
        assert doc.url.startswith("https://"), path.name
        text = path.read_text(encoding="utf-8")
        assert "not for clinical use" in text, path.name
        assert len(chunk_document(doc)) >= 3, path.name


def _registry_folder(root: Path) -> Path:
    part = root / "content" / "ats_idsa_cap_2019" / "empiric_therapy.md"
    part.parent.mkdir(parents=True)
    part.write_text(
        "# Empiric Therapy for CAP — ATS/IDSA 2019\n\n## Outpatients\n\nAmoxicillin for healthy adults.\n",
        encoding="utf-8",
    )
    (root / "registry.json").write_text(
        '[{"id": "ats_idsa_cap_2019", "title": "Community-acquired Pneumonia in Adults", '
        '"doi": "10.1164/rccm.201908-1581ST", "year": 2019, "organization": "ATS/IDSA"}]',
        encoding="utf-8",
    )
    return part


def test_registry_folder_gives_citations_to_markdown_without_front_matter(tmp_path: Path) -> None:
    doc = read_document(_registry_folder(tmp_path / "guidelines"))
    assert (doc.title, doc.publisher, doc.year) == (
        "Community-acquired Pneumonia in Adults",
        "ATS/IDSA",
        2019,
    )
    assert doc.url == "https://doi.org/10.1164/rccm.201908-1581ST"
    (chunk,) = chunk_document(doc)
    assert chunk.section == "Empiric Therapy for CAP > Outpatients"


def test_installed_open_medicine_package_is_read_in_place() -> None:
    from knowledge.guidelines.registry import open_medicine_guidelines

    folder = open_medicine_guidelines()
    if folder is None:
        pytest.skip("the optional open-medicine package is not installed")
    files = sorted((folder / "content").rglob("*.md"))
    assert len(files) > 40
    doc = read_document(files[0])
    assert doc.title and doc.publisher and doc.year and doc.url.startswith("https://doi.org/")
    assert doc.tags == ["open-medicine"]
