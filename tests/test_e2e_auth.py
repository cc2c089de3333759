"""Browser test of permissions: a chair of priority A signs in and cannot store priority B's return."""

from __future__ import annotations

import pytest
from e2e_helpers import CHROMIUM, CHROMIUM_ARGS, demo_copy, on_screen, playwright_or_skip, settle, streamlit_server
from test_e2e import WAIT, WIDE
from tests_config import CONFIG

from cspdash.config import load_catalogue
from cspdash.store import Store

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery staple"
B_RETURN = b"indicator,period,value\nB2,2025/26 Q3,1600\n"


def uploads(db) -> tuple[int, int]:
    store = Store(db, load_catalogue(CONFIG))
    try:
        return len(store.history()), store.data_version()
    finally:
        store.close()


def test_chair_cannot_import_another_priority_in_the_browser(tmp_path_factory):
    sync_api = playwright_or_skip()
    db = demo_copy(tmp_path_factory, "e2e-auth")
    store = Store(db, load_catalogue(CONFIG))
    try:
        store.add_user("chair-a@example.org", "chair", ["asb"], password=PASSWORD)
    finally:
        store.close()
    before = uploads(db)
    with streamlit_server(db) as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=WIDE)
            page.set_default_timeout(WAIT)
            page.goto(f"{url}/upload")
            settle(page)
            page.get_by_text("Sign in to see the dashboard").wait_for()  # nothing else before signing in
            assert page.locator('input[type="file"]').count() == 0
            sidebar = page.locator('[data-testid="stSidebar"]')
            main = page.locator('[data-testid="stMain"]')
            main.get_by_label("E-mail", exact=True).and_(page.locator("input")).fill("chair-a@example.org")
            main.get_by_label("Password", exact=True).and_(page.locator("input")).fill(PASSWORD)
            main.get_by_role("button", name="Sign in").click()
            settle(page)
            sidebar.get_by_text(on_screen("Signed in as chair-a@example.org")).wait_for()
            page.locator('input[type="file"]').set_input_files(
                files=[{"name": "b-return.csv", "mimeType": "text/csv", "buffer": B_RETURN}])
            page.get_by_text("permission denied", exact=False).first.wait_for()
            assert "B2" in page.get_by_text("permission denied", exact=False).first.inner_text()
            assert page.get_by_role("button", name="Confirm and store").count() == 0
        finally:
            browser.close()
    assert uploads(db) == before
