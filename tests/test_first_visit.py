"""A page's URL as the first request of a session: Streamlit runs the page file alone (the old multipage mode of a
folder named pages/), and cspdash.ui._within_app hands the run to dashboard.py with public Streamlit calls only.

AppTest starts every run in that old mode (it rebuilds the pages manager each run), so a session whose first run is a
page shows exactly what a fresh server does; no private Streamlit attribute is touched here (unlike test_pages'
fixture, which puts AppTest in navigation mode for the other page tests). If a Streamlit upgrade changes either half
(the old mode, or st.navigation ending it), these fail with the page alone: no quarter picker in the sidebar.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from e2e_helpers import app_env, demo_copy
from streamlit.testing.v1 import AppTest

from cspdash import ui

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard.py")


@pytest.fixture
def demo_db(tmp_path_factory, monkeypatch) -> Path:
    return app_env(monkeypatch, demo_copy(tmp_path_factory, "first-visit"), ROOT / "indicators.yaml")


def test_streamlit_documents_that_st_navigation_ends_the_pages_folder_mode():
    """The promise _within_app rests on, in st.navigation's own docstring (a change of wording is a prompt to
    re-read Streamlit's release notes and rerun the browser test of tests/test_e2e_first_visit.py)."""
    doc = " ".join(st.navigation.__doc__.split())
    assert "As soon as any session of your app executes the ``st.navigation`` command, your app will ignore the " \
           "``pages/`` directory (across all sessions)." in doc


def test_the_page_folder_is_where_ui_looks_for_it():
    assert ui.PAGES_DIR == ROOT / "pages" and (ui.PAGES_DIR / "overview.py").is_file()


@pytest.mark.parametrize(("page", "heading"), [
    ("pages/priority_b.py", "Priority B: Violence"),
    ("pages/overview.py", "Overview"),
])
def test_a_page_as_the_first_run_shows_inside_the_app(demo_db, page, heading):
    at = AppTest.from_file(APP, default_timeout=60).switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    assert [t.value.replace("\\", "") for t in at.title][:1] == [heading]
    assert at.sidebar.selectbox, "the quarter picker of dashboard.py's sidebar is missing: the page ran alone"
    assert at.session_state[ui.KEY_IN_APP] and not at.session_state[ui.KEY_APP_RUN]


def test_meeting_mode_as_the_first_run_has_the_quarter(demo_db):
    at = AppTest.from_file(APP, default_timeout=60).switch_page("pages/meeting.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.sidebar.selectbox and at.session_state[ui.KEY_QUARTER]
    assert at.button(key="csp_meeting_next")


def test_a_page_file_run_as_the_main_script_asks_for_the_app_once_and_then_renders(demo_db):
    at = AppTest.from_file(str(ROOT / "pages/history.py"), default_timeout=60).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.session_state[ui.KEY_IN_APP]
    assert at.title, "the page rendered (no loop of reruns)"
