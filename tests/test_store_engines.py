"""The system of record on both engines (``engine_db``: a DuckDB file, and a database on the tests' own PostgreSQL):
returns imported whole or not at all, identical re-uploads, dry runs, withdrawals, commentary, statuses, history,
provenance, events and snapshots behave the same; on PostgreSQL a record-level import and a large original need
``$CSPDASH_EXTRACTS`` (refused in words while it is unset); the demo's returns give the same statuses on both engines."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from cspdash import originals, snapshots
from cspdash.config import load_catalogue
from cspdash.dburl import PostgresTarget, parse_db
from cspdash.errors import CspdashError, DatabaseMissing, StorageError
from cspdash.ingest import SourceFile, ValidationError
from cspdash.periods import parse_period
from cspdash.store import Store, require_database

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
CAT = load_catalogue(DATA / "catalogues" / "returns.yaml")
H = b"indicator,period,value,commentary\n"
Q1 = parse_period("2018/19 Q1")
STREET = (b"Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
          b"Last outcome category,Context\na,2018-04,P,P,,,X,E1,L,Burglary,,\n")


@pytest.fixture
def store(engine_db):
    s = Store(engine_db, CAT)
    yield s
    s.close()


def is_pg(store: Store) -> bool:
    return isinstance(store.target, PostgresTarget)


def ret(name: str, body: bytes) -> SourceFile:
    return SourceFile(name, H + body)


def status(store: Store, indicator: str, period=Q1):
    return next(s for s in store.statuses(period) if s.indicator == indicator)


def dump(store: Store) -> dict[str, list]:
    """Every row of every table of the system of record, sorted: two equal dumps hold the same data."""
    tables = ("uploads", "observations", "commentary", "events", "users")
    return {t: sorted(store.cursor().execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}


def test_each_engine_opens_the_store_it_is_given(store, engine_db):
    assert is_pg(store) == engine_db.startswith("postgresql://")
    assert store.is_empty() and store.data_version() == 0
    if is_pg(store):
        assert str(store.path).startswith("postgresql://") and "***" in str(store.path)  # never the password
        assert parse_db(engine_db).password not in str(store.path)


def test_an_upload_keeps_bytes_sha256_name_user_time_and_rows(store):
    body = H + b"A1,2018/19 Q1,95,first\nA2,2018-04,3,\n"
    res = store.import_files([SourceFile("asb q1.csv", body)], "chair@example.org")
    (h,) = store.history()
    assert h["upload_id"] == res.uploads[0]["upload_id"] == 1  # from the sequence
    assert (h["file_name"], h["user"], h["rows"], h["state"], h["kind"]) == ("asb q1.csv", "chair@example.org", 2,
                                                                              "active", "return")
    assert h["sha256"] == hashlib.sha256(body).hexdigest() and h["size_bytes"] == len(body) and h["uploaded_at"]
    assert store.upload_content(1) == ("asb q1.csv", body)
    assert [e["action"] for e in store.events()] == ["upload"]
    assert store.data_version() > 0


def test_a_restatement_supersedes_and_both_stay_queryable(store):
    store.import_files([ret("q1.csv", b"A1,2018/19 Q1,95,\nA1,2018/19 Q2,80,\n")], "first@example.org")
    store.import_files([ret("q1-restated.csv", b"A1,2018/19 Q1,150,\n")], "second@example.org")
    q1 = [(r["value"], r["upload_id"], r["current"]) for r in store.series("A1") if r["period"] == "2018/19 Q1"]
    assert q1 == [(95.0, 1, False), (150.0, 2, True)]
    assert (status(store, "A1").value, status(store, "A1").rag) == (150.0, "red")
    assert status(store, "A1", parse_period("2018/19 Q2")).value == 80.0
    prov = store.provenance("A1", Q1)
    assert [(p["file_name"], p["user"]) for p in prov] == [("q1-restated.csv", "second@example.org")]
    assert [h["upload_id"] for h in store.history("A1")] == [2, 1]
    assert store.latest_complete_quarter() is not None


def test_an_identical_upload_changes_nothing(store):
    body = b"A1,2018/19 Q1,95,\n"
    store.import_files([ret("q1.csv", body)], "u")
    before = dump(store)
    res = store.import_files([ret("q1 (copy).csv", body), ret("again.csv", body)], "someone-else")
    assert [(u["upload_id"], u["duplicate_of"]) for u in res.uploads] == [(None, 1), (None, 1)]
    assert dump(store) == before


def test_a_dry_run_stores_nothing_and_previews_old_and_new(store):
    store.import_files([ret("q1.csv", b"A1,2018/19 Q1,60,\nA1,2017/18 Q4,100,\n")], "u")
    before = dump(store)
    res = store.import_files([ret("q1-restated.csv", b"A1,2018/19 Q1,150,\nA1,2018/19 Q2,105,\n")], "u", dry_run=True)
    assert dump(store) == before
    assert [(c.period, c.old_value, c.new_value, c.old_rag, c.new_rag) for c in res.changes] == [
        ("2018/19 Q1", 60.0, 150.0, "green", "red"), ("2018/19 Q2", None, 105.0, "no_data", "amber")]


def test_a_bad_file_stores_nothing_of_any_file(store):
    with pytest.raises(ValidationError) as e:
        store.import_files([ret("good.csv", b"A1,2018/19 Q1,95,\n"), ret("bad.csv", b"A1,2018/19 Q1,x,\n")], "u")
    assert e.value.problems[0].file == "bad.csv"
    assert store.is_empty() and store.events() == []


def test_a_failure_inside_the_transaction_stores_nothing(store):
    store.cursor().execute("DROP TABLE commentary")  # the last insert of the import fails
    with pytest.raises(Exception):  # noqa: B017  (whatever the engine says: the point is what is left)
        store.import_files([ret("q1.csv", b"A1,2018/19 Q1,95,why\n")], "u")
    for table in ("uploads", "observations", "events"):
        assert store.cursor().execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table


def test_a_withdrawal_falls_back_to_the_earlier_figure_and_deletes_nothing(store):
    store.import_files([ret("q1.csv", b"A1,2018/19 Q1,60,first\n")], "u")
    store.import_files([ret("q1-wrong.csv", b"A1,2018/19 Q1,500,oops\n")], "u")
    assert status(store, "A1").value == 500.0
    h = store.withdraw(2, "manager@example.org", "typed 500 for 60")
    assert (h["state"], h["withdrawn_by"], h["withdraw_reason"]) == ("withdrawn", "manager@example.org", "typed 500 for 60")
    assert (status(store, "A1").value, status(store, "A1").rag) == (60.0, "green")
    assert store.commentary("A1")[0]["text"] == "first"
    assert [(r["value"], r["state"]) for r in store.series("A1")] == [(60.0, "active"), (500.0, "withdrawn")]
    assert store.upload_content(2)[1].endswith(b"oops\n")
    assert [e["action"] for e in store.events()] == ["withdraw", "upload", "upload"]
    with pytest.raises(CspdashError, match="already withdrawn"):
        store.withdraw(2, "u")


def test_commentary_is_versioned_and_typed_commentary_is_an_upload(store):
    store.import_files([ret("v1.csv", b"A1,2018/19 Q1,95,Version one\n")], "chair@example.org")
    store.import_files([ret("v2.csv", b"A1,2018/19 Q1,95,Version two\n")], "chair@example.org")
    uid = store.add_commentary("A1", Q1, "  Typed in the app  ", "analyst@example.org")
    (c,) = store.commentary("A1", Q1)
    assert (c["text"], c["user"], c["upload_id"]) == ("Typed in the app", "analyst@example.org", uid)
    assert store.history()[0]["kind"] == "commentary"
    store.withdraw(uid, "analyst@example.org")
    assert store.commentary("A1", Q1)[0]["text"] == "Version two"
    store.withdraw(2, "u")
    assert store.commentary("A1", Q1)[0]["text"] == "Version one"
    assert store.add_commentary("A2", parse_period("2018-05"), "May was odd", "u") > uid
    assert store.commentary("A2")[0]["period"] == "2018/19 Q1"


def test_other_areas_and_events(store):
    body = (b"indicator,period,area,value\nA1,2018/19 Q1,,95\nA1,2018/19 Q1,Hackney,120\n"
            b"A1,2018/19 Q1,Camden,40\n")
    store.import_files([SourceFile("areas.csv", body)], "u")
    assert [(r["area"], r["value"], r["own"]) for r in store.area_values("A1", Q1)] == [
        ("Hackney", 120.0, False), ("Tower Hamlets", 95.0, True), ("Camden", 40.0, False)]
    (e,) = store.events(limit=5)
    assert (e["action"], e["user_name"], e["upload_id"]) == ("upload", "u", 1) and isinstance(e["event_at"], str)


def test_snapshots_keep_what_was_presented(store):
    store.import_files([ret("q1.csv", b"A1,2018/19 Q1,60,presented\n")], "u")
    sid = snapshots.freeze(store, "2018/19 Q1", "2018-09-12", "analyst@example.org")
    store.import_files([ret("restated.csv", b"A1,2018/19 Q1,150,\n")], "u")
    (listed,) = snapshots.list_snapshots(store)
    assert (listed["snapshot_id"], listed["period"], listed["meeting_date"], listed["frozen_by"]) == (
        sid, "2018/19 Q1", "2018-09-12", "analyst@example.org")
    assert listed["indicators"] == len(CAT.indicators) and listed["green"] == 1
    snap = snapshots.load(store, sid)
    assert next(s for s in snap.statuses if s.indicator == "A1").value == 60.0
    changed = {(d["indicator"], d["field"]): (d["before"], d["after"])
               for d in snapshots.diff(snap, snapshots.live_statuses(store, snap))}
    assert changed[("A1", "value")] == (60.0, 150.0) and changed[("A1", "rag")] == ("green", "red")
    assert snapshots.freeze(store, "2018/19 Q1", "2018-12-12", "u") > sid
    assert "freeze" in [e["action"] for e in store.events()]


def test_a_record_level_import_without_cspdash_extracts_on_postgresql_is_refused_in_words(
        postgres_server, tmp_path, monkeypatch):
    # With CSPDASH_EXTRACTS set, PostgreSQL imports them as Parquet files: tests/test_pg_extracts.py.
    monkeypatch.delenv("CSPDASH_EXTRACTS", raising=False)
    store = Store(postgres_server.new_database(), CAT)  # DuckDB imports them: tests/test_store.py
    with pytest.raises(CspdashError, match="folder named by CSPDASH_EXTRACTS, which is not set") as e:
        store.import_files([SourceFile("street.csv", STREET)], "u", "street_crime")
    assert "nothing was stored" in str(e.value)
    assert store.is_empty() and store.events() == []
    # A backup works on PostgreSQL (cspdash.backups_pg; tests/test_pg_backup.py): with no extracts, even unset.
    assert store.backup(tmp_path / "b.duckdb").exists()
    store.close()


def test_a_large_original_on_postgresql_needs_cspdash_extracts(store, tmp_path, monkeypatch):
    monkeypatch.setattr(originals, "INLINE_ORIGINAL_BYTES", 40)  # this return is "large"
    monkeypatch.delenv("CSPDASH_EXTRACTS", raising=False)
    body = H + b"A1,2018/19 Q1,95,a comment long enough\n"
    if is_pg(store):
        with pytest.raises(CspdashError, match=r"CSPDASH_EXTRACTS is not set.*nothing was stored"):
            store.import_files([SourceFile("big.csv", body)], "u")
        assert store.is_empty()
        store.close()
        monkeypatch.setenv("CSPDASH_EXTRACTS", str(tmp_path / "shared"))
        store = Store(store.target, CAT)
    store.import_files([SourceFile("big.csv", body)], "u")
    sha = hashlib.sha256(body).hexdigest()
    kept = (tmp_path / "shared" / "originals" if is_pg(store) else tmp_path / "uploads") / sha
    assert kept.read_bytes() == body
    assert store.upload_content(1) == ("big.csv", body)
    store.close()
    if is_pg(store):
        monkeypatch.delenv("CSPDASH_EXTRACTS")
        store = Store(store.target, CAT)
        with pytest.raises(CspdashError, match=f"kept as originals/{sha} in .CSPDASH_EXTRACTS, which is not set"):
            store.upload_content(1)
        store.close()


def test_a_lost_connection_is_said_in_words_and_the_store_carries_on(postgres_server):
    import psycopg

    url = postgres_server.new_database()
    store = Store(url, CAT)
    try:
        held = store.db.writer()
        with psycopg.connect(postgres_server.url(), autocommit=True) as admin:  # as a server restart would
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                          [parse_db(url).dbname])
        with pytest.raises(StorageError, match=r"^not stored: the database postgresql://\S+:\*\*\*@\S+ failed or "
                                               r"cannot be reached \(.+\); try again once it is back$") as e:
            held.execute("SELECT 1")
        held.close()
        assert parse_db(url).password not in str(e.value)
        store.import_files([ret("q1.csv", b"A1,2018/19 Q1,60,\n")], "u")  # a pooled connection is checked first
        assert [h["upload_id"] for h in store.history()] == [1]
    finally:
        store.close()


def test_an_import_on_postgresql_waits_for_another_process_importing(postgres_server):
    """Imports take turns across processes (an advisory lock), so a file identical to one being stored elsewhere is
    recognised rather than stored twice."""
    import threading

    import psycopg

    from cspdash.uploads import IMPORT_LOCK

    url = postgres_server.new_database()
    first, second = Store(url, CAT), Store(url, CAT)  # two pools, as two processes have
    body = b"A1,2018/19 Q1,60,\n"
    results: list = []
    with psycopg.connect(**parse_db(url).connect_args(), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [IMPORT_LOCK])  # another process is importing
        waiting = threading.Thread(target=lambda: results.append(second.import_files([ret("b.csv", body)], "u")))
        waiting.start()
        waiting.join(1.5)
        assert waiting.is_alive() and second.is_empty()  # it waits its turn, having stored nothing
        other.execute("SELECT pg_advisory_unlock(%s)", [IMPORT_LOCK])
    waiting.join(30)
    first_result = first.import_files([ret("a.csv", body)], "u")
    assert results[0].uploads[0]["upload_id"] == 1
    assert first_result.uploads[0]["duplicate_of"] == 1 and len(first.history()) == 1
    first.close()
    second.close()


def test_an_upload_withdrawn_by_two_processes_at_once_is_withdrawn_once(postgres_server):
    """A withdrawal checks the upload is active, then updates it: when another process withdraws it in between, the
    update finds it withdrawn (PostgreSQL's row lock), says so and records nothing."""
    import threading
    import time

    import psycopg

    url = postgres_server.new_database()
    store = Store(url, CAT)
    store.import_files([ret("q1.csv", b"A1,2018/19 Q1,60,\n")], "u")
    outcome: list = []

    def withdraw() -> None:
        try:
            outcome.append(store.withdraw(1, "second@example.org"))
        except CspdashError as e:
            outcome.append(e)

    with psycopg.connect(**parse_db(url).connect_args()) as other:  # another process, mid-withdrawal
        other.execute("UPDATE uploads SET state = 'withdrawn', withdrawn_by = 'first@example.org' WHERE upload_id = 1")
        racing = threading.Thread(target=withdraw)
        racing.start()
        deadline = time.monotonic() + 30  # until the second withdrawal waits for the first's row lock
        while not other.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                "AND datname = current_database()").fetchone()[0]:
            assert time.monotonic() < deadline and racing.is_alive()
            time.sleep(0.05)
        other.commit()
    racing.join(30)
    assert isinstance(outcome[0], CspdashError) and "already withdrawn" in str(outcome[0])
    assert [e["action"] for e in store.events()] == ["upload"]  # the first process's own event is its to write
    assert store.history()[0]["withdrawn_by"] == "first@example.org"
    store.close()


