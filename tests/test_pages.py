"""AppTest smoke and flow tests of every page of dashboard.py, on a copy of the demo database."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_helpers import BAD_RETURN, GOOD_RETURN, app_env, demo_copy
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from cspdash import ui
from cspdash.config import load_catalogue
from cspdash.status import RAG_WORDS, headline
from cspdash.store import Store

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard.py")
CONFIG = ROOT / "indicators.yaml"
TIMEOUT = 60


class _NavigationPages(PagesManager):
    """AppTest in navigation mode, as a server is once dashboard.py has called st.navigation.

    The one use of a private Streamlit name in the tests (tests/test_default_quarter.py and tests/test_bounded_input.py
    import this class). Why there is no public way in Streamlit 1.67: ``AppTest._run`` itself sets
    ``PagesManager.uses_pages_directory = None`` before every run, so every run of an app beside a folder named
    pages/ starts in the old multipage mode, which runs the page file alone. A server leaves that mode for good once
    st.navigation has run; AppTest enters it again on every run. The public way out, ``ui._within_app`` (st.navigation
    and st.rerun from the page, as on a server's first visit), works for a session's first run
    (tests/test_first_visit.py runs without this class), but tried on every run it lost what a test had set on a
    widget: after the handover rerun the sidebar's quarter fell back to its first option (2025/26 Q4, not Q3).
    ``test_apptest_still_starts_every_run_in_the_pages_folder_mode`` fails when Streamlit changes either fact."""

    def __init__(self, *args, **kwargs) -> None:
        PagesManager.uses_pages_directory = False
        super().__init__(*args, **kwargs)


@pytest.fixture(autouse=True)
def _navigation_mode(monkeypatch):
    monkeypatch.setattr("streamlit.testing.v1.app_test.PagesManager", _NavigationPages)


def test_apptest_still_starts_every_run_in_the_pages_folder_mode():
    """Loud when Streamlit changes what ``_NavigationPages`` rests on: the class attribute it sets, and AppTest
    resetting it before each run. If AppTest stops resetting it, try deleting ``_NavigationPages``."""
    import inspect

    from streamlit.testing.v1 import app_test

    assert "uses_pages_directory" in vars(PagesManager), "Streamlit renamed the flag: _NavigationPages does nothing"
    assert app_test.PagesManager is _NavigationPages  # the fixture reached the name AppTest builds its runs with
    assert "PagesManager.uses_pages_directory = None" in inspect.getsource(AppTest._run), \
        "AppTest no longer resets the old multipage mode on each run: _NavigationPages may be unnecessary"


@pytest.fixture
def demo_db(tmp_path_factory, monkeypatch) -> Path:
    """A fresh copy of the demo database, named by CSPDASH_DB for the app."""
    return app_env(monkeypatch, demo_copy(tmp_path_factory, "pages"), CONFIG)


@pytest.fixture(scope="module")
def expected(tmp_path_factory) -> dict:
    """What the demo's statuses are, straight from the library (latest complete quarter)."""
    store = Store(demo_copy(tmp_path_factory, "expected"), load_catalogue(CONFIG))
    try:
        period = store.latest_complete_quarter()
        statuses = store.statuses(period)
        history = store.history()
        return {"period": period.label, "headline": headline(statuses),
                "rags": {s.indicator: s.rag for s in statuses}, "uploads": len(history),
                "next_id": max(h["upload_id"] for h in history) + 1,
                "restatement": next(h["upload_id"] for h in history if h["file_name"] == "synthetic-asb-restatement.csv")}
    finally:
        store.close()


def run_app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def plain(text: str) -> str:
    """Text as read aloud: no Markdown-escaping backslashes (``e\\-mail``), no-break spaces as spaces, no word joiners
    (which ui.md puts where Markdown would start a link)."""
    return text.replace("\\", "").replace("\u00a0", " ").replace("\u2060", "")


def texts(at: AppTest) -> str:
    """Every piece of text on the screen, unescaped, for `in` checks."""
    parts = [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "text", "info", "warning",
                                  "success", "error") for e in getattr(at, kind)]
    parts += [m.label + " " + str(m.value) for m in at.metric]
    parts += [t.value.to_string() for t in at.table]
    parts += [d.value.to_string() for d in at.dataframe]
    return plain("\n".join(str(p) for p in parts))


