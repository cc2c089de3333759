"""Tests for cspdash.snapshots: freezing a pack, listing and loading snapshots, frozen figures surviving restatements
and withdrawals, diffs, atomic writes, and packs rendered from a snapshot."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from cspdash import report, snapshots
from cspdash.config import load_catalogue
from cspdash.errors import CspdashError
from cspdash.periods import parse_period
from cspdash.store import Store, source_files

DATA = Path(__file__).resolve().parent / "data"
CATALOGUE = DATA / "catalogues" / "returns.yaml"
Q4 = parse_period("2018/19 Q4")
MEETING = date(2019, 5, 16)
QUARTERS = [f"{y}/{(y + 1) % 100:02d} Q{q}" for y in (2017, 2018) for q in (1, 2, 3, 4)]


def write_return(tmp_path: Path, name: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("indicator,period,value,commentary\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "csp.duckdb", load_catalogue(CATALOGUE))
    a1 = [f"A1,{q},{v}," for q, v in zip(QUARTERS, (98, 104, 96, 101, 99, 103, 97, 95), strict=True)]
    b1 = [f"B1,{q},{v}," for q, v in zip(QUARTERS, (52, 48, 51, 55, 50, 49, 53, 52), strict=True)]
    s.import_files(source_files([write_return(tmp_path, "asb.csv", [*a1[:-1], "A1,2018/19 Q4,95,Calls down after the "
                                                                          "dispersal order"]),
                                 write_return(tmp_path, "vawg.csv", b1)]), "chair@example.org")
    yield s
    s.close()


def a1(statuses):
    return next(s for s in statuses if s.indicator == "A1")


# --- freeze, list, load ----------------------------------------------------------------------------------------------

def test_freeze_stores_exactly_what_is_presented(store):
    live = store.statuses(Q4)
    sid = snapshots.freeze(store, Q4, MEETING, "analyst@example.org")
    snap = snapshots.load(store, sid)
    assert isinstance(sid, int)
    assert [s.as_dict() for s in snap.statuses] == [s.as_dict() for s in live]
    assert (snap.period, snap.meeting_date, snap.frozen_by) == ("2018/19 Q4", MEETING, "analyst@example.org")
    assert snap.data_as_at and snap.pack.snapshot.snapshot_id == sid
    item = next(i for i in snap.pack.items if i.indicator == "A1")
    assert [c.text for c in item.commentary] == ["Calls down after the dispersal order"]
    assert [h["value"] for h in item.history] == [98, 104, 96, 101, 99, 103, 97, 95]


def test_list_snapshots_newest_first_with_counts(store):
    first = snapshots.freeze(store, "2018/19 Q3", "2019-02-14", "a@example.org")
    second = snapshots.freeze(store, None, "16/05/2019", "b@example.org")  # default: the latest complete quarter
    listed = snapshots.list_snapshots(store)
    assert [s["snapshot_id"] for s in listed] == [second, first]
    assert listed[0]["period"] == "2018/19 Q4" and listed[0]["meeting_date"] == "2019-05-16"
    assert listed[1]["period"] == "2018/19 Q3" and listed[1]["frozen_by"] == "a@example.org"
    counts = {k: listed[0][k] for k in ("green", "amber", "red", "no_data", "monitor")}
    assert sum(counts.values()) == listed[0]["indicators"] == len(store.cat.indicators)
    assert counts == {k: sum(1 for s in store.statuses(Q4) if s.rag == k) for k in counts}


def test_tables_are_created_when_missing(tmp_path):
    s = Store(tmp_path / "new.duckdb", load_catalogue(CATALOGUE))
    try:
        assert snapshots.list_snapshots(s) == []
        tables = {t for (t,) in s.cursor().execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert {"snapshots", "snapshot_items"} <= tables
    finally:
        s.close()


def test_freeze_is_recorded_in_the_audit_trail(store):
    version = store.data_version()
    sid = snapshots.freeze(store, Q4, MEETING, "analyst@example.org")
    event = store.events(1)[0]
    assert (event["action"], event["user_name"]) == ("freeze", "analyst@example.org")
    assert f"snapshot {sid}" in event["detail"] and store.data_version() > version


# --- frozen means frozen ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("change", ["restate", "withdraw"])
def test_snapshot_is_unchanged_after_later_changes(store, tmp_path, change):
    before = a1(store.statuses(Q4))
    sid = snapshots.freeze(store, Q4, MEETING, "analyst@example.org")
    if change == "restate":
        store.import_files(source_files([write_return(tmp_path, "late.csv", ["A1,2018/19 Q4,130,Late calls added"])]),
                           "chair@example.org")
    else:
        store.withdraw(1, "chair@example.org", "wrong file")
    after = a1(store.statuses(Q4))
    assert after.value != before.value

    snap = snapshots.load(store, sid)
    assert a1(snap.statuses).value == before.value == 95
    assert a1(snap.statuses).rag == before.rag
    changes = snapshots.diff(snap, snapshots.live_statuses(store, snap))
    assert {"indicator": "A1", "field": "value", "before": 95.0, "after": after.value} in changes
    assert {"indicator": "A1", "field": "rag", "before": before.rag, "after": after.rag} in changes
    assert all(c["indicator"] == "A1" for c in changes)


def test_diff_between_two_snapshots_and_commentary(store, tmp_path):
    first = snapshots.load(store, snapshots.freeze(store, Q4, MEETING, "a@example.org"))
    store.import_files(source_files([write_return(tmp_path, "late.csv", ["A1,2018/19 Q4,130,Late calls added"])]),
                       "chair@example.org")
    second = snapshots.load(store, snapshots.freeze(store, Q4, MEETING, "a@example.org"))
    changes = snapshots.diff(first, second)
    fields = [(c["indicator"], c["field"]) for c in changes]
    assert ("A1", "value") in fields and ("A1", "reason") in fields
    assert {"indicator": "A1", "field": "commentary", "before": "Calls down after the dispersal order",
            "after": "Late calls added"} in changes
    assert snapshots.diff(first, first) == []
    assert snapshots.diff(second, store.statuses(Q4)) == []  # nothing changed since the second freeze


def test_diff_reports_an_indicator_on_one_side_only(store):
    snap = snapshots.load(store, snapshots.freeze(store, Q4, MEETING, "a@example.org"))
    today = [s for s in store.statuses(Q4) if s.indicator != "B1"]
    assert snapshots.diff(snap, today) == [{"indicator": "B1", "field": "indicator", "before": "present", "after": None}]


def test_pack_from_a_snapshot_renders_the_frozen_figures(store, tmp_path):
    sid = snapshots.freeze(store, Q4, MEETING, "analyst@example.org")
    store.import_files(source_files([write_return(tmp_path, "late.csv", ["A1,2018/19 Q4,130,Late calls added"])]),
                       "chair@example.org")
    snap = snapshots.load(store, sid)

    frozen_xlsx, live_xlsx = io.BytesIO(), io.BytesIO()
    report.build_xlsx(store, snap, frozen_xlsx)
    report.build_xlsx(store, Q4, live_xlsx)

    def a1_value(buf):
        ws = load_workbook(io.BytesIO(buf.getvalue()))["Summary"]
        head = report.XLSX_HEADER_ROW
        cols = [c.value for c in ws[head]]
        row = next(r for r in ws.iter_rows(min_row=head + 1, values_only=True) if r[0] == "A1")
        return row[cols.index("Value")], row[cols.index("Commentary")]

    assert a1_value(frozen_xlsx)[0] == 95 and a1_value(frozen_xlsx)[1].startswith("Calls down after the dispersal order")
    assert a1_value(live_xlsx)[0] == 130

    pdf = io.BytesIO()
    report.build_pdf(store, snap, pdf)
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(pdf.getvalue())).pages)
    assert f"(snapshot {sid})" in text and "later restatements do not change this pack" in text
    assert "Thursday 16 May 2019" in text
    assert "Calls down after the dispersal order" in text and "Late calls added" not in text


# --- atomic writes and errors ----------------------------------------------------------------------------------------

def test_a_failed_freeze_stores_nothing(store, monkeypatch):
    def boom(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("cspdash.db.event", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        snapshots.freeze(store, Q4, MEETING, "analyst@example.org")
    cur = store.cursor()
    assert cur.execute("SELECT count(*) FROM snapshots").fetchone()[0] == 0
    assert cur.execute("SELECT count(*) FROM snapshot_items").fetchone()[0] == 0
    monkeypatch.undo()
    assert snapshots.load(store, snapshots.freeze(store, Q4, MEETING, "analyst@example.org")).period == "2018/19 Q4"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"meeting_date": "next week"}, "meeting date 'next week' is not a date"),
    ({"meeting_date": None}, "needs the meeting date"),
    ({"user": "  "}, "say who made it"),
    ({"period": "2018/19 Q5"}, "Q5 does not exist"),
])
def test_freeze_refuses_bad_input(store, kwargs, message):
    args = {"period": Q4, "meeting_date": MEETING, "user": "analyst@example.org", **kwargs}
    with pytest.raises(CspdashError, match=message):
        snapshots.freeze(store, **args)
    assert snapshots.list_snapshots(store) == []


def test_load_unknown_snapshot(store):
    sid = snapshots.freeze(store, Q4, MEETING, "a@example.org")
    with pytest.raises(CspdashError, match=rf"there is no snapshot 99 \(snapshots: {sid}\)"):
        snapshots.load(store, 99)


def test_only_admins_freeze_once_accounts_exist(store):
    from cspdash.auth import PermissionDenied

    store.add_user("chair@example.org", "chair", ["asb"])
    store.add_user("analyst@example.org", "admin")
    with pytest.raises(PermissionDenied, match="only an admin"):
        snapshots.freeze(store, Q4, MEETING, "chair@example.org")
    assert snapshots.list_snapshots(store) == []
    sid = snapshots.freeze(store, Q4, MEETING, "analyst@example.org")
    assert snapshots.load(store, sid).frozen_by == "analyst@example.org"