def test_the_first_freeze_on_postgresql_makes_the_snapshot_tables_once(postgres_server):
    import threading

    import psycopg

    from cspdash.pg import MIGRATION_LOCK

    url = postgres_server.new_database()
    store = Store(url, CAT)
    store.import_files([ret("q1.csv", b"A1,2018/19 Q1,60,\n")], "u")
    frozen: list[int] = []
    with psycopg.connect(**parse_db(url).connect_args(), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])  # another process is making them
        freezing = threading.Thread(target=lambda: frozen.append(snapshots.freeze(store, "2018/19 Q1", "2018-09-12", "u")))
        freezing.start()
        freezing.join(1.5)
        assert freezing.is_alive() and frozen == []  # waits for the other to finish
        other.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])
    freezing.join(60)
    assert frozen == [1] and [s["snapshot_id"] for s in snapshots.list_snapshots(store)] == [1]
    store.close()


def test_require_database_on_postgresql(postgres_server):
    url = postgres_server.new_database()
    with pytest.raises(DatabaseMissing, match=r"holds no cspdash tables.*--db URL init") as e:
        require_database(url)
    assert parse_db(url).password not in str(e.value)
    Store(url, CAT).close()
    require_database(url)  # made: found without looking for a file
    unreachable = parse_db(url)
    unreachable = PostgresTarget(unreachable.user, unreachable.host, 1, unreachable.dbname, unreachable.password)
    with pytest.raises(CspdashError, match=r"cannot connect to the database postgresql://\S+:\*\*\*@127.0.0.1:1/"):
        require_database(unreachable)


