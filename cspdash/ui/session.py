"""Who is using the app: sign-in (local passwords, the identity provider, the browser's cookie), the
access levels and the acting user.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
from datetime import datetime

import streamlit as st

from cspdash import auth, views
from cspdash.auth import User
from cspdash.errors import CspdashError
from cspdash.store import Store
from cspdash.ui.app import paths
from cspdash.ui.style import _sentence, md

# Session-state keys of sign-in, all prefixed ``csp_``.
KEY_USER = "csp_user"  # the remembered e-mail (survives page switches)
KEY_USER_INPUT = "csp_user_input"  # the text input's own key (Streamlit drops it on pages without the input)
KEY_SIGNED_IN = "csp_signed_in"  # {"email": ..., "at": datetime} after a local sign-in
KEY_COOKIE_WRITE = "csp_cookie_write"  # a sign-in token for the browser to store ('' to delete it), once
KEY_COOKIE_SEEN = "csp_cookie_seen"  # the cookie this session has already judged (or signed out of)


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
