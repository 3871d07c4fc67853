"""The web page renders a sequential-mode answer (real Chromium): the kept differential with
its change, the next action with its price, each role's output and the session's cost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By

from testing.fakes import call
from tests.loopback import ThreadedUvicorn
from tests.panel.test_sequential_mode import CHALLENGE, STRONG, WEAK, agent_for
from tests.server.conftest import make_service
from tests.server.test_webpage import _show, browser

__all__ = ["browser"]  # the fixture, shared with the page's own tests


def test_the_page_shows_the_panel_and_the_cost(tmp_path: Path, browser: Any) -> None:
    agent = agent_for(
        tmp_path, [call("lookup_guideline", topic="chest pain"), WEAK, CHALLENGE, STRONG, CHALLENGE]
    )
    one = agent.ask("Chest pain, differential?")
    answer = agent.ask("Troponin is rising. Update?", session_id=one.session_id).answer
    app, _ = make_service(tmp_path / "service", [])
    with ThreadedUvicorn(app) as server:
        browser.get(server.url + "/")
        shown = _show(browser, answer)
        panel = shown.find_element(By.CSS_SELECTOR, ".panel")
        assert panel.is_displayed() and "PANEL (TURN 2)" in panel.text.upper()
        rows = [
            [td.text for td in tr.find_elements(By.TAG_NAME, "td")]
            for tr in panel.find_elements(By.CSS_SELECTOR, "table.hypotheses tbody tr")
        ]
        assert rows == [
            ["NSTEMI", "I21.4", "0.70", "0.45 -> 0.70", ""],
            ["Pulmonary embolism", "I26.99", "0.20", "0.35 -> 0.20", ""],
        ]
        assert "Next action (test, chosen by the chooser): troponin — $12.00" in panel.text
        assert "falsifying test: CTPA; leader strong (p=0.70)" in panel.text
        assert "Checklist: passed" in panel.text
        assert "Tests so far: $350.00; proposed next: troponin ($12.00)." in panel.text
