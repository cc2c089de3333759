"""AppTests of the Overview's priorities at a glance and exception list, and of meeting mode, on the demo database."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_helpers import app_env, demo_copy
from streamlit.testing.v1 import AppTest
from test_pages import _navigation_mode, plain, run_app, texts  # noqa: F401  (the fixture must be in this module too)

from cspdash import ui, views
from cspdash.config import load_catalogue
from cspdash.store import Store

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "indicators.yaml"


@pytest.fixture
def demo_db(tmp_path_factory, monkeypatch) -> Path:
    return app_env(monkeypatch, demo_copy(tmp_path_factory, "pages-meeting"), CONFIG)


@pytest.fixture(scope="module")
def ov(tmp_path_factory):
    """The demo's overview, straight from the library (latest complete quarter)."""
    store = Store(demo_copy(tmp_path_factory, "expected-meeting"), load_catalogue(CONFIG))
    try:
        return views.overview(store, store.latest_complete_quarter()), store.cat
    finally:
        store.close()


def title(at: AppTest) -> str:
    return plain(at.title[0].value)


def progress(at: AppTest) -> str:
    return next(plain(m.value).strip("*") for m in at.markdown if plain(m.value).startswith("**Priority "))


# --- overview -------------------------------------------------------------------------------------

def test_overview_tiles_show_each_priority_status_in_word_and_icon(demo_db, ov):
    overview, _ = ov
    at = run_app()
    markdown = [plain(m.value) for m in at.markdown]
    for roll in overview.rollups:
        word, icon = views.RAG_WORDS[roll["overall"]], views.RAG_ICON[roll["overall"]]
        head = next(k for k, m in enumerate(markdown) if m == f"**{roll['priority']}. {roll['title']}**")
        assert f"{icon} {word}" in markdown[head - 1], markdown[head - 1]  # the badge heads the tile
    links = [e.proto.page for e in at.get("page_link")]
    assert [p for p in links if "priority_" in p] == [f"priority_{p}" for p in "abcd"]
    assert [plain(c.value) for c in at.caption if c.value.startswith("1 amber")] == ["1 amber · 1 red · 2 no data."]


def test_overview_exception_list_names_every_red_concern_and_missing_return(demo_db, ov):
    overview, _ = ov
    at = run_app()
    exceptions = at.table[0].value
    assert list(exceptions.columns) == ["Indicator", "Value", "Status", "To discuss", "Why", "Owner"]
    t = overview.table
    for _, r in t[t["rag"].isin(["red", "no_data"])].iterrows():
        row = exceptions[exceptions["Indicator"] == r["Indicator"]]
        assert len(row) == 1, r["Indicator"]
        want = "Red status" if r["rag"] == "red" else "Missing return"
        assert want in row.iloc[0]["To discuss"] and r["reason"] in row.iloc[0]["Why"]
    assert not set(exceptions["Indicator"]) - set(views.exception_frame(t)["Indicator"])
    screen = texts(at)
    assert views.exception_summary(views.exception_frame(t)) in screen


def test_overview_status_tables_speak_plainly(demo_db):
    at = run_app()
    status = at.table[1].value  # priority A (the exception list comes first)
    assert list(status.columns) == ["Indicator", "Value", "95% range", "Status", "Change", "Variation",
                                    "Will we meet the target?"]
    assert not status.map(lambda v: "ause" in str(v)).any().any()  # no "common cause" / "special cause"
    assert any("Will we meet the target?" in e.label for e in at.expander)
    assert "common cause" in plain(" ".join(m.value for m in at.markdown))  # the jargon is explained, once


# --- meeting mode -----------------------------------------------------------------------------------