def load_demo_returns(db: str) -> str:
    """``db`` with the demo manifest's indicator returns loaded (the entries with ``dataset: null``); returns ``db``."""
    demo = ROOT / "data" / "demo"
    store = Store(db, load_catalogue(ROOT / "indicators.yaml"))
    try:
        for item in yaml.safe_load((demo / "manifest.yaml").read_text(encoding="utf-8")):
            if item.get("dataset") is None:
                store.import_files([SourceFile.from_path(demo / item["file"])], item.get("user") or "demo",
                                   synthetic=bool(item.get("synthetic")))
    finally:
        store.close()
    return db


@pytest.fixture(scope="module")
def demo_returns_pg(postgres_server) -> str:
    """A PostgreSQL database holding the demo's returns (read only by the tests that share it)."""
    return load_demo_returns(postgres_server.new_database())


def statuses_of(db: str) -> dict:
    """Every quarter's statuses, as plain values, of the store on ``db``."""
    store = Store(db, load_catalogue(ROOT / "indicators.yaml"))
    try:
        return {q.label: [(s.indicator, s.rag, s.value, s.complete, s.variation, s.reason) for s in statuses]
                for q, statuses in store.statuses_by_quarter().items()}
    finally:
        store.close()


def test_the_demo_returns_give_the_same_statuses_on_both_engines(tmp_path, demo_returns_pg):
    on_duckdb = statuses_of(load_demo_returns(str(tmp_path / "demo.duckdb")))
    assert len(on_duckdb) > 20 and any(rag == "red" for q in on_duckdb.values() for _i, rag, *_ in q)
    assert statuses_of(demo_returns_pg) == on_duckdb


def test_the_app_serves_a_postgresql_database(demo_returns_pg, monkeypatch):
    from e2e_helpers import app_env
    from streamlit.testing.v1 import AppTest
    from test_pages import _NavigationPages

    from cspdash.status import headline

    store = Store(demo_returns_pg, load_catalogue(ROOT / "indicators.yaml"))
    expected = headline(store.statuses())
    store.close()
    monkeypatch.setattr("streamlit.testing.v1.app_test.PagesManager", _NavigationPages)
    app_env(monkeypatch, demo_returns_pg, ROOT / "indicators.yaml")  # type: ignore[arg-type]  # the URL, as CSPDASH_DB
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120).run()
    assert not at.exception, [e.message for e in at.exception]
    assert [h.value for h in at.header] == [expected]
    at.switch_page(str(ROOT / "pages" / "priority_b.py")).run()  # its cards compare areas: no population yet
    assert not at.exception and not at.error, [e.message for e in at.exception]
