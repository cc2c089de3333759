"""Browser test of the sign-in cookie: at 1280x720 the main-area form is in view; a reload keeps the user signed in;
after signing out a reload keeps them signed out."""

from __future__ import annotations

import pytest
from e2e_helpers import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, demo_copy, on_screen, playwright_or_skip, settle, streamlit_server
from test_e2e import WAIT
from tests_config import CONFIG

from cspdash import auth
from cspdash.config import load_catalogue
from cspdash.store import Store

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery staple"
SMALL = {"width": 1280, "height": 720}


def in_view(page, locator) -> bool:
    """Whether the element lies wholly inside the viewport, without scrolling."""
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= page.viewport_size["height"]


def test_sign_in_survives_a_reload_and_sign_out_does_too(tmp_path_factory):
    sync_api = playwright_or_skip()
    db = demo_copy(tmp_path_factory, "e2e-signin")
    store = Store(db, load_catalogue(CONFIG))
    try:
        store.add_user("chair-hate@example.org", "chair", ["hate"], password=PASSWORD)
    finally:
        store.close()
    ARTIFACTS.mkdir(exist_ok=True)
    with streamlit_server(db) as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=SMALL)
            page.set_default_timeout(WAIT)
            page.goto(f"{url}/upload")
            settle(page)
            main = page.locator('[data-testid="stMain"]')
            email = main.get_by_label("E-mail", exact=True).and_(page.locator("input"))
            password = main.get_by_label("Password", exact=True).and_(page.locator("input"))
            button = main.get_by_role("button", name="Sign in")
            assert all(in_view(page, x) for x in (email, password, button)), "the sign-in form is below the fold"
            page.screenshot(path=str(ARTIFACTS / "signin-form-1280x720.png"))
            email.fill("chair-hate@example.org")
            password.fill(PASSWORD)
            button.click()
            settle(page)
            sidebar = page.locator('[data-testid="stSidebar"]')
            sidebar.get_by_text(on_screen("Signed in as chair-hate@example.org")).wait_for()
            page.wait_for_function("() => document.cookie.includes('cspdash_session=')")
            cookie = next(c for c in page.context.cookies() if c["name"] == auth.COOKIE_NAME)
            assert cookie["sameSite"] == "Strict" and cookie["path"] == "/" and cookie["expires"] > 0

            page.reload()
            settle(page)
            sidebar.get_by_text(on_screen("Signed in as chair-hate@example.org")).wait_for()
            assert main.get_by_role("button", name="Sign in").count() == 0
            page.locator('input[type="file"]').wait_for(state="attached")  # a chair may upload: still signed in
            page.screenshot(path=str(ARTIFACTS / "signin-after-reload.png"))

            sidebar.get_by_role("button", name="Sign out").click()
            settle(page)
            main.get_by_role("button", name="Sign in").wait_for()
            page.wait_for_function("() => !document.cookie.includes('cspdash_session=')")
            page.reload()
            settle(page)
            main.get_by_role("button", name="Sign in").wait_for()
            assert sidebar.get_by_text("Signed in as").count() == 0
            assert page.locator('input[type="file"]').count() == 0
            page.screenshot(path=str(ARTIFACTS / "signin-after-sign-out-reload.png"))
        finally:
            browser.close()
