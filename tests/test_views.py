"""Tests for cspdash.views: the frames and records the pages display, on a copy of the demo database."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from e2e_helpers import BAD_RETURN, GOOD_RETURN, demo_copy

from cspdash import spc, views
from cspdash.config import SPCSettings, load_catalogue
from cspdash.errors import CspdashError
from cspdash.ingest import SourceFile, ValidationError
from cspdash.periods import parse_period
from cspdash.status import RAG_WORDS, RAGS, Status, figures_for, headline
from cspdash.store import Store
from cspdash.templates import TEMPLATE_COLUMNS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = Store(demo_copy(tmp_path_factory, "views"), load_catalogue(ROOT / "indicators.yaml"))
    yield s
    s.close()


@pytest.fixture(scope="module")
def period(store):
    return store.latest_complete_quarter()


def status(**kw) -> Status:
    fields = dict(indicator="X1", priority="A", period="2025/26 Q3", value=110.0, target=None, comparator=100.0,
                  rag="green", complete=True, variation=None, assurance=None, reason="", comparator_period="2024/25 Q3",
                  change_pct=10.0, trend="up", improving=True)
    fields.update(kw)
    return Status(**fields)


# --- vocabulary -------------------------------------------------------------------------------

@pytest.mark.parametrize("rag", RAGS)
def test_rag_label_has_an_icon_and_the_word(rag):
    label = views.rag_label(rag)
    assert " " not in label  # no-break spaces: a table cell never splits the icon from the word
    icon, word = label.replace("\u00a0", " ").split(" ", 1)
    assert word == RAG_WORDS[rag] and icon == views.RAG_ICON[rag]
    assert views.RAG_COLOUR[rag].startswith("#") and views.RAG_TEXT[rag] in ("#ffffff", "#000000")


def test_rag_icons_and_colours_are_all_different():
    assert len(set(views.RAG_ICON.values())) == len(RAGS)
    assert len(set(views.RAG_COLOUR.values())) == len(RAGS)


@pytest.mark.parametrize(("kw", "unit", "expected"), [
    ({}, "count", "↑ 10% on 2024/25 Q3 (better)"),
    ({"value": 90.0, "change_pct": -10.0, "trend": "down", "improving": False}, "count", "↓ 10% on 2024/25 Q3 (worse)"),
    ({"value": 104.5, "change_pct": 4.5}, "count", "↑ 4.5% on 2024/25 Q3 (better)"),
    ({"value": 100.0, "change_pct": 0.0, "trend": "level", "improving": None}, "count", "→ level on 2024/25 Q3"),
    ({"improving": None}, "count", "↑ 10% on 2024/25 Q3"),  # neutral direction: no judgement
    ({"value": 82.6, "comparator": 87.5, "change_pct": -5.6, "trend": "down", "improving": False}, "percent",
     "↓ 4.9 pts on 2024/25 Q3 (worse)"),
    ({"trend": None, "comparator": None}, "count", "–"),
])
def test_change_text(store, kw, unit, expected):
    ind = next(i for i in store.cat.indicators if i.unit == unit)
    assert views.change_text(ind, status(**kw)) == expected


@pytest.mark.parametrize(("text", "ok"), [
    ("chair@towerhamlets.gov.uk", True), (" a.b@c.org ", True), ("", False), ("no-at-sign", False),
    ("two@@x.org", False), ("a b@c.org", False), ("a@nodot", False), ("@c.org", False), ("a@.org", False),
])
def test_looks_like_email(text, ok):
    assert views.looks_like_email(text) is ok


@pytest.mark.parametrize(("ts", "shown"), [("2026-11-25 10:41:02", "25 Nov 2026 10:41 UTC"), (None, "–"),
                                           ("not a time", "not a time")])
def test_when(ts, shown):
    assert views.when(ts) == shown


@pytest.mark.parametrize(("name", "shown"), [("returns.csv", "upload-7-returns.csv"),
                                             ("(typed in the app)", "upload-7-commentary.txt")])
def test_original_name(name, shown):
    assert views.original_name(7, name) == shown


# --- quarters and overview --------------------------------------------------------------------

def test_quarter_options_default_latest_complete_and_offer_the_quarter_in_progress(store, period):
    options = views.quarter_options(store)
    complete = [o.label for o in options if o.complete]
    assert complete[0] == period.label
    assert complete == [q.label for q in reversed(store.complete_quarters())]
    assert views.default_quarter(options).label == period.label
    later = [o for o in options if o.later]
    assert [o.label for o in later] == [period.shift(1).label]  # the demo's monthly data runs past Q3
    total = len(store.cat.indicators)
    assert later[0].display == f"{later[0].label} (in progress: {later[0].count} of {total})"
    assert options[0] == later[0] and not later[0].complete
    earlier = [o for o in options if not o.complete and not o.later]  # the police history before the returns
    assert earlier and all(o.display == f"{o.label} ({o.count} of {total} figures)" for o in earlier)


def test_overview_matches_the_status_engine(store, period):
    ov = views.overview(store, period)
    statuses = store.statuses(period)
    assert ov.headline == headline(statuses)
    assert list(ov.table["indicator"]) == [i.id for i in store.cat.indicators]
    assert sum(ov.counts.values()) == len(store.cat.indicators)
    assert [r["priority"] for r in ov.rollups] == [p.id for p in store.cat.priorities]
    no_data = [s.indicator for s in statuses if s.rag == "no_data"]
    assert [m.split(" ")[0] for m in ov.missing["Indicator"]] == no_data
    assert "ASB Operations Group" in set(ov.missing["Owner"])
    assert ov.data_as_at and ov.data_as_at.endswith("UTC")


def test_status_csv_has_the_raw_fields(store, period):
    frame = views.status_frame(store, period)
    csv = pd.read_csv(io.BytesIO(views.status_csv(frame)))
    assert list(csv.columns) == list(views.STATUS_CSV_COLUMNS)
    assert len(csv) == len(store.cat.indicators)
    assert set(csv["rag"]) <= set(RAGS)


def test_empty_store(tmp_path):
    s = Store(tmp_path / "empty.duckdb", load_catalogue(ROOT / "indicators.yaml"))
    try:
        assert views.quarter_options(s) == []
        assert views.data_as_at(s) is None
        assert views.uploads_frame(s).empty
    finally:
        s.close()


# --- indicator history and SPC ----------------------------------------------------------------

def test_history_frame_is_the_spc_of_the_complete_figures(store, period):
    ind = store.cat.indicator("B2")
    h = views.history_frame(store, "B2", period)
    figures = figures_for(ind, store.current_observations(["B2"])["B2"])
    values = [f.value for p, f in figures.items() if p <= period and f.complete]
    assert list(h["value"]) == values
    res = spc.compute(values, ind.direction)
    assert list(h["point_type"]) == list(res.points["point_type"])
    assert h["mean"].iloc[0] == pytest.approx(res.mean)
    assert h["upl"].iloc[0] == pytest.approx(res.upl)
    assert h["period"].iloc[-1] == period.label
    assert set(h["point"]) <= {v[0] for v in views.POINT_STYLE.values()}


def test_history_frame_draws_the_catalogues_phases(tmp_path_factory, store, period):
    """spc: {rebase: [...]} splits B2's chart at the rebase quarter: own mean and limits, a phase column, a note."""
    h = views.history_frame(store, "B2", period)
    assert set(h["phase"]) == {1}
    at = 5
    ind = store.cat.indicator("B2")
    rebased = dataclasses.replace(ind, spc=SPCSettings(rebase=(parse_period(h["period"].iloc[at]),)))
    cat = dataclasses.replace(store.cat, indicators=tuple(rebased if i.id == "B2" else i for i in store.cat.indicators))
    s = Store(demo_copy(tmp_path_factory, "views-rebased"), cat)
    try:
        r = views.history_frame(s, "B2", period)
        _table, notes = views.spc_detail(s, "B2", period)
    finally:
        s.close()
    assert list(r["phase"]) == [1] * at + [2] * (len(h) - at)
    values = list(h["value"])
    for rows, part in ((r.iloc[:at], values[:at]), (r.iloc[at:], values[at:])):
        alone = spc.compute(part, ind.direction)
        assert list(rows["point_type"]) == list(alone.points["point_type"])
        assert list(rows["mean"]) == pytest.approx([alone.mean] * len(part))
    assert any("rebased into 2 phases" in n for n in notes)


