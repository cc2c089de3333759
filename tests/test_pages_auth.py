"""AppTest with a simulated user per role: pages offer only what the role may do, and the library refuses the rest."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from e2e_helpers import GOOD_RETURN, app_env, demo_copy
from streamlit.testing.v1 import AppTest
from test_pages import _navigation_mode, plain, texts  # noqa: F401  (the fixture must be in this module too)

from cspdash.config import load_catalogue
from cspdash.store import Store

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard.py")
CONFIG = ROOT / "indicators.yaml"
PASSWORD = "correct horse battery staple"
B_RETURN = b"indicator,period,value\nB2,2025/26 Q3,1600\n"
USERS = {
    "admin@example.org": ("admin", []),
    "chair-asb@example.org": ("chair", ["asb"]),
    "viewer@example.org": ("viewer", []),
    "screen@example.org": ("meeting", []),
}


@pytest.fixture
def accounts_db(tmp_path_factory, monkeypatch) -> Path:
    db = demo_copy(tmp_path_factory, "auth")
    store = Store(db, load_catalogue(CONFIG))
    try:
        for email, (role, groups) in USERS.items():
            store.add_user(email, role, groups, password=PASSWORD)
    finally:
        store.close()
    return app_env(monkeypatch, db, CONFIG)


def app_as(email: str | None, page: str | None = None, signed_in_at: datetime | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if email:
        at.session_state["csp_signed_in"] = {"email": email, "at": signed_in_at or datetime.now()}
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_anonymous_sees_figures_but_must_sign_in_to_change(accounts_db):
    at = app_as(None)
    assert any("Sign in" in plain(m.value) for m in at.sidebar.markdown)
    at = app_as(None, "pages/upload.py")
    assert "Sign in (in the sidebar) to upload" in texts(at)
    assert not at.file_uploader  # nothing to upload with
    assert at.get("download_button")  # templates stay available


@pytest.mark.parametrize(("email", "can_upload"), [
    ("admin@example.org", True), ("chair-asb@example.org", True),
    ("viewer@example.org", False), ("screen@example.org", False),
])
def test_upload_page_offers_only_what_the_role_may_do(accounts_db, email, can_upload):
    at = app_as(email, "pages/upload.py")
    assert f"Signed in as {email}" in plain("\n".join(c.value for c in at.sidebar.caption))
    assert bool(at.file_uploader) is can_upload
    if not can_upload:
        assert "can see the figures but not change them" in texts(at)


def test_chair_commentary_choices_are_their_own_indicators(accounts_db):
    at = app_as("chair-asb@example.org", "pages/upload.py")
    choices = next(s for s in at.selectbox if s.label == "Indicator").options
    assert [c.split(" ")[0] for c in choices] == ["A1", "A2", "A4"]


def test_chair_cannot_store_another_subgroups_return(accounts_db):
    before = Store(accounts_db, load_catalogue(CONFIG))
    try:
        uploads = len(before.history())
    finally:
        before.close()
    at = app_as("chair-asb@example.org", "pages/upload.py")
    at.file_uploader[0].set_value(("b-return.csv", B_RETURN, "text/csv")).run()
    assert not at.exception
    assert any("permission denied" in plain(e.value).lower() and "B2" in plain(e.value) for e in at.error)
    assert not [b for b in at.button if b.key == "csp_confirm"]
    at.switch_page("pages/history.py").run()
    assert len(at.dataframe[0].value) == uploads


def test_chair_can_store_their_own_return(accounts_db):
    at = app_as("chair-asb@example.org", "pages/upload.py")
    at.file_uploader[0].set_value(("a2.csv", GOOD_RETURN, "text/csv")).run()
    at.button(key="csp_confirm").click().run()
    assert not at.exception
    assert any("stored as upload" in plain(s.value) for s in at.success)
    at.switch_page("pages/submissions.py").run()
    table = at.dataframe[0].value
    assert table[table["Indicator"] == "A2"].iloc[0]["By"] == "chair-asb@example.org"


@pytest.mark.parametrize(("email", "offered"), [
    ("admin@example.org", "all"), ("chair-asb@example.org", "own"), ("viewer@example.org", "none"),
])
def test_withdraw_offers_only_permitted_uploads(accounts_db, email, offered):
    at = app_as(email, "pages/history.py")
    pickers = [s for s in at.selectbox if s.key == "csp_withdraw_pick"]
    if offered == "none":
        assert not pickers
        return
    files = " ".join(pickers[0].options)
    assert "synthetic-asb-return.csv" in files
    assert ("synthetic-vawg-return.csv" in files) is (offered == "all")
    assert ("recorded-crime-borough.parquet" in files) is (offered == "all")  # datasets: admins only


def test_sign_in_form_and_sign_out(accounts_db):
    at = app_as(None)
    at.sidebar.text_input(key="csp_sign_in_email").input("chair-asb@example.org")
    at.sidebar.text_input(key="csp_sign_in_password").input("wrong password entirely")
    at.sidebar.button[0].click().run()
    assert any("not recognised" in plain(e.value) for e in at.sidebar.error)
    at.sidebar.text_input(key="csp_sign_in_email").input("chair-asb@example.org")
    at.sidebar.text_input(key="csp_sign_in_password").input(PASSWORD)
    at.sidebar.button[0].click().run()
    assert not at.exception
    assert "Signed in as chair-asb@example.org (chair of asb)" in plain("\n".join(c.value for c in at.sidebar.caption))
    at.sidebar.button(key="csp_sign_out").click().run()
    assert "csp_signed_in" not in at.session_state


def test_an_expired_session_is_signed_out(accounts_db):
    at = app_as("admin@example.org", signed_in_at=datetime.now() - timedelta(hours=9))
    assert "csp_signed_in" not in at.session_state
    assert "Your session expired" in plain("\n".join(i.value for i in at.sidebar.info))
