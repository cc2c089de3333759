"""Browser test: a police.uk file from a neighbouring force, uploaded through the real upload widget, is previewed
with its rows in the partnership's area and a warning that its force is not the one that polices it (issue 11)."""

from __future__ import annotations

import csv
import io

import pytest
from e2e_helpers import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, demo_copy, playwright_or_skip, settle, streamlit_server
from tests_config import ROOT

pytestmark = pytest.mark.e2e

CITY = ROOT / "tests" / "data" / "police-uk-city-of-london" / "2014-11-city-of-london-street.csv"


def test_a_neighbouring_forces_file_is_flagged_in_the_preview(tmp_path_factory):
    sync_api = playwright_or_skip()
    data = CITY.read_bytes()
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    in_area = sum(1 for r in rows if r["LSOA name"][:-5] == "Tower Hamlets")
    db = demo_copy(tmp_path_factory, "e2e-extract")
    ARTIFACTS.mkdir(exist_ok=True)
    with streamlit_server(db) as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(30_000)
            page.goto(f"{url}/upload")
            settle(page)
            email = page.get_by_label("Your e-mail", exact=True).and_(page.locator("input"))
            email.fill("analyst@towerhamlets.gov.uk")
            email.press("Enter")
            settle(page)
            page.locator('[data-testid="stSelectbox"]', has_text="What is this file?").click()
            page.get_by_role("option", name="street_crime", exact=False).click()
            settle(page)
            # the uploader for the chosen kind (the previous kind's may linger for a moment while the page reruns)
            page.locator('input[type="file"][accept*=".parquet"]').set_input_files(
                files=[{"name": CITY.name, "mimeType": "text/csv", "buffer": data}])
            page.get_by_text("Checked: no problems found").wait_for()
            page.get_by_text(f"{len(rows):,} rows ready to store, {in_area:,} of them in the partnership's area"
                             ).wait_for()
            warning = page.get_by_text("reported by City of London Police, not Metropolitan Police Service")
            warning.wait_for()
            page.get_by_text("left out until Metropolitan Police Service").first.wait_for()
            page.screenshot(path=str(ARTIFACTS / "upload-neighbouring-force.png"), full_page=True)
            page.close()
        finally:
            browser.close()
