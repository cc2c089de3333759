"""AppTest of the meeting-pack screens: freeze a snapshot, compare it with today, prepare the PDF and workbook."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_helpers import app_env, demo_copy
from streamlit.testing.v1 import AppTest
from test_pages import _navigation_mode, plain, texts  # noqa: F401  (the fixture must be in this module too)

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard.py")


@pytest.fixture
def demo_db(tmp_path_factory, monkeypatch) -> Path:
    return app_env(monkeypatch, demo_copy(tmp_path_factory, "packs"), ROOT / "indicators.yaml")


def run(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_freeze_then_compare_with_today(demo_db):
    at = run("pages/packs.py")
    assert "No pack has been frozen yet" in texts(at)
    at.text_input(key="csp_user_input").input("analyst@example.org").run()
    at.button[0].click().run()  # the form's submit button
    assert not at.exception
    assert any("Frozen as snapshot 1" in plain(s.value) for s in at.success)
    assert "No differences" in texts(at)
    assert at.dataframe[0].value.iloc[0]["frozen_by"] == "analyst@example.org"


def test_overview_prepares_the_pack(demo_db):
    at = run("pages/overview.py")
    assert not at.get("download_button") or all("PDF" not in b.label for b in at.get("download_button"))
    at.button(key="csp_pack_prepare").click().run()
    assert not at.exception
    labels = [b.label for b in at.get("download_button")]
    assert "Download the meeting pack (PDF)" in labels and "Download the scorecard (Excel)" in labels
