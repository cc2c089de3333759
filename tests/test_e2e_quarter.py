"""Browser test: after one chair's early return for a later quarter, a new session still opens on the last largely
complete quarter, and the later quarter is offered as "in progress" (issue 11, item 1)."""

from __future__ import annotations

import pytest
from e2e_helpers import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, demo_copy, playwright_or_skip, settle, streamlit_server
from tests_config import CONFIG

from cspdash.config import load_catalogue
from cspdash.ingest import SourceFile
from cspdash.store import Store

pytestmark = pytest.mark.e2e

EARLY = b"indicator,period,value\nA1,2026/27 Q1,4100\nA2,2026/27 Q1,150\n"


def test_a_new_session_opens_on_the_complete_quarter_after_an_early_return(tmp_path_factory):
    sync_api = playwright_or_skip()
    db = demo_copy(tmp_path_factory, "e2e-quarter")
    store = Store(db, load_catalogue(CONFIG))
    try:
        store.import_files([SourceFile("early.csv", data=EARLY)], "chair-asb@example.org")
    finally:
        store.close()
    ARTIFACTS.mkdir(exist_ok=True)
    with streamlit_server(db) as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.set_default_timeout(30_000)
            for path in ("", "/meeting"):  # each a new session: the default, not a remembered choice
                page.goto(url + path)
                settle(page)
                picker = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first
                if picker.is_visible():
                    picker.get_by_text("2025/26 Q3").wait_for()
                page.locator('[data-testid="stMain"]').get_by_text("2025/26 Q3").first.wait_for()
            page.goto(url)
            settle(page)
            picker = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first
            picker.click()
            option = page.get_by_role("option", name="2026/27 Q1 (in progress: 2 of 25)")
            option.wait_for()
            page.screenshot(path=str(ARTIFACTS / "quarter-picker-in-progress.png"))
            page.keyboard.press("Escape")
            page.close()
        finally:
            browser.close()
