"""AppTest with a simulated user per role: pages offer only what the role may do, and the library refuses the rest."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from e2e_helpers import GOOD_RETURN, app_env, demo_copy, file_copy
from streamlit.testing.v1 import AppTest
from test_pages import _navigation_mode, plain, texts  # noqa: F401  (the fixture must be in this module too)

from cspdash.auth import SignInError
from cspdash.config import load_catalogue
from cspdash.periods import parse_period
from cspdash.status import rated_grain
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


@pytest.fixture(scope="module")
def accounts_template(tmp_path_factory) -> Path:
    """The demo with USERS' accounts, made once for the module (a password hash takes time on purpose)."""
    db = demo_copy(tmp_path_factory, "auth-template")
    store = Store(db, load_catalogue(CONFIG))
    try:
        for email, (role, groups) in USERS.items():
            store.add_user(email, role, groups, password=PASSWORD)
    finally:
        store.close()
    return db


@pytest.fixture
def accounts_db(accounts_template, tmp_path_factory, monkeypatch) -> Path:
    return app_env(monkeypatch, file_copy(tmp_path_factory, accounts_template, "auth"), CONFIG)


def app_as(email: str | None, page: str | None = None, signed_in_at: datetime | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if email:
        at.session_state["csp_signed_in"] = {"email": email, "at": signed_in_at or datetime.now()}
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_anonymous_sees_only_the_sign_in_form(accounts_db):
    at = app_as(None)
    assert at.main.text_input(key="csp_sign_in_email")  # the sign-in form leads the main area
    assert "Not signed in" in plain("\n".join(c.value for c in at.sidebar.caption))
    at = app_as(None, "pages/upload.py")
    assert "Sign in to see the dashboard" in texts(at)  # tests/test_fail_closed.py checks every page
    assert not at.file_uploader and not at.get("download_button") and not at.dataframe


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


def sign_in(at: AppTest, email: str, password: str) -> AppTest:
    at.main.text_input(key="csp_sign_in_email").input(email)
    at.main.text_input(key="csp_sign_in_password").input(password)
    next(b for b in at.main.button if b.label == "Sign in").click().run()
    return at


def test_sign_in_form_and_sign_out(accounts_db):
    at = sign_in(app_as(None), "chair-asb@example.org", "wrong password entirely")
    assert any("not recognised" in plain(e.value) for e in at.main.error)
    at = sign_in(at, "chair-asb@example.org", PASSWORD)
    assert not at.exception
    assert "Signed in as chair-asb@example.org (chair of asb)" in plain("\n".join(c.value for c in at.sidebar.caption))
    assert not [t for t in at.main.text_input if t.key == "csp_sign_in_email"]  # the form is gone once signed in
    at.sidebar.button(key="csp_sign_out").click().run()
    assert "csp_signed_in" not in at.session_state
    assert at.main.text_input(key="csp_sign_in_email")


def test_an_expired_session_is_signed_out(accounts_db):
    at = app_as("admin@example.org", signed_in_at=datetime.now() - timedelta(hours=9))
    assert "csp_signed_in" not in at.session_state
    assert "Your session expired" in plain("\n".join(i.value for i in at.main.info))


# --- the quarterly cycle as a chair lives it --------------------------------------------------------------

CHAIRS = {"chair-asb@example.org": ["asb"], "chair-hate@example.org": ["hate"],
          "chair-two@example.org": ["hate", "prevent"]}


@pytest.fixture
def chairs_db(accounts_db) -> Path:
    store = Store(accounts_db, load_catalogue(CONFIG))
    try:
        for email, groups in CHAIRS.items():
            if store.user(email) is None:
                store.add_user(email, "chair", groups, password=PASSWORD)
    finally:
        store.close()
    return accounts_db


@pytest.mark.parametrize(("email", "offered"), [
    *CHAIRS.items(),
    ("admin@example.org", [g.id for g in load_catalogue(CONFIG).subgroups]),
])
def test_template_and_commentary_pickers_offer_a_chair_only_their_subgroups(chairs_db, email, offered):
    at = app_as(email, "pages/upload.py")
    assert at.selectbox(key="csp_template_subgroup").options == [
        load_catalogue(CONFIG).subgroup(g).name for g in offered]
    assert at.selectbox(key="csp_template_subgroup").value == offered[0]  # a hate chair starts on hate's template
    cat = load_catalogue(CONFIG)
    owners = {cat.indicator(c.split(" ")[0]).owner for c in at.selectbox(key="csp_commentary_indicator").options}
    assert owners == {cat.indicator(i.id).owner for i in cat.indicators if i.owner in offered}


def owed(db: Path, subgroup: str, label: str) -> bool:
    """Whether ``subgroup`` lacks a complete figure for the ended quarter ``label`` (read straight from the store)."""
    store = Store(db, load_catalogue(CONFIG))
    try:
        figures = store.current_figures()
        q = parse_period(label, grain="quarter")
        for ind in store.cat.indicators_of(owner=subgroup):
            if ind.measure is not None:
                continue
            fig = figures[ind.id].get(q.at(rated_grain(ind)))
            if fig is None or not fig.complete or fig.value is None:
                return True
        return False
    finally:
        store.close()


@pytest.mark.parametrize("email", ["chair-hate@example.org", "chair-asb@example.org"])
def test_template_quarter_starts_on_an_ended_quarter_the_subgroup_owes(chairs_db, email):
    at = app_as(email, "pages/upload.py")
    subgroup = at.selectbox(key="csp_template_subgroup").value
    picker = at.selectbox(key=f"csp_template_quarter_{subgroup}")
    today = date.today()
    assert all(parse_period(q, grain="quarter").end < today for q in picker.options)  # only ended quarters
    assert owed(chairs_db, subgroup, picker.value)


def test_commentary_typed_survives_a_failed_save(tmp_path_factory, monkeypatch):
    app_env(monkeypatch, demo_copy(tmp_path_factory, "open"), CONFIG)  # open mode: the save needs an e-mail
    at = app_as(None, "pages/upload.py")
    note = "Fewer repeat callers after the Community MARAC reviews."
    at.text_area(key="csp_commentary_text_0").input(note)
    next(b for b in at.button if b.label == "Save commentary").click().run()
    assert any("Type your e-mail above first" in plain(e.value) for e in at.error)
    assert at.text_area(key="csp_commentary_text_0").value == note  # kept to try again
    at.text_input(key="csp_user_input").input("chair@example.org").run()
    next(b for b in at.button if b.label == "Save commentary").click().run()
    assert any("saved as upload" in plain(m.value) for m in at.success)
    assert at.text_area(key="csp_commentary_text_1").value == ""  # emptied once saved


def test_commentary_section_stays_after_a_refused_upload(chairs_db):
    at = app_as("chair-asb@example.org", "pages/upload.py")
    at.file_uploader[0].set_value(("b-return.csv", B_RETURN, "text/csv")).run()
    assert not at.exception
    assert any("permission denied" in plain(e.value).lower() for e in at.error)
    assert "3. Chair's commentary" in [h.value for h in at.header]
    at.text_area(key="csp_commentary_text_0").input("Still on track.")
    next(b for b in at.button if b.label == "Save commentary").click().run()
    assert any("saved as upload" in plain(m.value) for m in at.success)


# --- the accounts page --------------------------------------------------------------------------------------

def accounts_page(email: str | None) -> AppTest:
    return app_as(email, "pages/accounts.py")


def account_state(db: Path, email: str) -> tuple[bool, str] | None:
    store = Store(db, load_catalogue(CONFIG))
    try:
        row = next((u for u in store.list_users() if u["email"] == email), None)
        return None if row is None else (row["disabled"], row["role"])
    finally:
        store.close()


def test_accounts_page_adds_disables_re_enables_and_resets(accounts_db):
    at = accounts_page("admin@example.org")
    assert "Accounts" in [t.value for t in at.title]
    at.text_input(key="csp_new_email").input("new-chair@example.org")
    at.selectbox(key="csp_new_role").set_value("chair")
    at.multiselect(key="csp_new_subgroups").set_value(["hate"])
    at.text_input(key="csp_new_password").input(PASSWORD)
    next(b for b in at.button if b.label == "Add the account").click().run()
    assert not at.exception
    assert any("Added new-chair@example.org" in plain(m.value) for m in at.success)
    assert account_state(accounts_db, "new-chair@example.org") == (False, "chair")
    table = at.dataframe[0].value
    assert table.loc[table["E-mail"] == "new-chair@example.org", "State"].item() == "✅ Active"

    at.selectbox(key="csp_manage_email").set_value("new-chair@example.org")
    at.button(key="csp_manage_disable").click().run()
    assert account_state(accounts_db, "new-chair@example.org") == (True, "chair")
    table = at.dataframe[0].value
    assert table.loc[table["E-mail"] == "new-chair@example.org", "State"].item() == "⛔ Disabled"
    at.button(key="csp_manage_enable").click().run()
    assert account_state(accounts_db, "new-chair@example.org") == (False, "chair")

    store = Store(accounts_db, load_catalogue(CONFIG))
    try:  # five wrong passwords lock the account; the reset clears that and sets the new password
        for _ in range(5):
            with pytest.raises(SignInError):
                store.sign_in("new-chair@example.org", "wrong password here")
    finally:
        store.close()
    at.run()
    table = at.dataframe[0].value
    assert table.loc[table["E-mail"] == "new-chair@example.org", "State"].item() == "🔒 Locked out"
    at.text_input(key="csp_reset_password_text").input("a brand new passphrase")
    next(b for b in at.button if b.label == "Reset the password").click().run()
    assert any("Password reset for new-chair@example.org" in plain(m.value) for m in at.success)
    store = Store(accounts_db, load_catalogue(CONFIG))
    try:
        assert store.sign_in("new-chair@example.org", "a brand new passphrase").subgroups == ("hate",)
        actions = [(e["user_name"], e["action"]) for e in store.events(20)]
    finally:
        store.close()
    assert ("admin@example.org", "user add") in actions and ("admin@example.org", "user set-password") in actions
    assert ("admin@example.org", "user disable") in actions and ("admin@example.org", "user enable") in actions


def test_accounts_page_shows_refusals_in_words(accounts_db):
    at = accounts_page("admin@example.org")
    at.selectbox(key="csp_manage_email").set_value("admin@example.org")
    at.button(key="csp_manage_disable").click().run()
    assert any("last enabled admin" in plain(e.value) for e in at.error)
    at.text_input(key="csp_new_email").input("viewer@example.org")
    at.selectbox(key="csp_new_role").set_value("viewer")
    next(b for b in at.button if b.label == "Add the account").click().run()
    assert any("already has an account" in plain(e.value) for e in at.error)
    assert at.text_input(key="csp_new_email").value == "viewer@example.org"  # kept to correct


@pytest.mark.parametrize("email", [None, "chair-asb@example.org", "viewer@example.org", "screen@example.org"])
def test_accounts_page_refuses_non_admins(accounts_db, email):
    at = AppTest.from_file(str(ROOT / "pages" / "accounts.py"), default_timeout=60)  # reached by its address anyway
    if email:
        at.session_state["csp_signed_in"] = {"email": email, "at": datetime.now()}
    at.run()
    assert not at.exception
    assert any("Only an admin may manage accounts" in plain(e.value) for e in at.error)
    assert not at.button and not at.dataframe and not at.text_input  # nothing to see or press
    before = account_state(accounts_db, "viewer@example.org")
    assert before == (False, "viewer")


@pytest.mark.parametrize(("email", "listed"), [("admin@example.org", True), ("chair-asb@example.org", False),
                                                ("viewer@example.org", False), (None, False)])
def test_accounts_page_is_listed_only_for_admins(accounts_db, email, listed):
    if listed:
        at = app_as(email, "pages/accounts.py")
        assert "Accounts" in [t.value for t in at.title]
        return
    at = app_as(email)
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # not in the navigation at all
        at.switch_page("pages/accounts.py")


def test_first_admin_is_created_in_open_mode(tmp_path_factory, monkeypatch):
    db = app_env(monkeypatch, demo_copy(tmp_path_factory, "first-admin"), CONFIG)
    at = app_as(None, "pages/accounts.py")
    assert "Create the first admin account" in texts(at)
    at.text_input(key="csp_first_email").input("analyst@example.org")
    at.text_input(key="csp_first_password").input(PASSWORD)
    at.text_input(key="csp_first_again").input(PASSWORD + " typo")
    next(b for b in at.button if b.label == "Create the admin account and sign in").click().run()
    assert any("The two passwords differ" in plain(e.value) for e in at.error)
    assert account_state(db, "analyst@example.org") is None
    at.text_input(key="csp_first_again").input(PASSWORD)
    next(b for b in at.button if b.label == "Create the admin account and sign in").click().run()
    assert not at.exception
    assert account_state(db, "analyst@example.org") == (False, "admin")
    assert "Signed in as analyst@example.org (admin)" in plain("\n".join(c.value for c in at.sidebar.caption))
    assert at.dataframe[0].value["E-mail"].tolist() == ["analyst@example.org"]  # now the admin's view
