"""Browser test: two app servers (replicas) on one PostgreSQL database and one shared ``CSPDASH_EXTRACTS`` folder.

The demo is restored into a fresh database of the tests' own PostgreSQL server (tests/pg_server.py); two real
Streamlit servers of the app serve it, as two replicas behind a load balancer would. One Chromium opens the second
server's overview (its caches now hold A2 as NO DATA), uploads a return through the first server's upload page, and
then sees the new figure on the second server at its next render, with no restart: each replica's caches are keyed
by the data version read from PostgreSQL (issue 16).
"""

from __future__ import annotations

import re
import secrets

import pytest
from e2e_helpers import (
    ARTIFACTS,
    GOOD_RETURN,
    browser_missing_reason,
    chromium,
    demo_template,
    settle,
    streamlit_server,
)
from test_e2e import WAIT, WIDE, status_of
from tests_config import ROOT

from cspdash.backups_pg import restore_pg
from cspdash.config import load_catalogue
from cspdash.dburl import parse_db
from cspdash.pg import PostgresDatabase

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def replicas(tmp_path_factory, postgres_server):
    """The URLs of two app servers on one PostgreSQL database holding the demo."""
    reason = browser_missing_reason()
    if reason:
        pytest.skip(reason)
    url = postgres_server.new_database("replicas")
    extracts = tmp_path_factory.mktemp("replica-extracts")
    database = PostgresDatabase(parse_db(url))
    try:
        restore_pg(demo_template(tmp_path_factory), database, extracts,
                   load_catalogue(ROOT / "indicators.yaml"))
    finally:
        database.close()
    # What replicas share: the database, the extracts folder and the cookie secret (README: several servers).
    shared = {"CSPDASH_EXTRACTS": str(extracts), "CSPDASH_COOKIE_SECRET": secrets.token_hex(32)}
    with streamlit_server(url, extra_env=shared, name="replica-1") as one, \
            streamlit_server(url, extra_env=shared, name="replica-2") as two:
        yield one, two


@pytest.fixture(scope="module")
def browser(replicas):
    with chromium() as b:
        yield b


def test_an_upload_through_one_replica_is_seen_on_the_other_without_a_restart(replicas, browser):
    one, two = replicas
    ARTIFACTS.mkdir(exist_ok=True)
    seen = browser.new_page(viewport=WIDE)  # a person reading the second replica
    seen.set_default_timeout(WAIT)
    seen.goto(two)
    settle(seen)
    seen.get_by_text("Missing for 2025/26 Q3").wait_for()
    headline_before = seen.locator("h2").first.inner_text()
    assert status_of(seen, "A2").endswith("NO DATA")  # rendered, so cached on the second replica

    chair = browser.new_page(viewport=WIDE)  # a chair uploading through the first replica
    chair.set_default_timeout(WAIT)
    chair.goto(f"{one}/upload")
    settle(chair)
    email = chair.get_by_label("Your e-mail", exact=True).and_(chair.locator("input"))
    email.fill("chair-asb@towerhamlets.gov.uk")
    email.press("Enter")
    settle(chair)
    chair.locator('input[type="file"]').set_input_files(
        files=[{"name": "a2-return.csv", "mimeType": "text/csv", "buffer": GOOD_RETURN}])
    chair.get_by_text("Checked: no problems found").wait_for()
    chair.get_by_role("button", name="Confirm and store").click()
    chair.get_by_text(re.compile(r"stored as upload \d+")).wait_for()
    chair.close()

    seen.goto(two)  # the next render of the second replica, which was never restarted
    settle(seen)
    seen.locator("h2").first.wait_for()
    assert seen.locator("h2").first.inner_text() != headline_before
    after = status_of(seen, "A2")
    assert not after.endswith("NO DATA") and after.split()[1] in {"GREEN", "AMBER", "RED"}
    seen.screenshot(path=str(ARTIFACTS / "replica-2-after-upload.png"))
    seen.close()
