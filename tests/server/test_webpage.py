"""The web chat page in a real headless Chromium: a consultation with an upload, two turns,
a citation click and a screenshot."""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.chromium import HEADLESS_CHROMIUM
from tests.fakes import call
from tests.loopback import ThreadedUvicorn
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