# --- every page -------------------------------------------------------------------------------

def test_overview_shows_headline_priorities_and_missing_returns(demo_db, expected):
    at = run_app()
    assert [h.value for h in at.header] == [expected["headline"]]
    assert at.sidebar.selectbox[0].value == expected["period"]
    screen = texts(at)
    assert "Tower Hamlets Community Safety Partnership" in screen
    for word in ("GREEN", "AMBER", "RED", "NO DATA", "MONITOR"):
        assert word in screen
    assert len(at.table) == 5  # the exception list, then one status table per priority
    statuses = plain("\n".join(t.value.to_string() for t in at.table))
    assert "⛔ RED" in statuses and "✅ GREEN" in statuses
    assert "Missing for 2025/26 Q3" in screen and "ASB Operations Group" in screen
    assert "Data as at" in screen
    assert any(b.label == "Download the status table (CSV)" for b in at.get("download_button"))


def test_overview_gives_the_reasons_of_a_priority_when_its_expander_is_opened(demo_db):
    at = run_app()
    assert [e.label for e in at.expander if e.label.startswith("Why these statuses")] == [
        f"Why these statuses (priority {p})" for p in "ABCD"]
    closed = len(at.text)  # a closed expander holds nothing
    at.session_state["csp_why_A"] = True
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    cat = load_catalogue(CONFIG)
    a_ids = [i.id for i in cat.indicators if i.priority == "A"]
    assert len(at.text) == closed + len(a_ids)  # each A indicator's one-sentence reason, now drawn


@pytest.mark.parametrize(("page", "title", "indicator"), [
    ("pages/priority_a.py", "Priority A: Anti-social behaviour", "A1 ASB demand"),
    ("pages/priority_b.py", "Priority B: Violence", "B3 Violence with injury"),
    ("pages/priority_c.py", "Priority C: Hate crime", "C5 Residents who agree"),
    ("pages/priority_d.py", "Priority D: Reducing re-offending", "D8 Burglary offences"),
])
def test_priority_pages(demo_db, expected, page, title, indicator):
    at = run_app(page)
    assert title in plain(at.title[0].value)
    subheaders = [plain(s.value) for s in at.subheader]
    assert any(s.startswith(indicator) for s in subheaders)
    screen = texts(at)
    assert "Chair's commentary" in screen
    assert "Definition" in screen and "Why it matters" in screen
    assert any(e.label == "Table view" for e in at.expander)
    assert any(word in screen for word in RAG_WORDS.values())


def open_expanders(at: AppTest, prefix: str) -> AppTest:
    """Open every ``ui.on_demand`` expander whose key starts with ``prefix`` (as a click would) and rerun."""
    cat = load_catalogue(CONFIG)
    for i in cat.indicators:
        at.session_state[f"{prefix}{i.id}"] = True
    return at.run()


def test_priority_page_draws_comparisons_and_table_views_only_when_opened(demo_db):
    at = open_expanders(run_app("pages/priority_b.py"), "csp_more_")  # every card in full, not compact
    labels = [e.label for e in at.expander]
    assert "Table view" in labels and any(lb.startswith("Compare with the other London boroughs") for lb in labels)
    assert labels.count("History chart") == labels.count("Table view") > 1
    assert len(at.get("vega_lite_chart")) == 1  # the first card's history chart: a closed expander holds no chart
    assert not at.dataframe  # and no table
    open_expanders(at, "csp_history_")
    open_expanders(at, "csp_table_")
    assert not at.exception, [e.message for e in at.exception]
    assert len(at.get("vega_lite_chart")) == labels.count("History chart")  # every history chart, now open
    assert len(at.dataframe) == labels.count("Table view")  # and each one's table view
    assert not [d for d in at.dataframe if "Against London" in d.value.columns]  # the comparisons are still closed


