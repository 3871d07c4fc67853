"""The HTML report: one self-contained file, escaped, every citation resolvable."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np
from bs4 import BeautifulSoup, Tag
from PIL import Image

from agent.report import all_cited_ids, to_html
from tests.report.answers import GUIDELINE_URL, RULE_URL

Built = tuple[dict[str, Any], Path]


def soup_of(answer: dict[str, Any], images: Path | None) -> BeautifulSoup:
    return BeautifulSoup(to_html(answer, image_root=images), "html.parser")


def one(soup: Tag, css: str) -> Tag:
    found = soup.select_one(css)
    assert found is not None, f"no {css} in the report"
    return found


def attr(tag: Tag, name: str) -> str:
    return str(tag[name])


def decode(data_url: str) -> np.ndarray:
    header, payload = data_url.split(",", 1)
    assert header == "data:image/png;base64"
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(payload))).convert("RGB"))


def test_nothing_is_fetched_from_outside_the_file(built: Built) -> None:
    soup = soup_of(*built)
    assert soup.find_all(["script", "link", "iframe", "object", "embed"]) == []
    sources = [attr(tag, "src") for tag in soup.find_all(src=True)]
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    hrefs = [attr(a, "href") for a in soup.find_all("a", href=True)]
    external = {h for h in hrefs if not h.startswith("#")}
    assert external == {GUIDELINE_URL, RULE_URL}
    assert "url(" not in one(soup, "style").get_text()


def test_model_text_is_escaped_everywhere(built: Built) -> None:
    answer, images = built
    html = to_html(answer, image_root=images)
    assert "<script>" not in html
    assert html.count("&lt;script&gt;alert(") == 3  # table, diagnosis heading, prose
    answer["warnings"] = ['<img src="http://evil.example/x.png">']
    answer["differential"]["summary"] = "<a href='http://evil.example'>x</a> [E2]"
    soup = soup_of(answer, images)
    assert not soup.find_all(src=lambda s: s and "evil" in s)
    assert not soup.find_all(href=lambda s: s and "evil" in s)


def test_prose_markdown_renders_without_raw_html_links_or_images(built: Built) -> None:
    answer, images = built
    answer["text"] = (
        "**Impression**: opacity [I2; I3].\n\n![x](http://evil.example/a.png) "
        "[click](javascript:alert(1)) <b onclick=1>b</b>"
    )
    soup = soup_of(answer, images)
    prose = soup.select_one("section.prose")
    assert prose is not None and one(prose, "strong").get_text() == "Impression"
    assert [a["href"] for a in prose.select("a.cite")] == ["#ref-I2", "#ref-I3"]
    assert not prose.find_all(["img", "b"]) and "javascript" not in str(prose.find_all("a"))


def test_the_table_has_one_row_per_diagnosis_plus_other(built: Built) -> None:
    table = soup_of(*built).select_one("table.ddx")
    assert table is not None
    rows = [
        [td.get_text(" ", strip=True) for td in tr.find_all("td")]
        for tr in one(table, "tbody").find_all("tr")
    ]
    assert rows[0][:2] == ["1", "Acute myocardial infarction"]
    assert rows[0][2].startswith("I21.4") and rows[0][3] == "55%"
    assert "category, not billable" in rows[1][2]
    assert "not an ICD-10-CM code" in rows[2][2]
    assert rows[3][1] == "Other / not listed" and rows[3][3] == "15%"


def test_the_banner_is_first_and_cites_its_evidence(built: Built) -> None:
    soup = soup_of(*built)
    first_section = one(soup, "main").find("section")
    assert first_section is not None and "banner" in first_section["class"]
    assert "URGENT: Chest pain with hypotension" in first_section.get_text()
    assert [a["href"] for a in first_section.select("a.cite")] == ["#ref-E1"]


def test_every_cited_id_resolves_in_the_references(built: Built) -> None:
    answer, images = built
    answer["unknown_citations"] = ["G9"]
    soup = soup_of(answer, images)
    for eid in [*all_cited_ids(answer), "I1", "I2", "I3"]:
        assert soup.find(id=f"ref-{eid}") is not None, eid
    for link in soup.select("a.cite"):
        assert soup.find(id=link["href"][1:]) is not None, link["href"]
    refs = {li["id"]: li.get_text(" ", strip=True) for li in soup.select("#references li")}
    g1 = refs["ref-G1"]
    for part in ("ESC Guidelines", "high-sensitivity troponin", "European Society of Cardiology"):
        assert part in g1
    assert "2023" in g1 and GUIDELINE_URL in g1
    assert "Observation/trop1" in refs["ref-E2"] and "2026-03-01" in refs["ref-E2"]
    assert "52 ng/L" in refs["ref-E2"]
    assert "zoom of I1" in refs["ref-I2"] and "x 0.55-0.80, y 0.48-0.75" in refs["ref-I2"]
    assert "not in this session's evidence" in refs["ref-G9"]


def test_the_original_shows_the_zoomed_regions_outlined(built: Built) -> None:
    soup = soup_of(*built)
    original = soup.select_one("figure.original")
    assert original is not None and "I2" in original.get_text() and "I3" in original.get_text()
    pixels = decode(attr(one(original, "img"), "src"))
    h, w, _ = pixels.shape
    yellow = np.all(np.abs(pixels.astype(int) - (255, 212, 0)) < 40, axis=-1)
    ys, xs = np.nonzero(yellow)
    # I2's box is x 0.55-0.80, y 0.48-0.75 of the original: the outline lies on it
    assert len(xs) > 100
    assert abs(xs.min() / w - 0.55) < 0.03 and abs(xs.max() / w - 0.80) < 0.03
    assert abs(ys.min() / h - 0.48) < 0.03 and abs(ys.max() / h - 0.75) < 0.03
    views = soup.select("figure.view")
    assert [v["id"] for v in views] == ["ev-I2", "ev-I3"]
    zoomed = decode(attr(one(views[0], "img"), "src"))
    assert zoomed.mean() > pixels.mean()  # the zoom looks at the bright opacity


def test_an_uncited_original_is_still_shown_with_its_regions(built: Built) -> None:
    answer, images = built
    answer["references"] = [r for r in answer["references"] if r["id"] != "I1"]
    original = soup_of(answer, images).select_one("figure.original")
    assert original is not None and original.img is not None
    assert "not cited itself" in original.get_text()


def test_a_missing_image_file_is_said_not_crashed(built: Built, tmp_path: Path) -> None:
    answer, images = built
    for path in images.iterdir():
        path.unlink()
    soup = soup_of(answer, tmp_path / "elsewhere")
    assert "image file not available" in one(soup, "figure.original").get_text()
    assert soup.find_all("img") == []


def test_images_are_found_under_image_root_when_the_data_folder_moved(
    built: Built, tmp_path: Path
) -> None:
    answer, images = built
    moved = images.rename(tmp_path / "moved")
    assert len(soup_of(answer, moved).find_all("img")) == 3


def test_education_and_plain_answers(built: Built) -> None:
    answer, images = built
    answer.update(mode="education", differential=None, text="## Pitfalls\nTroponin [E2].")
    soup = soup_of(answer, images)
    assert "for teaching, not for patient care" in one(soup, "header").get_text()
    assert soup.select_one("table.ddx") is None
    assert one(soup, "section.prose h2").get_text() == "Teaching notes"
    assert soup.select_one("#ref-E2") is not None


def test_claim_checks_are_marked_and_counted(built: Built) -> None:
    answer, images = built
    first = answer["differential"]["diagnoses"][0]
    first["supporting"][0]["check"] = {"status": "checked", "reason": "E2 reads 52 ng/L"}
    first["against"][0]["check"] = {"status": "mismatch", "reason": "E1 is a blood pressure"}
    first["next_steps"][0]["check"] = {"status": "unchecked", "reason": "no source for timing"}
    answer["claim_counts"] = {"checked": 1, "unchecked": 1, "mismatch": 1}
    soup = soup_of(answer, images)
    dx = one(soup, "#dx-1")
    supporting = one(dx, ".supporting li")
    assert "✓ checked against its source" in one(supporting, ".check-checked").get_text()
    assert "E2 reads 52 ng/L" in attr(one(supporting, ".check"), "title")
    mismatch = one(dx, ".against li .check-mismatch").get_text()
    assert mismatch == "✗ does not match its source: E1 is a blood pressure"  # reason shown
    assert "? not checked" in one(dx, "ul.steps li .check-unchecked").get_text()
    claims = one(soup, "header .claims").get_text()
    assert "✓ 1 checked" in claims and "? 1 unchecked" in claims and "✗ 1 mismatch" in claims
    # without the fields nothing is marked, and nothing fails
    for d in answer["differential"]["diagnoses"]:
        for item in [*d["supporting"], *d["against"], *d["next_steps"]]:
            item.pop("check", None)
    answer.pop("claim_counts")
    plain = soup_of(answer, images)
    assert plain.select(".check") == [] and plain.select_one("header .claims") is None


def test_a_view_inspected_but_not_cited_is_still_outlined(built: Built) -> None:
    answer, images = built
    # The answer cites I2 only; I3 (the upper mediastinum zoom) was inspected, not cited.
    answer["inspected_images"] = [r for r in answer["references"] if r["id"] == "I3"]
    answer["references"] = [r for r in answer["references"] if r["id"] != "I3"]
    for d in answer["differential"]["diagnoses"]:
        for key in ("supporting", "next_steps"):
            d[key] = [i for i in d[key] if "I3" not in i["evidence"]]
    soup = soup_of(answer, images)
    original = one(soup, "figure.original")
    assert "I3" in original.get_text()  # listed among the regions inspected
    pixels = decode(attr(one(original, "img"), "src"))
    h, w, _ = pixels.shape
    cyan = np.all(np.abs(pixels.astype(int) - (0, 229, 255)) < 40, axis=-1)
    ys, xs = np.nonzero(cyan)
    # I3's box is x 0.40-0.60, y 0.02-0.40 of the original: its outline is drawn there
    assert len(xs) > 100
    assert abs(xs.min() / w - 0.40) < 0.03 and abs(xs.max() / w - 0.60) < 0.03
    assert abs(ys.max() / h - 0.40) < 0.03
    view = one(soup, "figure#ev-I3")
    assert "inspected, not cited in the answer" in view.get_text()
    assert "inspected, not cited" not in one(soup, "figure#ev-I2").get_text()


def test_a_session_zoom_left_uncited_is_outlined_in_its_report(tmp_path: Path) -> None:
    from agent.resources import Resources
    from agent.session import Lingshu
    from agent.settings import Settings
    from knowledge.imaging import ImageStore
    from tests.fakes import ScriptedChatModel, call
    from tests.report.answers import chest_film
    from tools.imaging import IMAGING_TOOLS

    settings = Settings(data_dir=tmp_path / "data")
    zoom = call("zoom", image_id="I1", box=[0.55, 0.48, 0.80, 0.75])
    agent = Lingshu(
        settings,
        model=ScriptedChatModel(script=["Looking closer.\n" + zoom, "A dense opacity [I1]."]),
        tools=list(IMAGING_TOOLS),
        resources=Resources(images=ImageStore(settings.images_path)),
    )
    result = agent.ask("Opacity?", images=[chest_film(tmp_path / "chest.png")])
    assert result.answer["citations"] == ["I1"]  # the zoom I2 was looked at, not cited
    assert [r["id"] for r in result.answer["inspected_images"]] == ["I2"]
    soup = soup_of(result.answer, settings.images_path)
    assert "I2" in one(soup, "figure.original").get_text()
    assert "inspected, not cited" in one(soup, "figure#ev-I2").get_text()
