"""Streamlit helpers shared by the pages: the cached store and frames, the quarter picker, error display and
the renderers used by more than one screen. The only module of cspdash that imports streamlit.

Data comes from ``cspdash.views`` (pure); this module only caches it and puts it on the screen.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from cspdash import auth, backups, charts, compare, status, views
from cspdash.auth import User
from cspdash.config import load_catalogue
from cspdash.dburl import parse_db
from cspdash.errors import ConfigError, CspdashError
from cspdash.ingest import ValidationError
from cspdash.periods import Period
from cspdash.store import Store, require_database

DEFAULT_DB = "data/csp.duckdb"
DEFAULT_CONFIG = "indicators.yaml"

# Session-state keys: UI selections only, all prefixed ``csp_``.
KEY_QUARTER = "csp_quarter"
KEY_USER = "csp_user"  # the remembered e-mail (survives page switches)
KEY_USER_INPUT = "csp_user_input"  # the text input's own key (Streamlit drops it on pages without the input)
KEY_SIGNED_IN = "csp_signed_in"  # {"email": ..., "at": datetime} after a local sign-in
KEY_COOKIE_WRITE = "csp_cookie_write"  # a sign-in token for the browser to store ('' to delete it), once
KEY_COOKIE_SEEN = "csp_cookie_seen"  # the cookie this session has already judged (or signed out of)

#: Streamlit's named colours for each RAG (the theme in .streamlit/config.toml maps them to a colour-blind-safe
#: palette); always shown with the icon and the word.
RAG_THEME = {"green": "green", "amber": "orange", "red": "red", "no_data": "gray", "monitor": "blue"}

T = TypeVar("T")

#: Every page: status badges inside headings scale with the heading. Static CSS written here; never built from data.
BASE_CSS = """<style>
h1 .stMarkdownBadge, h2 .stMarkdownBadge, h3 .stMarkdownBadge, h4 .stMarkdownBadge {
  font-size: 0.85em !important; padding: 0.1em 0.45em; font-weight: 700; }
