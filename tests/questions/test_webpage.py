"""The web page shows the agent's question as its own bubble, and the input answers it
(headless Chromium, as tests/server/test_webpage.py drives it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from testing.loopback import ThreadedUvicorn
from tests.questions.conftest import QUESTION, asking
from tests.server.conftest import make_service
from tests.server.test_webpage import browser  # noqa: F401 (the fixture)


def test_the_page_shows_the_question_and_the_input_answers_it(
    tmp_path: Path,
    ehr_path: Path,
    browser: Any,  # noqa: F811
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    app, model = make_service(tmp_path, [asking(), "No travel: ACS comes first."], ehr_path)
    wait = WebDriverWait(browser, 30)
    with ThreadedUvicorn(app) as server:
        browser.get(server.url + "/")
        wait.until(lambda d: len(Select(d.find_element(By.ID, "patient")).options) > 5)
        Select(browser.find_element(By.ID, "patient")).select_by_value("chest-pain")
        browser.find_element(By.ID, "new-session").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "session-id"), "chest-pain"))

        browser.find_element(By.ID, "question").send_keys("Chest pain, what first?")
        browser.find_element(By.ID, "send").click()
        bubble = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".msg.question"))
        assert f"The agent asks: {QUESTION}" in bubble.text
        assert "Travel changes the pre-test odds" in bubble.text
        assert not browser.find_elements(By.CSS_SELECTOR, ".msg.assistant")

        browser.find_element(By.ID, "question").send_keys("He has not travelled.")
        browser.find_element(By.ID, "send").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "answered"))
        answer = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".msg.assistant"))
        assert "No travel: ACS comes first." in answer.text
    assert "He has not travelled." in model.prompt_text(-1)
