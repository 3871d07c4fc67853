"""The web chat page in a real headless Chromium: a consultation with an upload, two turns,
a citation click and a screenshot."""

from __future__ import annotations

import io
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.chromium import HEADLESS_CHROMIUM
from tests.fakes import call
from tests.loopback import ThreadedUvicorn
from tests.report.answers import GUIDELINE_URL, build_answer
from tests.server.conftest import PASSAGE, make_service, need
from tests.server.test_api import png_bytes

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = [
    *HEADLESS_CHROMIUM,
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
]


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    need(os.path.exists(CHROMIUM), "Chromium is not installed (Debian: apt-get install chromium)")
    need(os.path.exists(DRIVER), "chromedriver is not installed (apt-get install chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        need(False, "the selenium package is not installed")
        raise
    os.environ["SE_OFFLINE"] = "true"  # never let Selenium Manager reach the network
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def test_consultation_in_the_browser(tmp_path: Path, ehr_path: Path, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    xray = tmp_path / "cxr.png"
    xray.write_bytes(png_bytes())
    script = [
        "Looking closer.\n" + call("zoom", image_id="I1", box=[0.5, 0.5, 1.0, 1.0]),
        "A dense opacity in the right lower zone [I1, I2].",
        call("lookup_guideline", topic="chest pain"),
        "Measure troponin now and at 1-3 hours [G1].",
    ]
    app, _ = make_service(tmp_path, script, ehr_path)
    wait = WebDriverWait(browser, 30)
    with ThreadedUvicorn(app) as server:
        browser.get(server.url + "/")
        wait.until(lambda d: len(Select(d.find_element(By.ID, "patient")).options) > 5)
        Select(browser.find_element(By.ID, "patient")).select_by_value("chest-pain")
        browser.find_element(By.ID, "new-session").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "session-id"), "chest-pain"))

        browser.find_element(By.ID, "files").send_keys(str(xray))
        browser.find_element(By.ID, "question").send_keys("Opacity on this film?")
        browser.find_element(By.ID, "send").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "answered"))
        steps = browser.find_element(By.ID, "steps").text
        assert "zoom" in steps
        canvas = wait.until(
            lambda d: d.find_element(By.CSS_SELECTOR, "#images canvas[data-drawn='1']")
        )
        assert canvas.get_attribute("data-id") == "I1"

        browser.find_element(By.ID, "question").send_keys("What should I measure?")
        browser.find_element(By.ID, "send").click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".msg.assistant")) == 2)
        wait.until(
            lambda d: d.find_elements(By.CSS_SELECTOR, ".msg.assistant a.cite[data-id='G1']")
        )
        answers = browser.find_elements(By.CSS_SELECTOR, ".msg.assistant")
        assert "Measure troponin now" in answers[1].text
        assert "dense opacity" in answers[0].text

        answers[1].find_element(By.CSS_SELECTOR, "a.cite[data-id='G1']").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "evidence-excerpt"), PASSAGE))
        assert "Test chest pain guideline" in browser.find_element(By.ID, "evidence-title").text

        shot = Image.open(io.BytesIO(browser.get_screenshot_as_png())).convert("L")
    assert shot.size[0] >= 1000 and shot.size[1] >= 700
    pixels = np.asarray(shot, dtype=np.float32)
    assert pixels.std() > 10  # not a blank page
    assert (pixels < 128).mean() > 0.01  # there is dark text on it


def _full_answer(tmp_path: Path) -> dict[str, Any]:
    """The report tests' full answer, with claim checks, ten next steps and a hostile URL."""
    (tmp_path / "answer").mkdir()
    answer, _ = build_answer(tmp_path / "answer")
    first = answer["differential"]["diagnoses"][0]
    first["supporting"][0]["check"] = {"status": "checked", "reason": "E2 says 52 ng/L"}
    first["against"][0]["check"] = {"status": "mismatch", "reason": "E1 is a blood pressure"}
    first["next_steps"] = [
        {"action": f"Step number {n}", "kind": "test", "why": "", "evidence": ["G1"]}
        for n in range(1, 11)
    ]
    first["next_steps"][9]["check"] = {"status": "unchecked", "reason": "no source says so"}
    answer["claim_counts"] = {"checked": 1, "unchecked": 1, "mismatch": 1}
    answer["red_flags"][0]["source"]["url"] = "javascript:alert('flag')"
    return answer


