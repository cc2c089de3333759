"""Fail closed: the app and the CLI never create a database by accident; open mode needs CSPDASH_OPEN_MODE=1 on
127.0.0.1; once accounts exist nothing is shown before sign-in unless the catalogue says ``partnership.public``,
and then statuses and figures but never uploaders' e-mails or original files.

Before: a database path that did not exist became an empty database in open mode, where anyone who typed an
e-mail could withdraw uploads, freeze packs and download the backup; with accounts, every page, all commentary,
uploaders' e-mails and the original files were readable without signing in.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import yaml
from e2e_helpers import app_env, demo_copy, server_address
from streamlit.testing.v1 import AppTest
from test_pages import _navigation_mode  # noqa: F401  (AppTest must run dashboard.py in navigation mode)

from cspdash import auth
from cspdash.cli import main
from cspdash.config import load_catalogue, parse_catalogue
from cspdash.errors import ConfigError
from cspdash.status import RAG_WORDS
from cspdash.store import Store

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard.py")
CONFIG = ROOT / "indicators.yaml"
PAGES = sorted(f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py"))
PASSWORD = "correct horse battery staple"
ADMIN = "admin@example.org"
#: Element types that carry data: none may appear before sign-in on a closed dashboard.
DATA_ELEMENTS = {"dataframe", "table", "metric", "arrow_vega_lite_chart", "vega_lite_chart", "download_button",
                 "selectbox", "file_uploader", "text_area", "code"}


def elements(node) -> list:
    """Every element under an AppTest node, depth first."""
    children = getattr(node, "children", None)
    if not children:
        return [node]
    return [e for c in children.values() for e in elements(c)]


def words(at: AppTest) -> str:
    """Every text the app shows, main area and sidebar (tables as their cells)."""
    out = []
    for e in elements(at.main) + elements(at.sidebar):
        value = getattr(e, "value", None)
        if e.type in ("dataframe", "table"):
            out.append(value.to_string() if hasattr(value, "to_string") else str(value))
        elif isinstance(value, str):
            out.append(value)
        label = getattr(e, "label", None)
        if isinstance(label, str):
            out.append(label)
    for e in at.get("code"):
        out.append(str(e.value))
    return "\n".join(out).replace("\\", "")


def types(at: AppTest) -> set[str]:
    return {e.type for e in elements(at.main) + elements(at.sidebar)}


def run_app(page: str | None = None, email: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if email:
        at.session_state["csp_signed_in"] = {"email": email, "at": datetime.now()}
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.fixture
def with_admin(tmp_path_factory):
    """A copy of the demo database with one admin account."""
    db = demo_copy(tmp_path_factory, "closed")
    store = Store(db, load_catalogue(CONFIG))
    try:
        store.add_user(ADMIN, "admin", password=PASSWORD)
    finally:
        store.close()
    return db


# --- the database is never created by accident ------------------------------------------------------------------

def test_the_app_refuses_a_missing_database_in_words(tmp_path, monkeypatch):
    db = app_env(monkeypatch, tmp_path / "nowhere" / "csp.duckdb", CONFIG)
    at = run_app()
    message = at.error[0].value.replace("\\", "")
    assert f"There is no database at {db}" in message
    assert "python -m cspdash --db" in message and " init" in message and " demo" in message
    assert not db.exists() and not db.parent.exists()  # nothing made
    assert types(at) & DATA_ELEMENTS == set()


@pytest.mark.parametrize("command", [["import", "{tmp}/r.csv", "--user", "u@example.org"], ["status"], ["history"],
                                     ["user", "add", ADMIN, "--role", "admin", "--no-password"], ["user", "list"],
                                     ["withdraw", "1", "--user", "u"], ["snapshots"], ["backup", "--out", "{tmp}/b"]])
def test_cli_data_commands_refuse_a_missing_database(tmp_path, capsys, command):
    (tmp_path / "r.csv").write_bytes(b"indicator,period,value\nA2,2025/26 Q3,150\n")
    db = tmp_path / "csp.duckdb"
    code = main(["--db", str(db), "--config", str(CONFIG), *[c.format(tmp=tmp_path) for c in command]])
    err = capsys.readouterr().err
    assert code == 1
    assert f"there is no database at {db}" in err and f"python -m cspdash --db {db} init" in err
    assert not db.exists()


def test_init_makes_an_empty_database_once(tmp_path, capsys):
    db = tmp_path / "new" / "csp.duckdb"
    args = ["--db", str(db), "--config", str(CONFIG)]
    assert main([*args, "init"]) == 0
    assert f"created an empty database at {db}" in capsys.readouterr().out
    store = Store(db, load_catalogue(CONFIG))
    try:
        assert store.is_empty() and not store.has_accounts()
    finally:
        store.close()
    assert main([*args, "init"]) == 1  # never over an existing database
    assert "already exists" in capsys.readouterr().err
    assert main([*args, "user", "add", ADMIN, "--role", "admin", "--no-password"]) == 0
    assert main([*args, "user", "list", "--format", "json"]) == 0
    assert ADMIN in capsys.readouterr().out


# --- open mode ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("setting", "address", "allowed"), [
    ("1", "127.0.0.1", True), ("1", "localhost", True), ("1", "::1", True), ("1", "127.0.1.1", True),
    ("1", None, False),  # Streamlit's default: every interface
    ("1", "", False), ("1", "0.0.0.0", False), ("1", "10.1.2.3", False),
    (None, "127.0.0.1", False), ("0", "127.0.0.1", False), ("yes", "127.0.0.1", False), ("true", "127.0.0.1", False),
])
def test_open_mode_needs_the_setting_and_a_loopback_address(setting, address, allowed):
    refusal = auth.open_mode_refusal(setting, address)
    assert (refusal is None) is allowed
    if setting == "1" and not allowed:
        assert "127.0.0.1" in refusal and "CSPDASH_OPEN_MODE=1 is refused" in refusal


@pytest.mark.parametrize(("accounts", "signed_in", "refusal", "public", "expected"), [
    (False, False, None, False, "open"), (False, False, "off", False, "setup"), (False, False, "off", True, "setup"),
    (True, True, None, False, "member"), (True, False, None, False, "closed"), (True, False, "off", True, "public"),
])
def test_access(accounts, signed_in, refusal, public, expected):
    assert auth.access(accounts, signed_in, refusal, public) == expected
    assert expected in auth.ACCESS


@pytest.mark.parametrize("page", [None, *PAGES])
def test_no_accounts_and_no_open_mode_shows_only_how_to_create_the_first_admin(tmp_path_factory, monkeypatch,
                                                                                page):
    app_env(monkeypatch, demo_copy(tmp_path_factory, "setup"), CONFIG, open_mode=False)
    if page == "pages/accounts.py":  # not in the navigation: reached by its address, it says the same
        at = AppTest.from_file(str(ROOT / page), default_timeout=60).run()
        assert not at.exception
        assert "Create the first admin account" in [t.value for t in at.title]
        assert "user add you@council.gov.uk --role admin" in words(at) and not at.text_input and not at.button
        return
    at = run_app(page)
    assert [t.value for t in at.title] == ["Create the first admin account"]
    assert "user add you@council.gov.uk --role admin" in words(at)
    assert "open mode is off" in words(at).lower()
    assert types(at) & DATA_ELEMENTS == {"code"}  # the command, and nothing else
    assert not at.text_input and not at.button  # nobody may type an e-mail and act
    assert "@demo.example" not in words(at)


@pytest.mark.parametrize("address", [None, "0.0.0.0"])
def test_open_mode_is_refused_off_loopback(tmp_path_factory, monkeypatch, address):
    app_env(monkeypatch, demo_copy(tmp_path_factory, "exposed"), CONFIG, open_mode=True)
    server_address(monkeypatch, address)
    at = run_app("pages/history.py")
    assert [t.value for t in at.title] == ["Create the first admin account"]
    assert "CSPDASH_OPEN_MODE=1 is refused" in words(at)
    assert not at.get("download_button") and not at.button and not at.text_input


def test_open_mode_on_loopback_works_as_the_demo(tmp_path_factory, monkeypatch):
    app_env(monkeypatch, demo_copy(tmp_path_factory, "open"), CONFIG, open_mode=True)
    at = run_app("pages/history.py")
    assert at.dataframe and at.text_input(key="csp_user_input")  # make run: a working app
    assert "Open mode" in words(at)


# --- accounts exist: nothing before sign-in -----------------------------------------------------------------------

@pytest.mark.parametrize("page", [None, *PAGES])
def test_with_accounts_an_anonymous_visitor_sees_only_the_sign_in_form(with_admin, monkeypatch, page):
    app_env(monkeypatch, with_admin, CONFIG, open_mode=True)  # open mode asked for, but accounts exist
    if page == "pages/accounts.py":  # admins only: not even in the (hidden) navigation
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            run_app(page)
        return
    at = run_app(page)
    assert at.main.text_input(key="csp_sign_in_email") and at.main.text_input(key="csp_sign_in_password")
    assert types(at) & DATA_ELEMENTS == set()
    text = words(at)
    for hidden in ("@demo.example", "Data as at", "commentary", "Download", *RAG_WORDS.values()):
        assert hidden not in text
    assert "Sign in to see the dashboard" in text


def test_signing_in_shows_the_page_asked_for(with_admin, monkeypatch):
    app_env(monkeypatch, with_admin, CONFIG)
    at = run_app("pages/history.py")
    at.main.text_input(key="csp_sign_in_email").input(ADMIN)
    at.main.text_input(key="csp_sign_in_password").input(PASSWORD)
    next(b for b in at.main.button if b.label == "Sign in").click().run()
    assert not at.exception
    assert "Upload history" in [t.value for t in at.title] and at.dataframe


def test_a_signed_in_member_sees_the_dashboard(with_admin, monkeypatch):
    app_env(monkeypatch, with_admin, CONFIG)
    at = run_app(None, email=ADMIN)
    assert at.metric and "Data as at" in words(at)


# --- partnership.public -------------------------------------------------------------------------------------------

@pytest.fixture
def public_config(tmp_path) -> Path:
    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    data["partnership"]["public"] = True
    path = tmp_path / "public.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_public_flag_is_validated():
    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    assert not parse_catalogue(data).public
    data["partnership"]["public"] = True
    assert parse_catalogue(data).public
    data["partnership"]["public"] = "true"
    with pytest.raises(ConfigError) as e:
        parse_catalogue(data)
    assert "partnership.public: expected true or false, got 'true'; remove the quotes" in e.value.problems


@pytest.mark.parametrize("page", [None, "pages/priority_a.py", "pages/indicator.py", "pages/meeting.py"])
def test_public_dashboard_shows_statuses_but_no_emails_or_files(with_admin, public_config, monkeypatch, page):
    app_env(monkeypatch, with_admin, public_config)
    at = run_app(page)
    text = words(at)
    assert "Data as at" in text
    assert any(w in text for w in RAG_WORDS.values())  # statuses
    assert "@demo.example" not in text  # no uploader's e-mail, in commentary bylines or tables
    for table in at.dataframe:
        assert not {"By", "File", "user", "file"} & set(table.value.columns)
    for button in at.get("download_button"):
        assert "original" not in button.label and "backup" not in button.label and "pack" not in button.label
    assert at.main.text_input(key="csp_sign_in_email")  # signing in is offered


@pytest.mark.parametrize("page", ["pages/history.py", "pages/upload.py", "pages/packs.py", "pages/submissions.py",
                                  "pages/accounts.py"])
def test_public_dashboard_has_no_returns_pages_for_anonymous_visitors(with_admin, public_config, monkeypatch, page):
    app_env(monkeypatch, with_admin, public_config)
    at = run_app()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(page)
