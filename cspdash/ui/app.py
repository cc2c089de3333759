"""The app's store and cached frames, running inside dashboard.py, error display and the quarter picker."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from cspdash import backups, views
from cspdash.config import load_catalogue
from cspdash.errors import ConfigError, CspdashError
from cspdash.ingest import ValidationError
from cspdash.periods import Period
from cspdash.store import Store, require_database
from cspdash.ui.style import _sentence, md

DEFAULT_DB = "data/csp.duckdb"
DEFAULT_CONFIG = "indicators.yaml"

# Session-state keys: UI selections only, all prefixed ``csp_``.
KEY_QUARTER = "csp_quarter"

T = TypeVar("T")


# --- store and cached frames ------------------------------------------------------------------

def paths() -> tuple[str, str]:
    """(database, catalogue) from ``CSPDASH_DB`` / ``CSPDASH_CONFIG``, or the defaults."""
    return os.environ.get("CSPDASH_DB") or DEFAULT_DB, os.environ.get("CSPDASH_CONFIG") or DEFAULT_CONFIG


@st.cache_resource(show_spinner=False)
def _open_store(db: str, config: str) -> Store:
    cat = load_catalogue(config)
    require_database(db)  # the app never creates a database: it says which command makes one (an error is not cached)
    s = Store(db, cat)
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
PAGES_DIR = Path(__file__).resolve().parents[2] / "pages"
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



# --- errors -----------------------------------------------------------------------------------


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