def _show(browser: Any, answer: dict[str, Any]) -> Any:
    from selenium.webdriver.common.by import By

    browser.execute_script(
        "const a = arguments[0];"
        "window.lingshu.state.evidence = Object.fromEntries(a.references.map((r) => [r.id, r]));"
        "window.lingshu.showAnswer(a, window.lingshu.addMessage('assistant', '...'));",
        answer,
    )
    return browser.find_element(By.CSS_SELECTOR, ".msg.assistant")


def test_every_part_of_a_full_answer_is_visible(tmp_path: Path, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    answer = _full_answer(tmp_path)
    app, _ = make_service(tmp_path, [])
    with ThreadedUvicorn(app) as server:
        browser.get(server.url + "/")
        shown = _show(browser, answer)
        text = shown.text  # what is visible, as the user sees it
        banner = shown.find_element(By.CSS_SELECTOR, ".banner")
        assert banner.is_displayed() and "URGENT: Chest pain with hypotension" in banner.text
        assert "Resuscitation area now" in banner.text and "E1" in banner.text
        assert banner.value_of_css_property("background-color") == "rgba(176, 0, 32, 1)"
        assert banner.find_elements(By.TAG_NAME, "a") == [  # the javascript: URL is not a link
            a for a in banner.find_elements(By.TAG_NAME, "a") if "cite" in a.get_attribute("class")
        ]
        assert "acute MI until shown otherwise [E2]" in text  # the summary line
        rows = shown.find_elements(By.CSS_SELECTOR, "table.ddx tbody tr")
        assert len(rows) == 3
        for row, d in zip(rows, answer["differential"]["diagnoses"], strict=True):
            cells = row.find_elements(By.TAG_NAME, "td")
            assert d["name"] in cells[1].text  # the planted <script> shows as text
            assert d["icd10"] in cells[2].text
            assert cells[3].text == f"{round(100 * d['likelihood'])}%"
            for column, key in ((4, "supporting"), (5, "against"), (6, "next_steps")):
                for item in d[key]:
                    assert (item.get("text") or item.get("action")) in cells[column].text
                    for eid in item["evidence"]:
                        assert cells[column].find_elements(
                            By.CSS_SELECTOR, f"a.cite[data-id='{eid}']"
                        )
        first = rows[0].find_elements(By.TAG_NAME, "td")
        steps = first[6].find_elements(By.TAG_NAME, "li")
        assert steps[9].text.startswith("10. test: Step number 10")  # not "0."
        assert "✓ checked against its source" in first[4].text
        assert "✗ does not match its source: E1 is a blood pressure" in first[5].text
        assert "? not checked" in steps[9].text
        assert "Claims against their sources: ✓ 1 checked · ? 1 unchecked · ✗ 1 mismatch" in text
        assert "J18.99X is not an ICD-10-CM code" in text  # warnings
        refs = shown.find_elements(By.CSS_SELECTOR, "ol.refs li")
        assert [r.find_element(By.CSS_SELECTOR, "a.cite").text for r in refs] == [
            r["id"] for r in answer["references"]
        ]
        assert any("ESC Guidelines for the management" in r.text for r in refs)
        link = shown.find_element(By.CSS_SELECTOR, f"ol.refs a[href='{GUIDELINE_URL}']")
        assert link.is_displayed()
        assert browser.execute_script("return window.pwned") is None  # the planted script


def test_page_policy_key_storage_and_icon(tmp_path: Path, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    app, _ = make_service(tmp_path, [])
    with ThreadedUvicorn(app) as server, httpx.Client(base_url=server.url) as http:
        page = http.get("/")
        policy = page.headers["content-security-policy"]
        assert "script-src 'sha256-" in policy and "unsafe-inline" not in policy
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
        icon = http.get("/favicon.ico")
        assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
        assert Image.open(io.BytesIO(icon.content)).size[0] >= 16

        browser.get(server.url + "/")
        # An injected inline handler is not the page's own script: the policy stops it.
        browser.execute_script(
            "const i = document.createElement('img'); i.src = 'x:';"
            "i.setAttribute('onerror', 'window.pwned = 1'); document.body.appendChild(i);"
            "const s = document.createElement('script'); s.textContent = 'window.pwned = 2';"
            "document.body.appendChild(s);"
        )
        time.sleep(0.5)
        assert browser.execute_script("return window.pwned") is None
        assert browser.execute_script("return typeof window.lingshu.showAnswer") == "function"

        key = browser.find_element(By.ID, "api-key")
        key.send_keys("lsk-not-for-local-storage")
        browser.find_element(By.ID, "new-session").click()
        time.sleep(0.5)
        stored = browser.execute_script(
            "return [localStorage.getItem('lingshu-key'), sessionStorage.getItem('lingshu-key')]"
        )
        assert stored == [None, "lsk-not-for-local-storage"]