[data-testid="stTable"] td, [data-testid="stTable"] th { font-size: 1rem; }
/* The Overview's tiles: the status badge as large as a heading's, without being one (the page's outline stays h1, h2). */
[class*="st-key-csp_tile_"] .stMarkdownBadge { font-size: 1.5rem !important; padding: 0.1em 0.45em; font-weight: 700; }
/* Streamlit fades captions to 3.8:1 on white; opaque #595959 is 7:1 (6.6:1 on the sidebar): WCAG AA asks 4.5:1. */
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p { color: #595959 !important; opacity: 1 !important; }
</style>"""

#: Meeting mode for a projector: no sidebar or header, large high-contrast type, one screen that fits 1280x720, and
#: each status block (a container keyed ``csp_meeting_rag_<rag>``) on its RAG colour with the text colour that reads
#: on it. Text colour is inherited, never set on p, so a table cell keeps the colour style_rag gives it. Static CSS
#: written here from cspdash.views' palette; never built from data.
MEETING_CSS = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
[data-testid="stHeader"], [data-testid="stToolbar"] { display: none !important; }
[data-testid="stMain"] { background: #ffffff; color: #000000; }
[data-testid="stMainBlockContainer"] { padding: 0.6rem 2rem 0.4rem 2rem !important; max-width: 100% !important; }
[data-testid="stMain"] [data-testid="stVerticalBlock"] { gap: 0.45rem; }
[data-testid="stMain"] p, [data-testid="stMain"] li { font-size: clamp(1.3rem, 2.3vh, 1.9rem); line-height: 1.3; }
[data-testid="stMain"] h1 { font-size: clamp(2.2rem, 3.9vh, 3.2rem); color: #000000; padding: 0.1rem 0 0.4rem 0; }
[data-testid="stMain"] h2 { font-size: clamp(1.7rem, 3vh, 2.5rem); color: #000000; padding: 0.1rem 0; }
[data-testid="stMain"] h3 { font-size: clamp(1.4rem, 2.5vh, 2rem); color: #000000; padding: 0.1rem 0; }
[data-testid="stMain"] [data-testid="stCaptionContainer"] { font-size: clamp(1.05rem, 1.9vh, 1.4rem); color: #333333; }
[data-testid="stMain"] [data-testid="stText"] { font-size: clamp(1.2rem, 2.1vh, 1.6rem); color: #000000; white-space: pre-wrap; }
[data-testid="stTable"] table { border-collapse: collapse; }
[data-testid="stTable"] th { font-size: 1.05rem; color: #000000; border: 2px solid #000000; padding: 0.1rem 0.6rem; }
[data-testid="stTable"] td { padding: 0.1rem 0.6rem; border: 2px solid #000000; }
[data-testid="stTable"] td p { font-size: clamp(1.1rem, 2vh, 1.5rem); line-height: 1.25; }
[data-testid="stTable"] td [data-testid="stMarkdownContainer"] { max-width: none; }  /* a title on one line */
[data-testid="stMain"] button p { font-size: 1.3rem; font-weight: 700; }
.st-key-csp_meeting_pgup, .st-key-csp_meeting_pgdn { display: none !important; }
""" + "".join(
    f".st-key-csp_meeting_rag_{rag} {{ background: {colour}; border-radius: 0.4rem; padding: 0.5rem 1rem; }}\n"
    f".st-key-csp_meeting_rag_{rag} p {{ color: {views.RAG_TEXT[rag]} !important; }}\n"
    for rag, colour in views.RAG_COLOUR.items()) + "</style>"


# --- store and cached frames ------------------------------------------------------------------

def paths() -> tuple[str, str]:
    """(database, catalogue) from ``CSPDASH_DB`` / ``CSPDASH_CONFIG``, or the defaults."""
    return os.environ.get("CSPDASH_DB") or DEFAULT_DB, os.environ.get("CSPDASH_CONFIG") or DEFAULT_CONFIG


@st.cache_resource(show_spinner=False)
def _open_store(db: str, config: str) -> Store:
    cat = load_catalogue(config)
    target = parse_db(db)  # a path or a PostgreSQL URL; any other URL is refused in words, never taken as a file name
    require_database(target)  # the app never creates a database: it says which command makes one (not cached)
    s = Store(target, cat)
    daily = backups.settings_from_env()  # CSPDASH_BACKUP_DIR set: the app writes a daily backup (docs/reliability.md)
    if daily is not None:
        backups.DailyBackups(s, *daily).start()
    return s


def store() -> Store:
    """The one Store of this process for the configured database and catalogue (every page starts here); reopened
    once the cause is gone when a failure of the disk invalidated it (``Store.revive``)."""
    _within_app()
    s = _open_store(*paths())
    s.revive()
    return s


#: The folder of page files beside dashboard.py; its name switches a fresh Streamlit server into the old multipage mode.
PAGES_DIR = Path(__file__).resolve().parents[1] / "pages"
KEY_APP_RUN = "csp_app_run"  # True while dashboard.py runs (every page of the app runs inside it)
KEY_IN_APP = "csp_in_app"  # this session has run dashboard.py to its end (or has asked for it once): never ask again


@contextmanager
def app_run() -> Iterator[None]:
    """Mark the script run of dashboard.py, which wraps its whole body in this, so pages know they run inside it."""
    st.session_state[KEY_APP_RUN] = True
    try:
        yield
        st.session_state[KEY_IN_APP] = True  # it reached st.navigation: Streamlit now ignores pages/ for good
    finally:
        st.session_state[KEY_APP_RUN] = False


def _blank() -> None:
    """A page that is never shown (the default of the one-off navigation of ``_within_app``)."""


def _within_app() -> None:
    """Rerun through dashboard.py when Streamlit ran a page file on its own.

    Because the page files live in a folder named ``pages/``, a fresh server starts in Streamlit's old multipage
    mode and, if its first request is a page's URL (a bookmark of /meeting), runs that file alone: no sidebar, no
    quarter. Streamlit documents the way out (``st.navigation``'s docstring): "As soon as any session of your app
    executes the st.navigation command, your app will ignore the pages/ directory (across all sessions)". So a page
    that finds dashboard.py neither running nor ever run in this session calls ``st.navigation`` once, with the
    folder's pages (the URL names the old mode used, so the page asked for stays the current one), and reruns: the
    rerun is dashboard.py's, showing the same page inside the app. tests/test_first_visit.py checks both halves.
    """
    state = st.session_state
    if state.get(KEY_APP_RUN) or state.get(KEY_IN_APP):
        return
    state[KEY_IN_APP] = True  # once: a page file run as the main script (AppTest of one page) must not loop
    files = sorted(PAGES_DIR.glob("*.py")) if PAGES_DIR.is_dir() else []
    st.navigation([st.Page(_blank, title="Dashboard", url_path="dashboard", default=True),
                   *(st.Page(f) for f in files)], position="hidden")
    st.rerun()


@st.cache_data(show_spinner=False, max_entries=512)
def _cached(name: str, db: str, version: int, args: tuple, _store: Store) -> Any:
    return getattr(views, name)(_store, *args)


def view(fn: Callable[..., T], *args: Any) -> T:
    """``fn(store, *args)`` for a function of ``cspdash.views``, cached until the next commit to the database."""
    s = store()
    if getattr(views, fn.__name__, None) is not fn:
        raise TypeError(f"{fn!r} is not a function of cspdash.views")
    return _cached(fn.__name__, str(s.path), s.data_version(), args, _store=s)


@st.cache_data(show_spinner=False, max_entries=16)
def _pack_bytes(db: str, version: int, period: str | None, meeting: str | None, snapshot: int | None, kind: str,
                _store: Store) -> tuple[str, bytes]:
    from cspdash import report, snapshots

    source = snapshots.load(_store, snapshot) if snapshot is not None else period
    pack = report.resolve(_store, source, meeting)
    data = report.render_pdf(pack) if kind == "pdf" else report.render_xlsx(pack)
    return report.file_name(pack, kind), data


def pack_file(kind: str, period: Period | None = None, meeting: str | None = None,
              snapshot: int | None = None) -> tuple[str, bytes]:
    """(file name, bytes) of the meeting pack (``pdf``) or scorecard (``xlsx``), cached until the next commit."""
    s = store()
    return _pack_bytes(str(s.path), s.data_version(), period.label if period else None, meeting, snapshot, kind,
                       _store=s)


def pack_downloads(period: Period | None, meeting: str | None = None, snapshot: int | None = None,
                   key: str = "pack") -> None:
    """A "Prepare" button, then download buttons for the PDF pack and the Excel scorecard."""
    if anonymous(store()):
        st.caption("Sign in to download the meeting pack: it carries the chairs' commentary and its authors.")
        return
    ready_key = f"csp_{key}_ready"
    if st.button("Prepare the meeting pack (PDF) and scorecard (Excel)", key=f"csp_{key}_prepare",
                 icon=":material/description:"):
        st.session_state[ready_key] = (period.label if period else None, meeting, snapshot)
    if st.session_state.get(ready_key) != (period.label if period else None, meeting, snapshot):
        st.caption("The pack takes a few seconds to draw.")
        return
    with st.spinner("Drawing the pack..."):
        pdf_name, pdf = pack_file("pdf", period, meeting, snapshot)
        xlsx_name, xlsx = pack_file("xlsx", period, meeting, snapshot)
    c1, c2 = st.columns(2)
    c1.download_button("Download the meeting pack (PDF)", data=pdf, file_name=pdf_name, mime="application/pdf",
                       icon=":material/download:", on_click="ignore", key=f"csp_{key}_pdf")
    c2.download_button("Download the scorecard (Excel)", data=xlsx, file_name=xlsx_name,
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       icon=":material/download:", on_click="ignore", key=f"csp_{key}_xlsx")


# --- errors -----------------------------------------------------------------------------------

def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def show_error(e: CspdashError) -> None:
    """A cspdash error in words, with its fix; never a stack trace."""
    if isinstance(e, ValidationError):
        show_problems(e)
    elif isinstance(e, ConfigError):
        st.error(f"The indicator catalogue {md(e.source)} has {len(e.problems)} problem(s); fix them and reload "
                 "the page. Check it with `python -m cspdash validate-config`.", icon="⛔")
        st.dataframe(pd.DataFrame({"Problem": e.problems}), hide_index=True)
    else:
        st.error(md(_sentence(str(e))), icon="⛔")


@contextmanager
def guard() -> Iterator[None]:
    """Show any cspdash error raised inside the block once, in words."""
    try:
        yield
    except CspdashError as e:
        show_error(e)


def show_problems(e: ValidationError) -> None:
    """The problems of a refused upload as a message and a table (file, row, column, value, problem, fix)."""
    st.error(views.problems_message(e), icon="⛔")
    st.dataframe(views.problems_frame(e), hide_index=True,
                 column_config={"Fix": st.column_config.TextColumn(width="large"),
                                "Problem": st.column_config.TextColumn(width="large")})


# --- shared widgets ---------------------------------------------------------------------------

def quarter_picker(s: Store) -> Period | None:
    """The sidebar's quarter selectbox (default: the latest largely complete quarter); None when there are no figures."""
    options = view(views.quarter_options)
    if not options:
        st.session_state.pop(KEY_QUARTER, None)
        st.caption("No quarters yet: there are no figures.")
        return None
    labels = [o.label for o in options]
    shown = {o.label: o.display for o in options}
    if st.session_state.get(KEY_QUARTER) not in labels:
        st.session_state[KEY_QUARTER] = views.default_quarter(options).label
    label = st.selectbox("Quarter", labels, key=KEY_QUARTER, format_func=lambda x: shown[x],
                         help="Every page shows this quarter. The default is the latest quarter for which at least "
                              f"{views.share_words(s.cat)} of the indicators have a complete figure; later quarters are "
                              "marked as in progress.")
    return views.quarter(label)


def selected_quarter() -> Period | None:
    """The quarter chosen in the sidebar, or None when there are no figures yet."""
    label = st.session_state.get(KEY_QUARTER)
    return views.quarter(label) if label else None


def require_quarter() -> Period | None:
    """The chosen quarter; when the database has no figures, show the empty state and return None."""
    period = selected_quarter()
    if period is None:
        empty_state()
    return period


def empty_state() -> None:
    """The message shown while the database has no figures."""
    st.info(views.EMPTY_MESSAGE, icon="📭")


def oidc_configured() -> bool:
    """Whether ``[auth]`` is set in .streamlit/secrets.toml (sign-in through the council's identity provider)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises its own error types here
        return False


def signed_in_user(s: Store) -> User | None:
    """The signed-in account (identity provider, local password, or a genuine sign-in cookie from an earlier visit),
    or None; expired sessions and disabled accounts are signed out."""
    if oidc_configured():
        return _provider_account(s)[0]
    info = st.session_state.get(KEY_SIGNED_IN) or _from_cookie(s)
    if not info:
        return None
    if auth.session_expired(info.get("at"), datetime.now()):
        _sign_out()
        st.session_state["csp_signin_note"] = "Your session expired; sign in again."
        return None
    user = s.user(info["email"])
    if user is None or user.disabled:
        _sign_out()
        return None
    return user


def _provider_account(s: Store) -> tuple[User | None, str]:
    """The account the identity provider's sign-in maps to (or None and why not); (None, '') when not signed in."""
    if not getattr(st.user, "is_logged_in", False):
        return None, ""
    return auth.provider_account(st.user.to_dict(), s.user)


def _from_cookie(s: Store) -> dict | None:
    """Resume a sign-in from this browser's cookie (read once per session, never after signing out here: the
    cookies Streamlit shows a session are those sent when it connected)."""
    token = st.context.cookies.get(auth.COOKIE_NAME)
    if not token or st.session_state.get(KEY_COOKIE_SEEN) == token:
        return None
    st.session_state[KEY_COOKIE_SEEN] = token
    claims = auth.verify_token(token, _cookie_secret(paths()[0]), datetime.now(), s.account_stamp)
    if claims is None:
        st.session_state[KEY_COOKIE_WRITE] = ""  # forged, expired or outdated: have the browser drop it
        return None
    info = {"email": claims.email, "at": claims.expires - auth.SESSION_LIFETIME}
    st.session_state[KEY_SIGNED_IN] = info
    return info


@st.cache_resource(show_spinner=False)
def _cookie_secret(db: str) -> bytes:
    return auth.cookie_secret(db)  # once per process: it may create the secret file


def start_session(s: Store, user: User) -> None:
    """Sign ``user`` in for this session and, through a cookie, for the next visits of this browser."""
    now = datetime.now()
    st.session_state[KEY_SIGNED_IN] = {"email": user.email, "at": now}
    found = s.account_stamp(user.email)
    if found is not None:
        token = auth.sign_token(user.email, found[1], now + auth.SESSION_LIFETIME, _cookie_secret(paths()[0]))
        st.session_state[KEY_COOKIE_WRITE] = token
        st.session_state[KEY_COOKIE_SEEN] = token


def _sign_out() -> None:
    """End this session's sign-in and have the browser drop the cookie."""
    st.session_state.pop(KEY_SIGNED_IN, None)
    st.session_state.pop(KEY_USER, None)
    st.session_state[KEY_COOKIE_SEEN] = st.context.cookies.get(auth.COOKIE_NAME)  # never resumed from again here
    st.session_state[KEY_COOKIE_WRITE] = ""


_COOKIE_VALUE = re.compile(r"[A-Za-z0-9_.\-]*")  # what auth.sign_token makes; nothing else reaches the script


def _write_cookie() -> None:
    """Set (or, for '', delete) the sign-in cookie in the browser, once, after a sign-in or sign-out.

    Streamlit reads cookies but cannot set them, so a short static script does; the token must be made of
    base64url, digits, hex and dots only (checked here), and is JSON-quoted anyway. SameSite=Strict, Secure on
    https, and Max-Age as the session.
    """
    token = st.session_state.pop(KEY_COOKIE_WRITE, None)
    if token is None or not _COOKIE_VALUE.fullmatch(token):
        return
    age = int(auth.SESSION_LIFETIME.total_seconds()) if token else 0
    st.html(f"""<script>
document.cookie = {json.dumps(auth.COOKIE_NAME)} + "=" + {json.dumps(token)} + "; Path=/; Max-Age={age}; SameSite=Strict"
  + (window.location.protocol === "https:" ? "; Secure" : "");
</script>""", unsafe_allow_javascript=True, width="content")


def account_panel(s: Store) -> None:
    """The sidebar's signed-in, signed-out and open-mode notices."""
    accounts = s.has_accounts()
    user = signed_in_user(s) if accounts else None  # first: it may find the browser's cookie outdated
    _write_cookie()
    if not accounts:
        if open_mode_refusal() is None:
            st.warning("Open mode (no accounts yet, this computer only): anyone using this app can change data. "
                       "Create the first admin account on the Accounts page.", icon="🔓")
        else:
            st.warning("No accounts yet: create the first admin account (see the main area).", icon="🔒")
        return
    if user is not None:
        role = user.role + (f" of {', '.join(user.subgroups)}" if user.subgroups else "")
        st.caption(md(f"Signed in as {user.email} ({role})"))
        if st.button("Sign out", key="csp_sign_out", icon=":material/logout:"):
            _sign_out()
            if oidc_configured():
                st.logout()
            st.rerun()
        return
    if oidc_configured():
        refused = _provider_account(s)[1]
        if refused:
            st.error(md(_sentence(refused) + "."), icon="⛔")
            if st.button("Sign out", key="csp_sign_out_unknown"):
                st.logout()
            return
        st.button("Sign in", key="csp_sign_in_oidc", on_click=st.login, type="primary", icon=":material/login:")
        return
    st.caption("Not signed in: sign in at the top of the page to change anything.")


def sign_in_form(s: Store) -> None:
    """The main area's sign-in form (local passwords), shown above every page while accounts exist and nobody is
    signed in; one row, so it is in view on a 1280x720 screen."""
    if oidc_configured() or not s.has_accounts() or signed_in_user(s) is not None:
        return
    note = st.session_state.pop("csp_signin_note", None)
    if note:
        st.info(note, icon="⏱️")
    with st.form("csp_sign_in", clear_on_submit=True, border=True):
        c1, c2, c3 = st.columns([3, 3, 1], vertical_alignment="bottom")
        email = c1.text_input("E-mail", key="csp_sign_in_email", autocomplete="username")
        password = c2.text_input("Password", type="password", key="csp_sign_in_password",
                                 autocomplete="current-password")
        if c3.form_submit_button("Sign in", type="primary", icon=":material/login:"):
            try:
                user = s.sign_in(email, password, client=client_key())
            except CspdashError as e:
                st.error(md(_sentence(str(e))), icon="⛔")
            else:
                start_session(s, user)
                st.rerun()


def open_mode_refusal() -> str | None:
    """Why open mode is refused in this app (None when ``CSPDASH_OPEN_MODE=1`` and it listens on 127.0.0.1 only)."""
    return auth.open_mode_refusal(os.environ.get(auth.OPEN_MODE_ENV), st.get_option("server.address"))


def access(s: Store) -> str:
    """What this session may see: a key of ``auth.ACCESS`` (open, setup, member, public, closed)."""
    accounts = s.has_accounts()
    signed_in = accounts and signed_in_user(s) is not None
    return auth.access(accounts, signed_in, None if accounts else open_mode_refusal(), s.cat.public)


#: The access levels that may read figures and statuses.
READERS = ("open", "member", "public")


def anonymous(s: Store) -> bool:
    """Whether this session reads a public dashboard without signing in: no uploaders' e-mails, no original files,
    no meeting packs (they carry commentary with its authors)."""
    return access(s) == "public"


def first_admin_instructions(s: Store) -> None:
    """The only screen of an app with no accounts while open mode is off: how to create the first admin."""
    db = shlex.quote(paths()[0])
    st.title("Create the first admin account", anchor=False)
    st.info(md(_sentence(f"{open_mode_refusal()}. This dashboard has no accounts yet, so it shows nothing until "
                         "the first admin (the CSP analyst) is created.")), icon="🔒")
    st.markdown("On the server, stop the app (DuckDB lets one process open the database), run")
    st.code(f"python -m cspdash --db {db} user add you@council.gov.uk --role admin", language="bash")
    st.markdown("(it asks for a password of at least 12 characters), then start the app again and sign in. "
                "For a trial on your own computer only, start the app with `CSPDASH_OPEN_MODE=1` instead "
                "(`make run` does): it is then served on 127.0.0.1 and its Accounts page creates the first admin.")


def sign_in_required(s: Store) -> None:
    """The main area of every page while accounts exist and nobody is signed in (the catalogue is not public)."""
    st.title(md(s.cat.name), anchor=False)
    if oidc_configured():
        st.info("Sign in with the button in the sidebar to see the dashboard.", icon="🔒")
    else:
        st.info("Sign in to see the dashboard.", icon="🔒")


def client_key() -> str:
    """Who is asking, for the per-client limit on sign-in attempts: the connection's address, or (on localhost,
    where Streamlit gives none) a random key kept for this browser session."""
    ip = st.context.ip_address
    if ip:
        return f"ip:{ip}"
    return "session:" + st.session_state.setdefault("csp_client_key", secrets.token_hex(8))


def may_manage_accounts(s: Store) -> bool:
    """Whether this session may manage accounts: a signed-in admin, or in open mode (no accounts yet,
    ``CSPDASH_OPEN_MODE=1`` on 127.0.0.1) anyone, to create the first admin."""
    if not s.has_accounts():
        return open_mode_refusal() is None
    user = signed_in_user(s)
    return user is not None and auth.allowed(user, "manage_users")


def admin_pages(s: Store) -> list:
    """The pages only an admin sees in the navigation (the Accounts page)."""
    if not may_manage_accounts(s):
        return []
    return [st.Page("pages/accounts.py", title="Accounts", icon=":material/manage_accounts:")]


def acting_user(s: Store) -> User | None:
    """Who is acting on this page: the signed-in account, or in open mode the e-mail typed (asked for here)."""
    if s.has_accounts():
        user = signed_in_user(s)
        if user is None:
            st.info("Sign in (at the top of the page) to upload, comment or withdraw: every change records who "
                    "made it.", icon="🔒")
        return user
    refusal = open_mode_refusal()
    if refusal is not None:  # never reached through dashboard.py (it shows only the first-admin steps): fail closed
        st.error(md(_sentence(refusal)), icon="⛔")
        return None
    email = user_email()
    return s.actor(email) if email else None


def user_email() -> str:
    """The acting user's e-mail from a text input, remembered for the session; '' until a valid one is typed."""
    if KEY_USER_INPUT not in st.session_state:
        st.session_state[KEY_USER_INPUT] = st.session_state.get(KEY_USER, "")

    def remember() -> None:
        st.session_state[KEY_USER] = st.session_state[KEY_USER_INPUT].strip()

    text = st.text_input("Your e-mail", key=KEY_USER_INPUT, on_change=remember, placeholder="name@towerhamlets.gov.uk",
                         help="Recorded with everything you store or withdraw (until sign-in is added).").strip()
    st.session_state[KEY_USER] = text
    if text and not views.looks_like_email(text):
        st.warning(md(f"{text!r} does not look like an e-mail address; type the one you use at work."), icon="⚠️")
        return ""
    return text


# --- rendering --------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|$<>~:&@/=])")
#: Where GitHub-flavoured Markdown starts a link of its own in plain text: ``www.``, ``http://`` and an e-mail's
#: ``@``. Streamlit's renderer finds them after escapes are undone (``www\.x\.com`` is still linked), so an
#: invisible word joiner (U+2060) is put there instead: the text reads the same and is no link.
_AUTOLINK_AT = re.compile(r"(?i)(?<=www)(?=\.)|(?=@)|(?<=:)(?=//)")
WORD_JOINER = "\u2060"


def md(text: object) -> str:
    """Text made safe to embed in Markdown: every Markdown, HTML and Streamlit directive character escaped, and no
    link made of a file name, address or e-mail in it (``www.example.com report.csv`` stays text)."""
    return _MD_SPECIAL.sub(r"\\\1", _AUTOLINK_AT.sub(WORD_JOINER, str(text)))


def rag_badge_md(rag: str, label: str | None = None) -> str:
    """Markdown for a RAG badge: icon and word on the colour-blind-safe colour."""
    return f":{RAG_THEME.get(rag, 'gray')}-badge[{md(label or views.rag_label(rag))}]"


def style_rag(df: pd.DataFrame, rag: pd.Series, columns: tuple[str, ...] = ("Status",)) -> Any:
    """A Styler colouring ``columns`` by ``rag`` (aligned with ``df``'s rows); the text keeps its icon and word."""
    rag = rag.reset_index(drop=True)
    data = df.reset_index(drop=True)

    def colour(col: pd.Series) -> list[str]:
        if col.name not in columns:
            return [""] * len(col)
        return [f"background-color: {views.RAG_COLOUR.get(r, '#ffffff')}; color: {views.RAG_TEXT.get(r, '#000')}; "
                "font-weight: bold; white-space: nowrap" for r in rag]

    return data.style.apply(colour, axis=0)


def status_table(frame: pd.DataFrame, columns: tuple[str, ...] = ("Indicator", "Value", "Status", "Change",
                                                                  "Variation", "Assurance")) -> None:
    """The status of indicators as a static table that wraps long titles, the Status column coloured and worded."""
    st.table(style_rag(frame[list(columns)], frame["rag"]).hide(axis="index"))


def chart(c: Any) -> None:
    """An Altair chart at full width with its own (high-contrast) styling rather than Streamlit's theme."""
    st.altair_chart(c, width="stretch", theme=None)


@st.cache_data(show_spinner=False, max_entries=256)
def _chart_spec(name: str, frame: pd.DataFrame, **kwargs: Any) -> dict:
    """``charts.<name>(frame, **kwargs)`` as its Vega-Lite spec (Altair's public ``to_dict``, the data inline)."""
    return getattr(charts, name)(frame, **kwargs).to_dict()


def cached_chart(name: str, frame: pd.DataFrame, **kwargs: Any) -> None:
    """``chart(charts.<name>(frame, **kwargs))``, its Vega-Lite spec cached by the table's content.

    Building an Altair chart and validating it against the Vega-Lite schema took ~50 ms a chart, most of a priority
    page's render once its data was cached; the cached spec is drawn as ``chart`` draws it (full width, the chart's
    own styling). Every chart of cspdash.charts sets its width and height, so Altair's default view size, which
    ``to_dict`` adds to the config, changes nothing on screen.
    """
    st.vega_lite_chart(spec=_chart_spec(name, frame, **kwargs), width="stretch", theme=None)


def reasons(frame: pd.DataFrame) -> None:
    """Each indicator's status with its one-sentence reason, as plain text."""
    for _, r in frame.iterrows():
        st.markdown(f"**{md(r['indicator'])}** {rag_badge_md(r['rag'])}")
        st.text(r["reason"])


def priority_heading(rollup: dict) -> None:
    """A priority's title with its roll-up status in words."""
    st.subheader(f"{md(rollup['priority'])}. {md(rollup['title'])}", anchor=False)
    st.markdown(f"Priority status: {rag_badge_md(rollup['overall'])} &nbsp; {md(rollup['headline'])}",
                help=rollup["reason"])


def indicator_card(card: views.IndicatorCard, period: Period, own_area: str, chart_open: bool = True,
                   more_key: str | None = None) -> None:
    """One indicator on a priority page: status, chart with table view, texts, commentary, area comparison.

    ``chart_open``: whether the history chart's expander starts open (the first card's, on the first screen); a
    closed one draws its chart when opened (``on_demand``). Texts that sit together share one Markdown block (their
    words escaped by ``md``), so a card costs the browser about a dozen elements, not twenty-five; only the chair's
    commentary, untrusted, stays in ``st.text`` elements of its own. ``more_key``: the key of the toggle that
    opened this card from its compact form (``compact_card``), shown again to close it."""
    s = card.status
    with st.container(border=True):
        st.subheader(f"{md(card.id)} {md(card.title)}", anchor=False)
        if more_key:
            st.toggle(MORE_LABEL, key=more_key)
        c1, c2, c3 = st.columns([1.2, 1, 2])
        amber = status.AMBER_WORDS[s["amber_reason"]].capitalize() if s["amber_reason"] else ""
        c1.markdown(f"#### {rag_badge_md(s['rag'])}" + (f"\n\n{md(amber)}" if amber else ""))
        c2.metric("Value", card.value_text, help=f"Rated period: {s['rated_period']}"
                  + (". Provisional: it includes recent police months, which are often revised." if s["provisional"]
                     else ""))
        if card.range_text:
            c2.caption(md(card.range_text))
        c3.markdown(f"**Change:** {md(card.change)}  \n**Target:** {md(s['target_text'])}\n\n{md(s['reason'])}")
        c3.caption(md(f"SPC variation: {card.variation}. Assurance: {card.assurance}. Owner: {card.owner}."))
        if len(card.history):
            with on_demand("History chart", f"csp_history_{card.id}", expanded=chart_open) as shown:
                if shown:
                    cached_chart("history_chart", card.history, y_title=views.unit_title(card.unit))
            with on_demand("Table view", f"csp_table_{card.id}") as shown:
                if shown:
                    st.dataframe(card.table, hide_index=True)
        else:
            st.info("No complete figures to chart yet.", icon="📭")
        d1, d2 = st.columns(2)
        d1.markdown(f"**Definition**  \n{md(card.definition or '-')}")
        d1.caption("  \n".join(md(line) for line in [*([f"Source: {card.source}"] if card.source else []),
                                                     *provenance_lines(card)]))
        d2.markdown(f"**Why it matters**  \n{md(card.rationale or '-')}")
        heading = f"**Chair's commentary, {md(s['rated_period'])}**"
        if card.commentary:
            st.markdown(heading)
            for c in card.commentary:
                st.text(c["text"])  # untrusted: plain text, never Markdown or HTML
                st.text(byline(c))
        else:
            st.markdown(f"{heading}  \nNo commentary for this period.")
        comparison(card, own_area)


FULL_CARDS = 2  # a priority page's cards drawn in full at first (the first screen); the others compact
MORE_LABEL = "Show the chart, table view, definition, commentary and comparison"


def compact_card(card: views.IndicatorCard, more_key: str) -> None:
    """An indicator below a priority page's first screen: title, status (icon, word, colour), value, change,
    target and reason in one block, and a toggle that draws the full card (``indicator_card``) instead."""
    s = card.status
    amber = status.AMBER_WORDS[s["amber_reason"]].capitalize() + ". " if s["amber_reason"] else ""
    with st.container(border=True):
        st.subheader(f"{md(card.id)} {md(card.title)}", anchor=False)
        st.markdown(f"{rag_badge_md(s['rag'])} · **Value:** {md(card.value_text)} · **Change:** {md(card.change)}"
                    f" · **Target:** {md(s['target_text'])}  \n{md(amber)}{md(s['reason'])}")
        st.toggle(MORE_LABEL, key=more_key)


def comparison(card: views.IndicatorCard, own_area: str) -> None:
    """The comparison with the other areas, in an expander whose charts and tables are drawn only once it is open."""
    key = f"csp_compare_{card.id}"
    if card.comparison is not None:
        c = card.comparison
        with on_demand(f"Compare with the other London boroughs ({len(c.rows)} areas, rates per resident)",
                       key) as shown:
            if not shown:
                return
            st.text(compare.sentence(c))
            if card.comparison_note:
                st.caption(md(card.comparison_note))
            y_title = f"Rate {compare.per_text(c.per)}"
            st.markdown("**Funnel plot**: rate against residents, with the 95% and 99.8% limits around London")
            cached_chart("funnel_chart", card.funnel, own_area=own_area, y_title=y_title)
            st.dataframe(views.funnel_table(card.funnel), hide_index=True)
            st.markdown("**Ranked rates** with their 95% intervals")
            cached_chart("rate_chart", card.areas, own_area=own_area, x_title=y_title)
            st.dataframe(views.rate_table(card.areas, c.per), hide_index=True)
    elif card.areas is not None:
        with on_demand(f"Compare with the other London boroughs ({len(card.areas)} areas)", key) as shown:
            if not shown:
                return
            st.text(views.area_summary(card.areas, own_area))
            if card.comparison_note:
                st.caption(md(card.comparison_note))
            cached_chart("area_chart", card.areas, own_area=own_area, x_title=views.unit_title(card.unit))
            st.dataframe(views.area_table(card.areas), hide_index=True)


@contextmanager
def on_demand(label: str, key: str, expanded: bool = False) -> Iterator[bool]:
    """An expander (open at first when ``expanded``) that yields whether it is open: its content (charts,
    interactive tables) is built only then.

    Streamlit draws a closed expander's content all the same (every chart embedded, every table laid out), and a
    priority page's five to eight history charts and their comparisons made it about twice as slow to be ready in a
    browser as a bare page with four charts. Opening or closing one reruns the page (its state is
    ``st.session_state[key]``), which then draws the content; the cached views and chart specs make that rerun cheap.
    """
    with st.expander(label, expanded=expanded, key=key, on_change="rerun") as box:
        yield bool(box.open)


def provenance_lines(card: views.IndicatorCard) -> list[str]:
    """Whether the figure is synthetic or provisional, and where the target's level came from and who agreed it
    (``not recorded`` when the catalogue does not say): one plain sentence or two a line."""
    lines = []
    if card.synthetic:
        lines.append(f"Synthetic: the {card.status['rated_period']} figure came from an upload marked synthetic "
                     "(invented demonstration figures, not real data).")
    if card.provisional_note:
        lines.append(card.provisional_note)
    return [*lines, f"Target source: {card.target_source}. Target agreed: {card.target_agreed}."]


def figure_provenance(card: views.IndicatorCard) -> None:
    """``provenance_lines`` as captions."""
    for line in provenance_lines(card):
        st.caption(md(line))


def byline(comment: dict) -> str:
    """``— author, when`` under a comment; only ``— when`` for an anonymous visitor of a public dashboard."""
    at = views.when(comment["uploaded_at"])
    return f"— {at}" if anonymous(store()) else f"— {comment['user']}, {at}"


def people(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` as this session may see it: without uploaders and their files for an anonymous visitor."""
    return views.without_people(df) if anonymous(store()) else df


def priority_page(priority: str) -> None:
    """The page of one priority: its roll-up, then every indicator's card."""
    s = store()
    if not any(p.id == priority for p in s.cat.priorities):
        raise CspdashError(f"the catalogue has no priority {priority!r}; "
                           f"it declares {', '.join(p.id for p in s.cat.priorities)}")
    p = s.cat.priority(priority)
    st.title(md(f"Priority {p.id}: {p.title}"), anchor=False)
    st.text(p.description)
    period = require_quarter()
    if period is None:
        return
    ov = view(views.overview, period)
    roll = next(r for r in ov.rollups if r["priority"] == priority)
    # The roll-up is the h2 between the page's h1 and the cards' h3: headings never skip a level.
    st.header(f"{md(period.label)} · priority status {rag_badge_md(roll['overall'])} · {md(roll['headline'])}",
              help=roll["reason"], anchor=False)
    # The first screen's cards in full, the first one's chart open; the others compact (every status still shown),
    # each drawn in full when its toggle is on: eleven full cards made Priority D over twice as slow as a bare page.
    for n, card in enumerate(view(views.priority_cards, priority, period)):
        more = f"csp_more_{card.id}"
        if n < FULL_CARDS:
            indicator_card(card, period, s.cat.area, chart_open=n == 0)
        elif st.session_state.get(more):
            indicator_card(card, period, s.cat.area, chart_open=False, more_key=more)
        else:
            compact_card(card, more)


def priority_title(s: Store, priority: str) -> str:
    """``A. Anti-social behaviour including drugs and alcohol`` (or ``Priority X`` if the catalogue lacks it)."""
    p = next((p for p in s.cat.priorities if p.id == priority), None)
    return f"{priority}. {p.title}" if p else f"Priority {priority}"


def data_stamp(s: Store) -> None:
    """The ``Data as at`` caption."""
    at = view(views.data_as_at)
    st.caption(md(f"Data as at {at}") if at else "No data uploaded yet")


# --- overview at a glance and meeting mode ----------------------------------------------------------

KEY_MEETING = "csp_meeting"  # the index of meeting mode's screen in views.meeting_slides


def priority_tiles(tiles: list[views.PriorityTile]) -> None:
    """The four priorities side by side: status (icon, word, colour), title, one-line reason and a link to its page."""
    for col, t in zip(st.columns(len(tiles)), tiles, strict=True):
        with col.container(border=True, height="stretch", key=f"csp_tile_{t.priority}"):
            st.markdown(rag_badge_md(t.rag, f"{t.icon} {t.word}"))  # first, so the four line up; sized by BASE_CSS
            st.markdown(f"**{md(t.priority)}. {md(t.title)}**")
            st.caption(md(t.reason))
            st.page_link(t.page, label=f"Open priority {t.priority}", icon=":material/arrow_forward:")


def exception_list(exceptions: pd.DataFrame) -> None:
    """The exceptions (every red, SPC concern and missing return) as a table, the Status column coloured."""
    st.markdown(f"**{md(views.exception_summary(exceptions))}**")
    if len(exceptions):
        st.table(style_rag(exceptions.drop(columns="rag"), exceptions["rag"]).hide(axis="index"))


def spc_help() -> None:
    """What the Variation and "Will we meet the target?" columns mean, in an expander."""
    with st.expander("What do “Variation” and “Will we meet the target?” mean?"):
        st.markdown(views.SPC_HELP)


def meeting_move(step: int) -> None:
    """Move meeting mode ``step`` screens on (a button's callback; the page wraps the index round)."""
    st.session_state[KEY_MEETING] = st.session_state.get(KEY_MEETING, 0) + step


def meeting_nav(progress: str) -> None:
    """Previous / progress / Next, with ← → and Page Up / Page Down as keyboard shortcuts.

    Streamlit's public ``st.button(shortcut=...)`` binds one key to a button, so the arrows are on the visible
    buttons and Page Up / Page Down on a second, hidden pair (hidden by MEETING_CSS): no script of our own runs.
    """
    prev, where, nxt = st.columns([1, 2, 1], vertical_alignment="center")
    prev.button("◀ Previous", width="stretch", key="csp_meeting_prev", shortcut="Left",
                on_click=meeting_move, args=(-1,))
    where.markdown(f"**{md(progress)}**", text_alignment="center")  # not a heading: the outline stays h1, h2
    nxt.button("Next ▶", width="stretch", key="csp_meeting_next", shortcut="Right",
               on_click=meeting_move, args=(1,))
    st.button("Previous (Page Up)", key="csp_meeting_pgup", shortcut="PageUp", on_click=meeting_move, args=(-1,))
    st.button("Next (Page Down)", key="csp_meeting_pgdn", shortcut="PageDown", on_click=meeting_move, args=(1,))


def meeting_footer(marking: str) -> None:
    """The marking, the keys that move between screens, and the way back to the Overview (the sidebar is hidden)."""
    hint, leave = st.columns([3, 1], vertical_alignment="center")
    hint.caption(md(f"{marking} · ← → or Page Up / Page Down move between screens"))
    with leave:
        st.page_link("pages/overview.py", label="Leave meeting mode", icon=":material/close:")


def meeting_status(rag: str, label: str, reason: str) -> None:
    """A status block on its RAG colour (MEETING_CSS): the icon and word, then the reason."""
    with st.container(key=f"csp_meeting_rag_{rag}"):
        st.markdown(f"**{md(label)}** · {md(reason)}")


def meeting_priority(roll: dict, rows: pd.DataFrame) -> None:
    """Meeting mode's summary screen of a priority: overall status with its reason, then each indicator's status."""
    st.title(md(f"{roll['priority']}. {roll['title']}"), anchor=False)
    meeting_status(roll["overall"], views.rag_label(roll["overall"]), roll["reason"])
    st.table(style_rag(rows.drop(columns=["rag", "Change"]), rows["rag"]).hide(axis="index"))


def meeting_indicator(card: views.IndicatorCard) -> None:
    """Meeting mode's screen of one indicator: value, target, status with reason, SPC chart and the chair's words."""
    s = card.status
    st.title(md(f"{card.id} {card.title}"), anchor=False)
    left, right = st.columns([2, 3], gap="medium")
    with left:
        meeting_status(s["rag"], card.label, s["reason"])
        st.markdown(f"## {md(card.value_text)}", help=f"Rated period: {s['rated_period']}")
        st.markdown(f"**Target:** {md(s['target_text'] or views.NONE)}  \n**Change:** {md(card.change)}")
        st.markdown(f"**Chair's commentary, {md(s['rated_period'])}**")
        with st.container(height=170, border=False, key="csp_meeting_commentary"):
            if card.commentary:
                for c in card.commentary:
                    st.text(c["text"])  # untrusted: plain text, never Markdown or HTML
                    st.caption(md(byline(c)))
            else:
                st.caption("No commentary for this period.")
    with right:
        if len(card.history):
            cached_chart("history_chart", card.history, y_title=views.unit_title(card.unit), height=380)
        else:
            st.info("No complete figures to chart yet.", icon="📭")
