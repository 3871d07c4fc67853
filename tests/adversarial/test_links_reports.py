"""Unsafe links (issue 14, class 5): only http(s) URLs and DOIs become links, on every face.

A guideline's front matter (or an HTML page's meta tags, or a red-flag rule) can set any
string as its ``url``. The HTML report, the Markdown report and the web page must never
turn anything but an absolute http(s) URL or a DOI into a link; the web page applies the
same rule as the Python renderers (checked in a real Chromium against ``safe_url``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from markdown_it import MarkdownIt

from agent.links import safe_url
from agent.report import CSP, render_html, to_markdown
from tests.loopback import ThreadedUvicorn
from tests.report.answers import build_answer
from tests.server.conftest import make_service
from tests.server.test_webpage import browser  # noqa: F401  (the Chromium fixture)

HOSTILE = [
    "javascript:alert(document.cookie)",
    " JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "\x01javascript:alert(1)",
    "javascript&colon;alert(1)",
    "vbscript:msgbox(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "file:///etc/passwd",
    "//evil.example/x",
    "/relative/path",
    "evil.example/page",
    'https://ok.example/"onmouseover="alert(1)',
    "https://ok.example/<script>",
    "https://user:pw@ok.example/",
    "https:alert(1)",
    "http://",
    "",
    # tried by the red team after the fix: entity and percent spellings, odd slashes,
    # credentials hidden by "@" or a backslash, invisible and direction characters
    "&#106;avascript:alert(1)",
    "javascript&#58;alert(1)",
    "&#x6A;&#x61;vascript:alert(1)",
    "http://%6a%61vascript:alert(1)",
    "\u200bjavascript:alert(1)",
    "\ufeffjavascript:alert(1)",
    "https:///evil.example",
    "http:/evil.example",
    "http://evil.example@ok.example/",
    "https://ok.example\\@evil.example/",
    "https://ok.example/\u2028x",
    "https://ok.example/\u202egnp.exe",
    "https://ok.example/\u200bx",
    "https://ok.example/\u00a0x",
    "vbscript&colon;msgbox(1)",
    "DATA:text/html,<script>alert(1)</script>",
]
SAFE = {
    "https://www.nice.org.uk/guidance/ng51": "https://www.nice.org.uk/guidance/ng51",
    "HTTP://EXAMPLE.ORG/a?b=1#c": "http://EXAMPLE.ORG/a?b=1#c",
    "doi:10.1161/CIR.0000000000001029": "https://doi.org/10.1161/CIR.0000000000001029",
    "10.1016/S0140-6736(20)30183-5": "https://doi.org/10.1016/S0140-6736(20)30183-5",
    "https://a.example/x[y](javascript:alert(1))": (
        "https://a.example/x%5By%5D%28javascript:alert%281%29%29"
    ),
}


@pytest.mark.parametrize("url", HOSTILE)
def test_hostile_addresses_are_not_links(url: str) -> None:
    assert safe_url(url) is None


@pytest.mark.parametrize(("url", "link"), SAFE.items())
def test_http_urls_and_dois_are_links(url: str, link: str) -> None:
    assert safe_url(url) == link


def _with_urls(tmp_path: Path, url: str) -> dict[str, Any]:
    answer, _ = build_answer(tmp_path)
    for ref in answer["references"]:
        if ref["kind"] == "guideline":
            ref["citation"]["url"] = url
    answer["red_flags"][0]["source"]["url"] = url
    return answer


def _hrefs(html: str) -> list[str]:
    return [str(a.get("href")) for a in BeautifulSoup(html, "html.parser").find_all("a")]


@pytest.mark.parametrize("url", HOSTILE)
def test_no_face_links_a_hostile_guideline_url(tmp_path: Path, url: str) -> None:
    answer = _with_urls(tmp_path, url)
    html = render_html(answer)
    hrefs = _hrefs(html)
    assert hrefs and all(h.startswith("#") for h in hrefs), hrefs  # citations only
    markdown = to_markdown(answer)
    if url.strip():
        assert url.strip() not in markdown
    rendered = MarkdownIt("commonmark").render(markdown)  # as any Markdown viewer would
    assert all(h.startswith(("#", "http")) for h in _hrefs(rendered))


def test_a_doi_becomes_a_doi_org_link_in_the_reports(tmp_path: Path) -> None:
    answer = _with_urls(tmp_path, "")
    for ref in answer["references"]:
        if ref["kind"] == "guideline":
            ref["citation"]["doi"] = "10.1093/eurheartj/ehad191"
    link = "https://doi.org/10.1093/eurheartj/ehad191"
    assert link in _hrefs(render_html(answer))
    assert link in to_markdown(answer)


def test_the_html_report_forbids_every_script(tmp_path: Path) -> None:
    answer, _ = build_answer(tmp_path)
    soup = BeautifulSoup(render_html(answer), "html.parser")
    meta = soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})
    assert meta is not None and meta["content"] == CSP
    assert "default-src 'none'" in CSP and "script-src" not in CSP  # falls back to 'none'
    assert soup.find("script") is None


def test_the_web_page_applies_the_same_rule(tmp_path: Path, browser: Any) -> None:  # noqa: F811
    app, _ = make_service(tmp_path, [])
    with ThreadedUvicorn(app) as server:
        browser.get(server.url + "/")
        for url in [*HOSTILE, *SAFE]:
            in_page = browser.execute_script("return window.lingshu.safeUrl(arguments[0])", url)
            expected = safe_url(url)
            if expected is None:
                assert in_page is None, url
            else:  # the browser normalises (lower-case scheme and host, a trailing slash)
                assert in_page is not None, url
                assert in_page.lower().rstrip("/") == expected.lower().rstrip("/"), url


def test_a_hostile_title_is_text_in_the_markdown_and_html_reports(tmp_path: Path) -> None:
    """Red team: a guideline title holding a Markdown link and raw HTML became, in the
    Markdown report, a live link to evil.example and a <script> and <img onerror> for any
    Markdown viewer that renders HTML (CommonMark does by default)."""
    answer, _ = build_answer(tmp_path)
    title = (
        "T [click](javascript:alert(1)) [x](https://evil.example/) "
        "<img src=x onerror=alert(1)> <script>alert(2)</script>"
    )
    for ref in answer["references"]:
        if ref["kind"] == "guideline":
            ref["citation"]["title"] = title
            ref["citation"]["url"] = ""
    rendered = MarkdownIt("commonmark").render(to_markdown(answer))
    soup = BeautifulSoup(rendered, "html.parser")
    assert "evil.example" not in " ".join(_hrefs(rendered))
    assert not [t for t in soup.find_all(["script", "img"]) if "onerror" in str(t) or "2" in t.text]
    assert "[x](https://evil.example/)" in soup.get_text()  # shown as the text it is
    assert "<script>alert(2)</script>" in soup.get_text()
    html = BeautifulSoup(render_html(answer), "html.parser")
    assert html.find("script") is None
    assert not any("evil.example" in h for h in _hrefs(str(html)))
    assert all(img.get("onerror") is None for img in html.find_all("img"))


def test_model_text_carries_no_live_html_in_the_markdown(tmp_path: Path) -> None:
    """The model's own prose, findings and next steps (which may echo a planted record or
    passage) are text in the Markdown every face shows: a chatbot or notebook rendering it
    as CommonMark gets no <script> and no <img onerror>, and "<5 mmol/L" still reads as such."""
    answer, _ = build_answer(tmp_path)
    hostile = "<img src=x onerror=alert(1)> <script>alert(3)</script> glucose <5 mmol/L"
    answer["text"] = hostile
    diagnosis = answer["differential"]["diagnoses"][0]
    diagnosis["supporting"][0]["text"] = hostile
    diagnosis["next_steps"][0]["action"] = "<iframe src=https://evil.example/></iframe> ECG"
    rendered = MarkdownIt("commonmark").render(to_markdown(answer))
    soup = BeautifulSoup(rendered, "html.parser")
    assert soup.find_all(["script", "img", "iframe"]) == []
    text = soup.get_text()
    assert "<script>alert(3)</script>" in text  # shown as the words it is
    assert "glucose <5 mmol/L" in text