def test_meeting_mode_pages_through_priorities_and_indicators(demo_db, ov):
    _, cat = ov
    at = run_app("pages/meeting.py")
    n_a = len(cat.indicators_of(priority="A")) + 1
    assert title(at).startswith("A. Anti-social")
    assert progress(at) == f"Priority A · 1 of {n_a}"
    screen = texts(at)
    assert "OFFICIAL" in screen and "data as at" in screen
    assert not at.text_input and not at.file_uploader  # no editing controls
    at.button(key="csp_meeting_next").click().run()
    assert title(at).startswith("A1 ASB demand") and progress(at) == f"Priority A · 2 of {n_a}"
    at.button(key="csp_meeting_pgdn").click().run()  # the Page Down button (hidden on screen)
    assert title(at).startswith("A2 ") and progress(at) == f"Priority A · 3 of {n_a}"
    at.button(key="csp_meeting_pgup").click().run()
    at.button(key="csp_meeting_prev").click().run()
    at.button(key="csp_meeting_prev").click().run()  # before the first screen: the last one
    d = cat.indicators_of(priority="D")
    assert title(at).startswith(f"{d[-1].id} ") and progress(at) == f"Priority D · {len(d) + 1} of {len(d) + 1}"


@pytest.mark.parametrize(("key", "shortcut"), [("csp_meeting_prev", "left"), ("csp_meeting_next", "right"),
                                               ("csp_meeting_pgup", "pageup"), ("csp_meeting_pgdn", "pagedown")])
def test_meeting_mode_buttons_have_their_keys(demo_db, key, shortcut):
    at = run_app("pages/meeting.py")
    assert at.button(key=key).proto.shortcut == shortcut


def test_meeting_mode_indicator_screen_shows_value_target_status_chart_and_commentary(demo_db, ov):
    overview, _ = ov
    at = run_app("pages/meeting.py")
    at.button(key="csp_meeting_next").click().run()  # A1
    a1 = overview.table[overview.table["indicator"] == "A1"].iloc[0]
    screen = texts(at)
    assert f"## {a1['Value']}" in [plain(m.value) for m in at.markdown]
    assert f"**Target:** {a1['target_text']}" in screen and a1["reason"] in screen
    assert views.rag_label(a1["rag"]).replace("\u00a0", " ") in screen
    assert "Chair's commentary, 2025/26 Q3" in screen
    assert any(t.value.startswith("SYNTHETIC demo figure") for t in at.text)  # plain text, never Markdown
    assert len(at.get("vega_lite_chart")) == 1


def block_keys(node) -> list[str]:
    """The keys of every keyed container under ``node`` (a keyed block's id ends with ``-<key>``)."""
    out = []
    block_id = str(getattr(getattr(node, "proto", None), "id", "") or "")
    if block_id.startswith("$$ID-"):
        out.append(block_id.split("-", 2)[2])
    for child in getattr(node, "children", {}).values():
        out += block_keys(child)
    return out


def test_meeting_mode_status_blocks_are_keyed_by_status_for_their_colours(demo_db, ov):
    overview, _ = ov
    at = run_app("pages/meeting.py")
    a = next(r for r in overview.rollups if r["priority"] == "A")
    assert f"csp_meeting_rag_{a['overall']}" in block_keys(at.main)  # MEETING_CSS colours the block by its key
    at.button(key="csp_meeting_next").click().run()
    a1 = overview.table[overview.table["indicator"] == "A1"].iloc[0]
    assert f"csp_meeting_rag_{a1['rag']}" in block_keys(at.main)


def test_meeting_css_gives_every_status_block_its_colours():
    css = ui.MEETING_CSS
    for rag, colour in views.RAG_COLOUR.items():
        assert f".st-key-csp_meeting_rag_{rag} {{ background: {colour};" in css
        assert f".st-key-csp_meeting_rag_{rag} p {{ color: {views.RAG_TEXT[rag]} !important; }}" in css


def test_overview_counts_each_kind_of_amber_and_shows_ranges(demo_db):
    at = run_app()
    summary = next(plain(c.value) for c in at.caption if plain(c.value).startswith("Amber: "))
    assert "within tolerance" in summary and "could be chance" in summary
    status = at.table[1].value
    assert status["95% range"].str.match(r"^(–|[\d,.]+%?-[\d,.]+%?)$").all()
    assert status["Status"].str.contains(r"AMBER\u00a0\(|AMBER \(|GREEN|RED|NO|MONITOR").all()
