"""The app on PostgreSQL sees another process's commit at its next render, with no restart (issue 16).

An AppTest of the app (one Streamlit script run after another, the Store and the caches of its process kept between
them, as on a running server) serves a PostgreSQL database holding the demo's returns; a return is imported by the
command line, another process; the app's next render shows the status the library computes from the data now.
"""

from __future__ import annotations

import os
import subprocess
import sys

from e2e_helpers import GOOD_RETURN, app_env
from streamlit.testing.v1 import AppTest
from test_pages import _NavigationPages
from test_store_engines import load_demo_returns
from tests_config import ROOT

from cspdash.config import load_catalogue
from cspdash.status import headline
from cspdash.store import Store

CAT = load_catalogue(ROOT / "indicators.yaml")


def headline_now(db: str) -> str:
    store = Store(db, CAT)
    try:
        return headline(store.statuses())
    finally:
        store.close()


def test_a_command_line_import_is_seen_at_the_apps_next_render(postgres_server, monkeypatch, tmp_path):
    db = load_demo_returns(postgres_server.new_database())
    monkeypatch.setattr("streamlit.testing.v1.app_test.PagesManager", _NavigationPages)
    app_env(monkeypatch, db, ROOT / "indicators.yaml")  # type: ignore[arg-type]  # the URL, as CSPDASH_DB
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120).run()
    assert not at.exception, [e.message for e in at.exception]
    before = [h.value for h in at.header]
    assert before == [headline_now(db)]

    (tmp_path / "a2.csv").write_bytes(GOOD_RETURN)
    done = subprocess.run([sys.executable, "-m", "cspdash", "--db", db, "--config", str(ROOT / "indicators.yaml"),
                           "import", str(tmp_path / "a2.csv"), "--user", "chair-asb@towerhamlets.gov.uk"],
                          cwd=ROOT, env={**os.environ, "CSPDASH_DB": db}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr

    at.run()  # the next render of the same app process: its Store and caches were kept
    assert not at.exception, [e.message for e in at.exception]
    after = [h.value for h in at.header]
    assert after == [headline_now(db)] and after != before