def test_priority_page_draws_the_first_cards_in_full_and_the_others_compact(demo_db):
    at = run_app("pages/priority_d.py")
    ids = [i.id for i in load_catalogue(CONFIG).indicators if i.priority == "D"]
    assert len(ids) > ui.FULL_CARDS
    subheaders = [plain(s.value) for s in at.subheader]
    assert [s.split(" ")[0] for s in subheaders] == ids  # every indicator has its card
    badges = [m.value for m in at.markdown if "-badge[" in m.value]
    assert len(badges) == len(ids)  # and its status (icon, word, colour) without a click
    assert all(any(w in plain(b) for w in RAG_WORDS.values()) for b in badges)
    assert [t.key for t in at.toggle] == [f"csp_more_{i}" for i in ids[ui.FULL_CARDS:]]
    assert all(t.label == ui.MORE_LABEL and not t.value for t in at.toggle)
    assert [e.label for e in at.expander].count("History chart") == ui.FULL_CARDS
    at.toggle(key=f"csp_more_{ids[-1]}").set_value(True).run()
    assert not at.exception, [e.message for e in at.exception]
    assert [e.label for e in at.expander].count("History chart") == ui.FULL_CARDS + 1  # the last card, in full
    assert [e.label for e in at.expander].count("Table view") == ui.FULL_CARDS + 1
    assert at.toggle(key=f"csp_more_{ids[-1]}").value  # its toggle still there, to close it
    assert len([m for m in at.markdown if "-badge[" in m.value]) == len(ids)


def test_priority_page_compares_areas(demo_db):
    at = open_expanders(run_app("pages/priority_b.py"), "csp_more_")  # every card in full (B3, B5 are compact)
    compare = [e for e in at.expander if e.label.startswith("Compare with the other London boroughs")]
    assert compare, "B3 and B5 have figures for other boroughs"
    at = open_expanders(at, "csp_compare_")
    assert not at.exception, [e.message for e in at.exception]
    assert not any("ranks" in t.value and "highest" in t.value for t in at.text)  # no raw-count ranking
    sentences = [t.value for t in at.text if t.value.startswith("Tower Hamlets: ") and "per 1,000 residents" in t.value]
    assert len(sentences) >= 2 and all("London (" in t for t in sentences)
    assert any("beyond chance" in t or "within chance" in t for t in sentences)
    tables = [d.value for d in at.dataframe]
    ranked = [t for t in tables if "Against London" in t.columns]
    funnels = [t for t in tables if "99.8% limits" in t.columns]
    assert ranked and funnels  # each chart has its table view
    assert any("Tower Hamlets (this partnership)" in set(t["Area"]) for t in ranked)
    assert any("Hackney (most-similar group)" in set(t["Area"]) for t in funnels)
    assert any("Unknown" in c.value and "no population" in c.value for c in at.caption)


def test_priority_page_shows_commentary_as_plain_text(demo_db):
    at = run_app("pages/priority_a.py")
    assert any(t.value.startswith("SYNTHETIC demo figure") for t in at.text)


def test_indicator_page_shows_restatements_provenance_and_spc(demo_db):
    at = run_app("pages/indicator.py")
    assert at.selectbox(key="csp_indicator").value == "A1"
    screen = texts(at)
    assert "superseded (restated)" in screen  # the demo restates A1 for 2025/26 Q2
    assert "synthetic-asb-restatement.csv" in screen
    assert "Where the 2025/26 Q3 figure came from" in screen
    labels = [b.label for b in at.get("download_button")]
    assert "Download the series (CSV)" in labels and "Download the series (XLSX)" in labels
    at.selectbox(key="csp_indicator").select("C5").run()
    assert not at.exception
    assert "Fewer than 12 points" in texts(at)


def test_indicator_page_draws_the_spc_points_table_when_opened(demo_db):
    at = run_app("pages/indicator.py")
    assert "SPC points (table)" in [e.label for e in at.expander]
    assert not [d for d in at.dataframe if "Upper limit" in d.value.columns]  # below the first screen: not yet drawn
    at.session_state["csp_indicator_spc"] = True
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    points = [d.value for d in at.dataframe if "Upper limit" in d.value.columns]
    assert len(points) == 1 and len(points[0]) > 12 and {"Mean", "Lower limit", "Point", "Rule"} <= set(points[0].columns)


