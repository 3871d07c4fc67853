"""Citation metadata read from the standard tags of each format (HTML and PDF files made here).

A reference shows publisher, year and URL; a guideline saved from a publisher's site
or downloaded as a PDF carries them in its own metadata, which ingestion must read.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from knowledge.guidelines import chunk_document, read_document
from tests.guidelines.pdfmaker import write_pdf

BODY = "<body><h1>Heading</h1><h2>Dosing</h2><p>Give the first dose within one hour.</p></body>"


def _html(tmp_path: Path, head: str) -> Path:
    path = tmp_path / "page.html"
    path.write_text(f"<html><head>{head}</head>{BODY}</html>", encoding="utf-8")
    return path


def test_highwire_citation_tags(tmp_path: Path) -> None:
    doc = read_document(
        _html(
            tmp_path,
            """<title>Site | page</title>
            <meta name="citation_title" content="Sepsis Bundle Guideline">
            <meta name="citation_journal_title" content="Critical Care Journal">
            <meta name="citation_publisher" content="Society of Critical Care">
            <meta name="citation_publication_date" content="2021/10/04">
            <meta name="citation_abstract_html_url" content="https://journal.example/sepsis-2021">
            <meta name="citation_doi" content="doi:10.1097/CCM.0000000000005337">
            <meta name="citation_keywords" content="critical care; infection">""",
        )
    )
    assert doc.title == "Sepsis Bundle Guideline"
    assert doc.publisher == "Society of Critical Care"  # the publisher, not the journal
    assert doc.year == 2021
    assert doc.url == "https://journal.example/sepsis-2021"
    assert doc.tags == ["critical care", "infection"]
    chunk = chunk_document(doc)[0]
    assert chunk.citation()["url"] == "https://journal.example/sepsis-2021"
    assert chunk.citation()["publisher"] == "Society of Critical Care"


def test_dublin_core_tags_in_either_case(tmp_path: Path) -> None:
    doc = read_document(
        _html(
            tmp_path,
            """<meta name="DC.Title" content="Asthma Pathway">
            <meta name="DC.Publisher" content="Regional Health Board">
            <meta name="DCTERMS.issued" content="2019-03-12">
            <meta name="DC.Identifier" content="https://health.example/asthma">
            <meta name="DC.Subject" content="respiratory">""",
        )
    )
    assert (doc.title, doc.publisher, doc.year) == ("Asthma Pathway", "Regional Health Board", 2019)
    assert doc.url == "https://health.example/asthma"
    assert doc.tags == ["respiratory"]


def test_open_graph_and_canonical_link(tmp_path: Path) -> None:
    doc = read_document(
        _html(
            tmp_path,
            """<title>Ignored when og:title is there</title>
            <link rel="canonical" href="https://guides.example/copd">
            <meta property="og:title" content="COPD Inhaler Guide">
            <meta property="og:site_name" content="Lung Foundation">
            <meta property="article:published_time" content="2024-01-15T09:00:00Z">""",
        )
    )
    assert (doc.title, doc.publisher, doc.year) == ("COPD Inhaler Guide", "Lung Foundation", 2024)
    assert doc.url == "https://guides.example/copd"


def test_doi_gives_the_url_when_no_url_is_given(tmp_path: Path) -> None:
    doc = read_document(
        _html(
            tmp_path,
            """<meta name="dc.title" content="Gout Guideline">
            <meta name="dc.identifier" content="doi:10.1002/acr.24180">""",
        )
    )
    assert doc.url == "https://doi.org/10.1002/acr.24180"


def test_a_relative_url_is_not_taken(tmp_path: Path) -> None:
    doc = read_document(_html(tmp_path, '<meta property="og:url" content="/relative/page">'))
    assert doc.url == ""
    assert doc.title == "Heading"  # the page's H1, with no title tag or meta


def _with_metadata(path: Path, info: dict[str, str], xmp: bytes | None = None) -> Path:
    writer = PdfWriter(clone_from=PdfReader(path))
    writer.add_metadata(info)
    if xmp is not None:
        writer.xmp_metadata = xmp
    buffer = io.BytesIO()
    writer.write(buffer)
    path.write_bytes(buffer.getvalue())
    return path


XMP = b"""<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">Heart Failure Pocket Guide</rdf:li></rdf:Alt></dc:title>
   <dc:publisher><rdf:Bag><rdf:li>Cardiology Society</rdf:li></rdf:Bag></dc:publisher>
   <dc:date><rdf:Seq><rdf:li>2022-04-01</rdf:li></rdf:Seq></dc:date>
   <dc:identifier>https://cardio.example/hf-2022</dc:identifier>
   <dc:subject><rdf:Bag><rdf:li>cardiology</rdf:li></rdf:Bag></dc:subject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


def test_pdf_xmp_dublin_core_beats_the_info_dictionary(tmp_path: Path) -> None:
    path = write_pdf(
        tmp_path / "hf.pdf", [["Start an ACE inhibitor."]], title="hf_v3_final", author="j.smith"
    )
    doc = read_document(_with_metadata(path, {}, XMP))
    assert (doc.title, doc.publisher, doc.year) == (
        "Heart Failure Pocket Guide",
        "Cardiology Society",
        2022,
    )
    assert doc.url == "https://cardio.example/hf-2022"
    assert doc.tags == ["cardiology"]


def test_pdf_info_dictionary_publisher_url_and_doi(tmp_path: Path) -> None:
    path = write_pdf(
        tmp_path / "g.pdf", [["Aspirin 300 mg."]], title="Stroke Guide", author="A. Author"
    )
    doc = read_document(
        _with_metadata(
            path,
            {
                "/Publisher": "Stroke Association",
                "/URL": "https://stroke.example/g",
                "/Keywords": "neurology",
            },
        )
    )
    assert (doc.title, doc.publisher, doc.year) == ("Stroke Guide", "Stroke Association", 2022)
    assert doc.url == "https://stroke.example/g"
    assert doc.tags == ["neurology"]

    path = write_pdf(tmp_path / "d.pdf", [["Aspirin 300 mg."]], title="Stroke Guide", author="ESO")
    doc = read_document(_with_metadata(path, {"/DOI": "10.1177/2396987321989865"}))
    assert doc.publisher == "ESO"  # the Info author when no publisher is named
    assert doc.url == "https://doi.org/10.1177/2396987321989865"


@pytest.mark.parametrize("bad", [b"<x:xmpmeta><unclosed", b"not xml at all"])
def test_pdf_with_a_damaged_xmp_packet_keeps_its_info_metadata(tmp_path: Path, bad: bytes) -> None:
    path = write_pdf(tmp_path / "g.pdf", [["Text."]], title="Kept Title", author="Kept Publisher")
    doc = read_document(_with_metadata(path, {}, bad))
    assert (doc.title, doc.publisher) == ("Kept Title", "Kept Publisher")
