"""Browser test: a bookmark of a page (not the home page) as the FIRST request to a freshly started server.

A fresh Streamlit server with a folder named pages/ beside dashboard.py starts in Streamlit's old multipage mode, whose
first run of a page URL runs that page file alone (no app sidebar, no quarter) and lists every file of the folder in
the sidebar. cspdash.ui._within_app hands such a run to dashboard.py (tests/test_first_visit.py has the AppTest
half); here the real server and Chromium show the page inside the app: dashboard.py's navigation (its sections, not
the folder's file names) and the quarter picker.
"""

from __future__ import annotations

import pytest
from e2e_helpers import CHROMIUM, CHROMIUM_ARGS, browser_missing_reason, demo_copy, settle, streamlit_server

pytestmark = pytest.mark.e2e

WAIT = 60_000  # ms; the first run of a fresh server opens the DuckDB store and fills the caches


@pytest.mark.parametrize(("path", "heading"), [("/priority_b", "Priority B: Violence"), ("/meeting", None)])
def test_a_page_url_as_the_first_request_shows_the_app(tmp_path_factory, path, heading):
    reason = browser_missing_reason()
    if reason:
        pytest.skip(reason)
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    db = demo_copy(tmp_path_factory, "first-visit")
    with streamlit_server(db) as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url + path)  # the server's first request
            settle(page, WAIT)
            sidebar = page.locator('[data-testid="stSidebar"]')
            sidebar.locator('[data-testid="stNavSectionHeader"]').first.wait_for(state="attached", timeout=WAIT)
            sidebar.locator('[data-testid="stSelectbox"]').first.wait_for(state="attached", timeout=WAIT)
            settle(page, WAIT)
            links = sidebar.locator('[data-testid="stSidebarNav"] a').evaluate_all("a => a.map(x => x.textContent)")
            assert any("Overview" in t for t in links) and not any(t.strip() == "dashboard" for t in links), links
            quarter = sidebar.locator('[data-testid="stSelectbox"]').first.inner_text()
            assert "Q" in quarter, f"no quarter in the sidebar's picker: {quarter!r}"
            assert page.url == url + path and not page.locator('[role="dialog"]').count()  # no "page not found"
            if heading:
                page.get_by_role("heading", name=heading).first.wait_for(timeout=WAIT)
            else:
                page.locator(".st-key-csp_meeting_next").first.wait_for(state="attached", timeout=WAIT)
        finally:
            browser.close()