@pytest.mark.parametrize(("indicator", "shown"), [
    ("D6", ["Target source: CSP Plan 2017-21, Priority D, Burglary",
            "Target agreed: CSP Executive (approving the CSP Plan 2017-21), 18 Jul 2017.",
            "Synthetic: the 2025/26 Q3 figure came from an upload marked synthetic"]),
    ("B3", ["Target source: not recorded. Target agreed: not recorded."]),
])
def test_indicator_page_shows_target_provenance_and_synthetic_figures(demo_db, indicator, shown):
    at = run_app("pages/indicator.py")
    at.selectbox(key="csp_indicator").select(indicator).run()
    assert not at.exception
    screen = texts(at)
    for words in shown:
        assert words in screen
    assert ("Synthetic:" in screen) is (indicator == "D6")  # B3 is real MPS data


def test_submissions_tracker_flags_missing(demo_db):
    at = run_app("pages/submissions.py")
    table = at.dataframe[0].value
    a2 = table[table["Indicator"] == "A2"].iloc[0]
    assert a2["Submission"] == "⛔ MISSING" and a2["Owner"] == "ASB Operations Group"
    a1 = table[table["Indicator"] == "A1"].iloc[0]
    assert a1["Submission"] == "✅ COMPLETE" and a1["By"] == "chair-asb@demo.example"
    assert "missing" in at.header[0].value


def test_history_lists_uploads_and_withdraws_with_confirmation(demo_db, expected):
    at = run_app("pages/history.py")
    uploads = at.dataframe[0].value
    restatement = expected["restatement"]
    assert len(uploads) == expected["uploads"]
    assert uploads.loc[uploads["Upload"] == restatement, "Restates"].iloc[0] == 1
    at.text_input(key="csp_user_input").input("analyst@towerhamlets.gov.uk").run()
    at.selectbox(key="csp_withdraw_pick").select(restatement).run()
    assert at.button(key="csp_withdraw").disabled  # no reason, no confirmation yet
    at.text_input(key="csp_withdraw_reason").input("sent in error").run()
    assert at.button(key="csp_withdraw").disabled  # still not confirmed
    at.checkbox(key=f"csp_withdraw_sure_{restatement}_0").check().run()
    at.button(key="csp_withdraw").click().run()
    assert not at.exception
    assert any("withdrawn" in plain(s.value) for s in at.success)
    uploads = at.dataframe[0].value
    row = uploads[uploads["Upload"] == restatement].iloc[0]
    assert row["State"] == "🚫 withdrawn" and "sent in error" in row["Withdrawn"]


# --- the upload flow --------------------------------------------------------------------------

def test_upload_good_file_previews_then_stores_and_changes_status(demo_db, expected):
    assert expected["rags"]["A2"] == "no_data"
    at = run_app("pages/upload.py")
    assert [t.value for t in at.title] == ["Upload"]
    at.file_uploader[0].set_value(("a2-return.csv", GOOD_RETURN, "text/csv")).run()
    assert not at.exception
    preview = at.table[0].value
    assert preview.iloc[0]["Period"] == "2025/26 Q3"
    assert plain(preview.iloc[0]["Status"]).startswith("❔ NO DATA → ")
    assert preview.iloc[0]["Value"] == "– → 150"
    confirm = at.button(key="csp_confirm")
    assert confirm.disabled  # no e-mail yet
    at.text_input(key="csp_user_input").input("chair-asb@towerhamlets.gov.uk").run()
    at.button(key="csp_confirm").click().run()
    assert not at.exception
    assert any(f"stored as upload {expected['next_id']}" in plain(s.value) for s in at.success)
    at.switch_page("pages/overview.py").run()
    assert at.header[0].value != expected["headline"]
    priority_a = at.table[1].value  # after the exception list
    a2 = priority_a[priority_a["Indicator"].str.startswith("A2 ")].iloc[0]
    assert plain(a2["Status"]) != "❔ NO DATA" and a2["Value"] == "150"
    at.switch_page("pages/submissions.py").run()
    table = at.dataframe[0].value
    assert table[table["Indicator"] == "A2"].iloc[0]["By"] == "chair-asb@towerhamlets.gov.uk"