def test_c3_is_rebased_at_the_2012_recording_change(store, period):
    """The shipped catalogue rebases C3 at 2012/13 Q1: the low pre-2012 points are their own common-cause phase."""
    h = views.history_frame(store, "C3", period)
    first = h[h["phase"] == 1]
    assert list(first["period"])[-1] == "2011/12 Q4" and h[h["phase"] == 2]["period"].iloc[0] == "2012/13 Q1"
    assert set(first["point_type"]) == {"common_cause"}
    assert set(h["phase"]) == {1, 2}


def test_history_frame_targets_by_type(store, period):
    fixed = views.history_frame(store, "B1", period)  # fixed: at least 25
    assert set(fixed["target"]) == {25.0}
    cumulative = views.history_frame(store, "D6", period)  # 20 a year: 5 a quarter
    assert set(cumulative["target"]) == {5.0}
    monitor = views.history_frame(store, "B5", period)
    assert monitor["target"].isna().all()
    change = views.history_frame(store, "A1", period)  # a 5% fall on the same quarter last year
    status = next(s for s in store.statuses(period) if s.indicator == "A1")
    assert change["target"].iloc[-1] == pytest.approx(status.target)


def test_history_frame_stops_at_the_chosen_period(store):
    h = views.history_frame(store, "A1", parse_period("2020/21 Q4"))
    assert h["period"].iloc[-1] == "2020/21 Q4"


