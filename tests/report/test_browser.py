"""The HTML report opened in a real headless Chromium (Debian ``chromium``).

The screenshot must show what a clinician needs: the red urgent banner at the top,
the differential table (its likelihood bars), the chest film with the zoomed
regions outlined, and the references list below the images. Chromium runs with
every host name unresolvable, so anything the page tried to fetch would be missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from agent.report import write_report
from tests.chromium import HEADLESS_CHROMIUM

WIDTH, HEIGHT = 1200, 3400
RED = (176, 0, 32)  # the banner
BAR = (31, 95, 168)  # likelihood bars and reference ids
OUTLINES = ((255, 212, 0), (0, 229, 255))  # I2 and I3 drawn on the original
WARNINGS_BG = (255, 248, 232)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail("chromium is not installed; CI must install Debian's chromium package")
    pytest.skip("chromium is not installed (apt-get install chromium); CI runs this test")


def screenshot(browser: str, html: Path, tmp_path: Path) -> np.ndarray:
    png = tmp_path / "shot.png"
    command = [
        browser,
        *HEADLESS_CHROMIUM,
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--window-size={WIDTH},{HEIGHT}",
        f"--screenshot={png}",
        html.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert png.is_file(), (
        f"chromium wrote no screenshot (rc {done.returncode}): {done.stderr[-800:]}"
    )
    return np.asarray(Image.open(png).convert("RGB")).astype(int)


def near(pixels: np.ndarray, colour: tuple[int, int, int], tol: int = 24) -> np.ndarray:
    return np.all(np.abs(pixels - colour) <= tol, axis=-1)


def longest_run(row: np.ndarray) -> int:
    """Longest run of True in a row of pixels (a drawn bar, not text)."""
    padded = np.concatenate(([0], row.astype(int), [0]))
    edges = np.flatnonzero(np.diff(padded))
    return int((edges[1::2] - edges[::2]).max()) if len(edges) else 0


def test_the_report_renders_in_chromium(built: tuple[dict[str, Any], Path], tmp_path: Path) -> None:
    browser = chromium()
    answer, images = built
    html = write_report(tmp_path / "report.html", answer, image_root=images)
    shot = screenshot(browser, html, tmp_path)

    assert shot.shape == (HEIGHT, WIDTH, 3)
    colours = np.unique(shot.reshape(-1, 3), axis=0)
    assert len(colours) > 500, "the page looks blank"
    not_white = np.any(shot < 235, axis=-1).mean()
    assert not_white > 0.08, f"only {not_white:.1%} of the page is drawn on"

    banner_rows = np.nonzero(near(shot, RED, 6).sum(axis=1) > WIDTH // 2)[0]
    assert len(banner_rows) > 60, "no red urgent banner"
    assert banner_rows.min() < 300, "the urgent banner is not at the top"

    bar_mask = near(shot, BAR, 6)
    bars = [y for y in range(banner_rows.max(), HEIGHT) if 70 <= longest_run(bar_mask[y]) < 200]
    assert len(bars) >= 8, "no likelihood bar (the 55% one) in a table under the banner"

    outline_rows: list[int] = []
    for colour in OUTLINES:
        rows = np.nonzero(near(shot, colour).sum(axis=1) > 40)[0]
        assert len(rows) >= 2, f"region outline {colour} not visible on the image"
        outline_rows.extend(int(r) for r in rows)
    assert min(outline_rows) > max(bars), "the images come after the table"

    warnings_rows = np.nonzero(near(shot, WARNINGS_BG, 3).sum(axis=1) > WIDTH // 2)[0]
    assert len(warnings_rows), "no warnings panel"
    between = shot[max(outline_rows) + 1 : warnings_rows.min()]
    ref_ids = near(between, BAR, 30).sum()
    assert ref_ids > 200, "no references list (blue ids) between the images and the warnings"