def test_upload_bad_file_lists_problems_and_stores_nothing(demo_db, expected):
    at = run_app("pages/upload.py")
    at.text_input(key="csp_user_input").input("chair-asb@towerhamlets.gov.uk").run()
    at.file_uploader[0].set_value(("bad.csv", BAD_RETURN, "text/csv")).run()
    assert not at.exception
    assert any("refused: 2 problems" in plain(e.value) for e in at.error)
    problems = at.dataframe[0].value
    assert list(problems.columns) == ["File", "Row", "Column", "Value", "Problem", "Fix"]
    assert set(problems["Value"]) == {"Z9", "next spring"}
    assert not [b for b in at.button if b.key == "csp_confirm"]
    at.switch_page("pages/history.py").run()
    assert len(at.dataframe[0].value) == expected["uploads"]


def test_upload_of_a_dataset_already_loaded_changes_nothing(demo_db):
    extract = ROOT / "data" / "demo" / "mps-borough-level-crime-2024-01-to-2025-12.csv"
    at = run_app("pages/upload.py")
    at.text_input(key="csp_user_input").input("analyst@towerhamlets.gov.uk").run()
    at.selectbox(key="csp_upload_kind").select("borough_crime").run()
    assert at.file_uploader[0].allowed_type == [".csv", ".parquet"]
    at.file_uploader[0].set_value((extract.name, extract.read_bytes(), "text/csv")).run()
    assert not at.exception
    assert any("identical to upload" in plain(t.value) for t in at.text)
    assert at.button(key="csp_confirm").disabled  # nothing new to store


def test_upload_rejects_a_malformed_email(demo_db):
    at = run_app("pages/upload.py")
    at.text_input(key="csp_user_input").input("not an address").run()
    assert any("does not look like an e-mail address" in plain(w.value) for w in at.warning)
    at.file_uploader[0].set_value(("a2-return.csv", GOOD_RETURN, "text/csv")).run()
    assert at.button(key="csp_confirm").disabled


def test_commentary_form_stores_plain_text(demo_db, expected):
    at = run_app("pages/upload.py")
    at.text_input(key="csp_user_input").input("chair-asb@towerhamlets.gov.uk").run()
    at.text_area[0].input("<script>alert(1)</script> **not bold**")
    at.get("form_submit_button")[0].click().run()
    assert not at.exception
    saved = [plain(s.value) for s in at.success]
    assert f"Commentary on A1 for {expected['period']} saved as upload {expected['next_id']}." in saved, saved
    at.switch_page("pages/priority_a.py").run()
    assert any(t.value == "<script>alert(1)</script> **not bold**" for t in at.text)


def test_upload_page_offers_templates_and_kinds(demo_db):
    at = run_app("pages/upload.py")
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Download the CSV template", "Download the XLSX template"]
    kinds = at.selectbox(key="csp_upload_kind")
    assert kinds.options[0].startswith("Indicator return")
    assert any("borough_crime" in o for o in kinds.options)
    assert at.file_uploader[0].accept_multiple_files


# --- empty and error states -------------------------------------------------------------------

@pytest.mark.parametrize("page", [None, "pages/priority_a.py", "pages/indicator.py", "pages/meeting.py",
                                  "pages/submissions.py", "pages/history.py", "pages/upload.py"])
def test_empty_database_shows_the_empty_state(tmp_path, monkeypatch, page):
    Store(app_env(monkeypatch, tmp_path / "empty.duckdb", CONFIG), load_catalogue(CONFIG)).close()  # as `init` makes it
    at = run_app(page)
    if page == "pages/upload.py":
        assert at.file_uploader  # the way out of the empty state works
    else:
        assert any(i.value.startswith("No figures yet: upload a return on the Upload page") for i in at.info)


def test_a_broken_catalogue_is_reported_in_words(tmp_path, monkeypatch):
    bad = tmp_path / "indicators.yaml"
    bad.write_text(CONFIG.read_text(encoding="utf-8").replace("direction: decrease", "direction: down", 1),
                   encoding="utf-8")
    monkeypatch.setenv("CSPDASH_DB", str(tmp_path / "x.duckdb"))
    monkeypatch.setenv("CSPDASH_CONFIG", str(bad))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert "problem" in at.error[0].value
    assert "direction" in at.dataframe[0].value.to_string()
