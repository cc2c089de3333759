"""Browser test: the real Streamlit server on a copy of the demo database, driven by Debian's headless Chromium.

Opens the overview, uploads a return through the real upload widget, checks the preview, confirms, sees the
indicator's status change, and saves screenshots of the overview, a priority page and meeting mode under
test-artifacts/.
"""

from __future__ import annotations

import re

import pytest
from e2e_helpers import (
    ARTIFACTS,
    GOOD_RETURN,
    browser_missing_reason,
    chromium,
    demo_copy,
    drawn,
    settle,
    streamlit_server,
)

pytestmark = pytest.mark.e2e

WAIT = 30_000  # ms; a first page render includes starting the script and the DuckDB store
WIDE = {"width": 1400, "height": 1000}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    reason = browser_missing_reason()
    if reason:
        pytest.skip(reason)
    db = demo_copy(tmp_path_factory, "e2e")
    with streamlit_server(db) as url:
        yield url


@pytest.fixture(scope="module")
def browser(server):
    with chromium() as b:
        yield b


def status_of(page, indicator: str) -> str:
    """The Status cell of an indicator's row in the first of the overview's tables that lists it."""
    table = page.locator('[data-testid="stTable"]').filter(
        has=page.locator("tr", has_text=re.compile(rf"^\s*{indicator} "))).first
    row = table.locator("tr", has_text=re.compile(rf"^\s*{indicator} ")).first
    row.wait_for()  # all_inner_texts does not wait for the table to be drawn
    column = [h.strip() for h in table.locator("thead th").all_inner_texts()].index("Status")  # the index is hidden
    return row.locator("td").nth(column).inner_text().replace("\u00a0", " ").strip()


def shoot(page, url: str | None, name: str, height: int) -> None:
    """A screenshot of the whole page at ``url`` (None: the page already open; Streamlit scrolls inside its own
    container, so grow the viewport)."""
    page.set_viewport_size({"width": WIDE["width"], "height": height})
    if url is not None:
        page.goto(url)
        settle(page)
    drawn(page)  # charts draw after the script finishes (and after the viewport grew)
    page.screenshot(path=str(ARTIFACTS / name))


def test_upload_through_the_browser_changes_the_status(server, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport=WIDE)
    page.set_default_timeout(WAIT)

    page.goto(server)
    settle(page)
    page.get_by_text("Missing for 2025/26 Q3").wait_for()
    headline_before = page.locator("h2").first.inner_text()
    assert "no data" in headline_before
    assert status_of(page, "A2").endswith("NO DATA")
    shoot(page, None, "overview.png", 2600)  # the overview just checked, not loaded again

    page.set_viewport_size(WIDE)
    page.goto(f"{server}/upload")
    settle(page)
    email = page.get_by_label("Your e-mail", exact=True).and_(page.locator("input"))
    email.fill("chair-asb@towerhamlets.gov.uk")
    email.press("Enter")
    settle(page)
    page.locator('input[type="file"]').set_input_files(
        files=[{"name": "a2-return.csv", "mimeType": "text/csv", "buffer": GOOD_RETURN}])
    page.get_by_text("Checked: no problems found").wait_for()
    preview = page.locator('[data-testid="stTable"]').first.inner_text().replace("\u00a0", " ")
    assert "NO DATA →" in preview and "– → 150" in preview
    page.screenshot(path=str(ARTIFACTS / "upload-preview.png"))
    page.get_by_role("button", name="Confirm and store").click()
    page.get_by_text(re.compile(r"stored as upload \d+")).wait_for()

    page.goto(server)
    settle(page)
    page.locator("h2").first.wait_for()
    assert page.locator("h2").first.inner_text() != headline_before
    after = status_of(page, "A2")
    assert not after.endswith("NO DATA") and after.split()[1] in {"GREEN", "AMBER", "RED"}

    shoot(page, f"{server}/priority_a", "priority-a.png", 3000)
    shoot(page, f"{server}/meeting", "meeting.png", 1100)
    page.locator('[data-testid="stMain"]').get_by_text("Data as at").first.wait_for()  # the sidebar is hidden
    assert page.get_by_text("OFFICIAL").count() >= 2
    page.close()
