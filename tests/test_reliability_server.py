"""Concurrency against the real server: two browser sessions confirm uploads at the same moment while a third reads.

The real Streamlit server on a copy of the demo database, Debian's headless Chromium with three pages (separate
sessions). Each round, the ASB chair's and the hate-crime chair's sessions each check a return, then both press
"Confirm and store" back to back, so the server stores them concurrently; a third session reloads the overview
meanwhile and must never show an exception. Afterwards every upload is in the database exactly once with all its
figures. Slow (about a minute): runs in `make reliability` and `make test-slow`.
"""

from __future__ import annotations

import re

import pytest
from e2e_helpers import CHROMIUM, CHROMIUM_ARGS, demo_copy, playwright_or_skip, settle, streamlit_server
from reliability_helpers import record
from tests_config import CONFIG

from cspdash.config import load_catalogue
from cspdash.store import Store

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WAIT = 60_000
ROUNDS = 4
QUARTERS = ("2025/26 Q1", "2025/26 Q2", "2025/26 Q3")
WRITERS = {"chair-asb@towerhamlets.gov.uk": ("A2", 100000), "chair-hate@towerhamlets.gov.uk": ("C2", 300000)}


def return_of(indicator: str, base: int, r: int) -> bytes:
    lines = ["indicator,period,value"] + [f"{indicator},{q},{base + r}" for q in QUARTERS]
    return ("\n".join(lines) + "\n").encode()


def test_two_browser_sessions_store_at_once_while_a_third_reads(tmp_path_factory):
    sync_api = playwright_or_skip()
    db = demo_copy(tmp_path_factory, "server-concurrency")
    reads = 0
    with streamlit_server(db) as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            writers = {}
            for email in WRITERS:
                page = browser.new_context().new_page()
                page.set_default_timeout(WAIT)
                page.goto(f"{url}/upload")
                settle(page, WAIT, pause=0)
                field = page.get_by_label("Your e-mail", exact=True).and_(page.locator("input"))
                field.fill(email)
                field.press("Enter")
                settle(page, WAIT, pause=0)
                writers[email] = page
            reader = browser.new_context().new_page()
            reader.set_default_timeout(WAIT)
            for r in range(1, ROUNDS + 1):
                for email, page in writers.items():
                    indicator, base = WRITERS[email]
                    page.locator('input[type="file"]').set_input_files(files=[{
                        "name": f"{indicator}-round-{r}.csv", "mimeType": "text/csv",
                        "buffer": return_of(indicator, base, r)}])
                    page.get_by_text("Checked: no problems found").wait_for()
                for page in writers.values():  # back to back: the server stores both at once
                    page.get_by_role("button", name="Confirm and store").click(no_wait_after=True)
                reader.goto(url)
                settle(reader, WAIT, pause=0)
                reads += 1
                assert reader.locator('[data-testid="stException"]').count() == 0
                for page in writers.values():
                    page.get_by_text(re.compile(rf"round-{r}\.csv: stored as upload \d+")).wait_for()
                    assert page.locator('[data-testid="stException"]').count() == 0
        finally:
            browser.close()
    s = Store(db, load_catalogue(CONFIG))
    try:
        history = s.history()
        for indicator, base in WRITERS.values():
            for r in range(1, ROUNDS + 1):
                ups = [h for h in history if h["file_name"] == f"{indicator}-round-{r}.csv"]
                assert len(ups) == 1, (indicator, r, ups)
                figures = s.cursor().execute("SELECT count(*) FROM observations WHERE upload_id = ?",
                                             [ups[0]["upload_id"]]).fetchone()[0]
                assert figures == len(QUARTERS)
            current = s.current_observations([indicator])[indicator]
            assert {o.value for o in current if o.period.label in QUARTERS} == {base + ROUNDS}
    finally:
        s.close()
    record("server", rounds=ROUNDS, uploads=ROUNDS * len(WRITERS), reads=reads)