def test_spc_detail_notes(store, period):
    table, notes = views.spc_detail(store, "C5", period)  # annual: nine points
    assert any(n.startswith("Fewer than 12 points") for n in notes)
    assert list(table.columns) == ["Period", "Value", "Mean", "Lower limit", "Upper limit", "Point", "Rule", "Phase"]


# --- cards, areas, series ---------------------------------------------------------------------

def test_priority_cards(store, period):
    cards = views.priority_cards(store, "B", period)
    assert [c.id for c in cards] == [i.id for i in store.cat.indicators_of(priority="B")]
    b3 = next(c for c in cards if c.id == "B3")
    assert b3.areas is not None and b3.areas["own"].sum() == 1
    assert b3.label.startswith(views.rag_label(b3.status["rag"]))
    assert b3.range_text.startswith("95% range ") and b3.range_text.endswith("(exact Poisson (Garwood))")
    b1 = next(c for c in cards if c.id == "B1")
    assert b1.areas is None and b1.commentary and b1.commentary[0]["text"].startswith("SYNTHETIC")
    assert list(b1.table.columns) == ["Period", "Value", "95% range", "Target", "Mean", "Lower limit", "Upper limit",
                                      "Point"]


def test_area_comparison(store, period):
    df = views.area_frame(store, "D8", period)
    assert list(df["rank"]) == list(range(1, len(df) + 1))
    assert list(df["value"]) == sorted(df["value"], reverse=True)
    own = df[df["own"]]
    assert list(own["area"]) == ["Tower Hamlets"]
    rank = int(own["rank"].iloc[0])
    assert views.area_summary(df, "Tower Hamlets").startswith(f"Tower Hamlets ranks {rank}")
    table = views.area_table(df)
    assert "Tower Hamlets (this partnership)" in set(table["Area"])


def test_series_shows_restatements(store):
    series = views.series_frame(store, "A1")
    restated = series[series["state"] == "superseded"]
    assert len(restated) >= 1
    for p in restated["period"]:
        rows = series[series["period"] == p]
        assert list(rows["state"]).count("current") == 1
    shown = views.series_display(series)
    assert "↩ superseded (restated)" in set(shown["Figure"])


def test_provenance_of_a_monthly_indicator_lists_its_months(store, period):
    prov = views.provenance_frame(store, "B3", period)
    assert list(prov["Period"]) == [m.label for m in period.months()]


# --- submissions and history ------------------------------------------------------------------

def test_submissions(store, period):
    sub = views.submissions_frame(store, period)
    row = sub.set_index("indicator")
    assert row.loc["A2", "state"] == "missing" and row.loc["A2", "Submission"] == "⛔ MISSING"
    assert row.loc["B2", "state"] == "complete" and row.loc["B2", "by"] == "chair-vawg@demo.example"
    assert row.loc["C5", "period"] == period.at("year").label  # annual: judged by financial year
    nxt = views.submissions_frame(store, period.shift(1)).set_index("indicator")
    assert nxt.loc["B3", "state"] == "incomplete" and nxt.loc["B3", "detail"].startswith("missing ")


def test_uploads_frame_counts_restatements(store):
    uploads = views.uploads_frame(store).set_index("File")
    assert uploads.loc["synthetic-asb-restatement.csv", "Restates"] == 1
    assert uploads.loc["synthetic-asb-return.csv", "Restated later"] >= 1
    assert set(uploads["State"]) == {"✅ active"}


# --- upload -----------------------------------------------------------------------------------

def test_preview_of_a_good_return(store):
    result = store.import_files([SourceFile("a2.csv", data=GOOD_RETURN)], "x@example.org", dry_run=True)
    preview = views.preview_frame(result, store.cat)
    row = preview.iloc[0]
    assert row["Period"] == "2025/26 Q3" and row["Value"] == "– → 150"
    assert row["Status"].startswith(views.rag_label("no_data") + " → ") and row["Changes status"] == "yes"
    assert views.uploads_summary(result) == ["a2.csv: 1 row ready to store."]


def test_problems_of_a_bad_return(store):
    with pytest.raises(ValidationError) as err:
        store.import_files([SourceFile("bad.csv", data=BAD_RETURN)], "x@example.org", dry_run=True)
    frame = views.problems_frame(err.value)
    assert list(frame.columns) == ["File", "Row", "Column", "Value", "Problem", "Fix"]
    assert list(frame["Row"]) == [2, 3] and all(frame["Fix"].str.len() > 0)
    assert views.problems_message(err.value).startswith("The upload was refused: 2 problems found")


def test_upload_kinds(store):
    kinds = views.upload_kinds(store.cat)
    assert next(iter(kinds)) == views.RETURN_KIND
    assert {d.name for d in store.cat.datasets} <= set(kinds)
    assert views.upload_types(views.RETURN_KIND) == ["csv", "xlsx"]
    assert views.upload_types("borough_crime") == ["csv", "parquet"]


def test_templates(store):
    csv = views.template_bytes(store.cat, "asb", "csv", "2025/26 Q4").decode("utf-8-sig")
    assert csv.splitlines()[0] == ",".join(TEMPLATE_COLUMNS)
    assert "2025/26 Q4" in csv
    book = openpyxl.load_workbook(io.BytesIO(views.template_bytes(store.cat, "asb", "xlsx", "2025/26 Q4")))
    assert book.sheetnames[0] == "Return"
    assert views.template_name("asb", "2025/26 Q4", "xlsx") == "return-asb-2025-26-Q4.xlsx"
    with pytest.raises(CspdashError):
        views.template_bytes(store.cat, "asb", "pdf")


def test_xlsx_download_neutralises_formulas():
    df = pd.DataFrame({"file": ["=HYPERLINK(\"x\")", "ok.csv"], "value": [1.0, 2.0]})
    sheet = openpyxl.load_workbook(io.BytesIO(views.xlsx_bytes(df))).active
    assert sheet["A2"].value == "'=HYPERLINK(\"x\")" and sheet["A3"].value == "ok.csv"


def test_meeting_rows(store, period):
    frame = views.status_frame(store, period)
    rows = views.meeting_rows(frame, "A")
    assert list(rows.columns) == ["Indicator", "Value", "Status", "Change", "rag"]
    assert len(rows) == len(store.cat.indicators_of(priority="A"))


@pytest.mark.parametrize("module", ["views.py", "charts.py"])
def test_pure_modules_do_not_import_streamlit(module):
    source = (ROOT / "cspdash" / module).read_text(encoding="utf-8")
    assert "import streamlit" not in source and "from streamlit" not in source


def test_submissions_display(store, period):
    frame = views.submissions_frame(store, period)
    table, rag = views.submissions_display(frame)
    assert list(table.columns) == list(views.SUBMISSION_COLUMNS)
    assert set(rag) <= {"green", "amber", "red"} and len(rag) == len(table)
    headline = views.submissions_headline(frame)
    assert headline.startswith(f"{(frame['state'] == 'complete').sum()} complete · ")
    late = views.submissions_late(frame, period)
    assert late is not None and "A2 (ASB Operations Group)" in late


def test_upload_choices(store):
    frame = views.uploads_frame(store)
    choices = views.upload_choices(frame)
    assert list(choices) == list(frame["upload_id"])  # newest first
    first = int(frame["upload_id"].iloc[0])
    assert choices[first].startswith(f"{first}: {frame['File'].iloc[0]} (")
    assert views.upload_choices(frame, active_only=True) == choices  # nothing withdrawn in the demo
    assert views.upload_file_name(frame, first) == f"upload-{first}-{frame['File'].iloc[0]}"
    assert "Upload" in views.uploads_display(frame).columns
