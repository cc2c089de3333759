"""Tests for cspdash.store on DuckDB: schema, atomic imports, history (identical re-upload, withdrawal), commentary,
dry-run previews, record-level extracts, and backup/restore. What both engines share (restatement, withdrawal,
versioned commentary, previews) is tested on each in tests/test_store_engines.py."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from cspdash.backups import restore
from cspdash.config import load_catalogue
from cspdash.errors import CspdashError
from cspdash.ingest import SourceFile, ValidationError
from cspdash.periods import parse_period
from cspdash.store import SCHEMA_VERSION, Store

DATA = Path(__file__).resolve().parent / "data"
CATALOGUE = DATA / "catalogues" / "returns.yaml"
H = b"indicator,period,value,commentary\n"
Q1 = parse_period("2018/19 Q1")
STREET_HEADER = (b"Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
                 b"Last outcome category,Context\n")


@pytest.fixture(scope="module")
def cat():
    return load_catalogue(CATALOGUE)


@pytest.fixture
def store(tmp_path, cat):
    s = Store(tmp_path / "csp.duckdb", cat)
    yield s
    s.close()


def ret(name: str, body: bytes) -> SourceFile:
    return SourceFile(name, H + body)


def status(store: Store, indicator: str, period=Q1):
    return next(s for s in store.statuses(period) if s.indicator == indicator)


def dump(store_or_path) -> dict[str, list]:
    """Every row of every table, ordered: two equal dumps hold the same data."""
    con = duckdb.connect(str(store_or_path), read_only=True) if not isinstance(store_or_path, Store) else store_or_path.cursor()
    try:
        tables = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables "
                                            "WHERE table_schema = 'main' ORDER BY 1").fetchall()]
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables if t != "schema_version"}
    finally:
        if not isinstance(store_or_path, Store):
            con.close()


# --- schema --------------------------------------------------------------------------------------------------------

def test_new_database_has_the_schema(store):
    cur = store.cursor()
    assert cur.execute("SELECT max(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    tables = {t for (t,) in cur.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"uploads", "observations", "commentary", "events", "ds_street_crime", "ds_borough_crime"} <= tables
    assert store.is_empty() and store.history() == [] and store.data_version() == 0


def test_reopening_keeps_the_data_and_migrates_nothing(tmp_path, cat):
    s = Store(tmp_path / "csp.duckdb", cat)
    s.import_files([ret("r.csv", b"A1,2018/19 Q1,95,\n")], "u")
    s.close()
    s = Store(tmp_path / "csp.duckdb", cat)
    try:
        assert len(s.history()) == 1
        assert s.cursor().execute("SELECT count(*) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        s.close()


def test_a_newer_schema_is_refused(tmp_path, cat):
    con = duckdb.connect(str(tmp_path / "new.duckdb"))
    con.execute("CREATE TABLE schema_version (version INTEGER, applied_at TIMESTAMP)")
    con.execute("INSERT INTO schema_version VALUES (?, now())", [SCHEMA_VERSION + 1])
    con.close()
    with pytest.raises(CspdashError, match="newer cspdash"):
        Store(tmp_path / "new.duckdb", cat)


# --- an upload is kept whole ---------------------------------------------------------------------------------------

def test_import_needs_files_and_a_user(store):
    with pytest.raises(CspdashError, match="no files"):
        store.import_files([], "u")
    with pytest.raises(CspdashError, match="who made it"):
        store.import_files([ret("r.csv", b"A1,2018/19 Q1,95,\n")], "")
    with pytest.raises(CspdashError, match="no dataset named 'nope'"):
        store.import_files([ret("r.csv", b"A1,2018/19 Q1,95,\n")], "u", "nope")


def test_values_go_in_as_parameters(store):
    evil = "x'); DROP TABLE uploads; --"
    store.import_files([ret(f"{evil}.csv", f'A1,2018/19 Q1,95,"{evil}"\n'.encode())], evil)
    assert store.history()[0]["user"] == evil and store.commentary("A1")[0]["text"] == evil


# --- restatement, identical re-upload, withdrawal -----------------------------------------------------------------

def test_identical_reupload_changes_nothing(store):
    body = b"A1,2018/19 Q1,95,\n"
    store.import_files([ret("q1.csv", body)], "u")
    before = dump(store)
    res = store.import_files([ret("q1 (copy).csv", body)], "someone-else")
    assert res.uploads == [{"file_name": "q1 (copy).csv", "sha256": hashlib.sha256(H + body).hexdigest(), "upload_id": None,
                            "duplicate_of": 1, "rows": 0, "message": "identical to an earlier upload; nothing changed"}]
    assert res.changes == []
    assert dump(store) == before


def test_identical_files_in_one_import_are_stored_once(store):
    body = b"A1,2018/19 Q1,95,\n"
    res = store.import_files([ret("a.csv", body), ret("b.csv", body)], "u")
    by_name = {u["file_name"]: u for u in res.uploads}
    assert (by_name["a.csv"]["upload_id"], by_name["b.csv"]["upload_id"], by_name["b.csv"]["duplicate_of"]) == (
        1, None, "a.csv")
    assert len(store.history()) == 1


def test_withdrawing_the_only_figure_leaves_no_data(store):
    store.import_files([ret("q1.csv", b"A1,2018/19 Q1,95,\n")], "u")
    store.withdraw(1, "u")
    assert status(store, "A1").rag == "no_data" and status(store, "A1").value is None


def test_a_withdrawn_file_can_be_uploaded_again(store):
    body = b"A1,2018/19 Q1,95,\n"
    store.import_files([ret("q1.csv", body)], "u")
    store.withdraw(1, "u")
    res = store.import_files([ret("q1.csv", body)], "u")
    assert res.uploads[0]["upload_id"] == 2 and status(store, "A1").value == 95.0


@pytest.mark.parametrize(("upload_id", "words"), [(99, "there is no upload 99"), (1, "already withdrawn")])
def test_withdraw_errors(store, upload_id, words):
    store.import_files([ret("q1.csv", b"A1,2018/19 Q1,95,\n")], "u")
    store.withdraw(1, "u")
    with pytest.raises(CspdashError, match=words):
        store.withdraw(upload_id, "u")


def test_withdrawn_dataset_upload_stops_counting(store):
    street = (STREET_HEADER + b"a,2018-04,P,P,,,X,E1,L,Burglary,,\nb,2018-05,P,P,,,X,E1,L,Burglary,,\n"
              b",2018-06,P,P,,,X,E1,L,Anti-social behaviour,,\n")
    store.import_files([SourceFile("street.csv", street)], "u", "street_crime")
    assert status(store, "C1").value == 2.0 and status(store, "C1").complete
    store.withdraw(1, "u")
    assert status(store, "C1").value is None
    assert store.cursor().execute("SELECT count(*) FROM ds_street_crime").fetchone()[0] == 3  # kept


# --- commentary ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("indicator", "text", "words"), [
    ("Z9", "x", "unknown indicator"), ("A1", "   ", "empty"), ("A1", "x" * 4001, "longer than 4,000"),
])
def test_typed_commentary_errors(store, indicator, text, words):
    with pytest.raises(CspdashError, match=words):
        store.add_commentary(indicator, Q1, text, "u")
    assert store.is_empty()


def test_commentary_without_a_value(store):
    store.import_files([ret("c.csv", b"A1,2018/19 Q1,,Figure delayed: system migration\n")], "u")
    assert store.commentary("A1")[0]["text"] == "Figure delayed: system migration"
    assert store.series("A1") == []


# --- dry run -----------------------------------------------------------------------------------------------------

def test_dry_run_of_monthly_figures_previews_the_quarter(store):
    store.import_files([ret("m.csv", b"A2,2018-04,10,\nA2,2018-05,10,\n")], "u")
    res = store.import_files([ret("m2.csv", b"A2,2018-06,10,\n")], "u", dry_run=True)
    (c,) = res.changes
    assert (c.indicator, c.period, c.old_value, c.new_value, c.old_rag, c.new_rag) == (
        "A2", "2018/19 Q1", 20.0, 30.0, "no_data", "monitor")


def test_dry_run_of_a_bad_file_is_refused_the_same_way(store):
    with pytest.raises(ValidationError):
        store.import_files([ret("bad.csv", b"A1,2018/19 Q1,x,\n")], "u", dry_run=True)


def test_dry_run_of_a_dataset_stores_nothing(store):
    street = STREET_HEADER + b"a,2018-04,P,P,,,X,E1,L,Burglary,,\n"
    res = store.import_files([SourceFile("street.csv", street)], "u", "street_crime", dry_run=True)
    assert [(c.indicator, c.period, c.new_value) for c in res.changes] == [("C1", "2018/19 Q1", 1.0)]
    assert store.is_empty() and store.cursor().execute("SELECT count(*) FROM ds_street_crime").fetchone()[0] == 0


# --- backup and restore ----------------------------------------------------------------------------------------------

def filled(store: Store) -> None:
    store.import_files([ret("q1.csv", b"A1,2018/19 Q1,95,first\nA2,2018-04,3,\n")], "a@example.org")
    store.import_files([ret("q1-restated.csv", b"A1,2018/19 Q1,120,second\n")], "b@example.org")
    store.import_files([SourceFile("pct.csv", b"indicator,period,numerator,denominator\nB1,2018/19 Q1,45,60\n")], "c")
    street = STREET_HEADER + b"a,2018-04,P,P,-0.1,51.5,X,E1,L,Burglary,,\n"
    store.import_files([SourceFile("street.csv", street)], "d", "street_crime")
    store.add_commentary("B1", Q1, "Typed note", "e")
    store.withdraw(2, "f", "wrong")


def test_backup_and_restore_round_trip(tmp_path, cat):
    s = Store(tmp_path / "csp.duckdb", cat)
    filled(s)
    original = dump(s)
    statuses = [x.as_dict() for x in s.statuses(Q1)]
    backup = s.backup(tmp_path / "backups" / "csp-backup.duckdb")
    s.import_files([ret("after.csv", b"A1,2018/19 Q2,1,\n")], "late")  # not in the backup
    s.close()
    assert dump(backup) == original

    kept = restore(backup, tmp_path / "csp.duckdb", cat)
    assert kept is not None and kept.exists() and kept.name.startswith("csp.duckdb.before-restore-")
    s = Store(tmp_path / "csp.duckdb", cat)
    try:
        assert dump(s) == original
        assert [x.as_dict() for x in s.statuses(Q1)] == statuses
        assert s.upload_content(1)[1] == H + b"A1,2018/19 Q1,95,first\nA2,2018-04,3,\n"
        # the id sequences came back too: the next upload does not collide
        res = s.import_files([ret("next.csv", b"A1,2018/19 Q3,1,\n")], "u")
        assert res.uploads[0]["upload_id"] == 6
    finally:
        s.close()


def test_restore_into_a_new_path(tmp_path, cat):
    s = Store(tmp_path / "csp.duckdb", cat)
    filled(s)
    original = dump(s)
    s.backup(tmp_path / "b.duckdb")
    s.close()
    assert restore(tmp_path / "b.duckdb", tmp_path / "new" / "csp.duckdb", cat) is None
    assert dump(tmp_path / "new" / "csp.duckdb") == original


def test_backup_will_not_overwrite(store, tmp_path):
    (tmp_path / "exists.duckdb").write_bytes(b"x")
    with pytest.raises(CspdashError, match="already exists"):
        store.backup(tmp_path / "exists.duckdb")


def test_restore_refuses_what_is_not_a_backup(tmp_path, cat):
    (tmp_path / "notes.duckdb").write_bytes(b"not a database")
    duckdb.connect(str(tmp_path / "other.duckdb")).close()
    target = tmp_path / "csp.duckdb"
    target.write_bytes(b"current")
    for bad, words in [(tmp_path / "missing.duckdb", "does not exist"), (tmp_path / "notes.duckdb", "not a cspdash backup"),
                       (tmp_path / "other.duckdb", "not a cspdash backup")]:
        with pytest.raises(CspdashError, match=words):
            restore(bad, target, cat)
    assert target.read_bytes() == b"current"


# --- a reader elsewhere does not turn a committed write into an error -------------------------------------------

def test_writes_succeed_while_another_session_is_reading(store, tmp_path):
    import threading

    store.import_files([ret("q1.csv", b"A1,2018/19 Q1,95,\n")], "u")
    reading, done = threading.Event(), threading.Event()

    def another_session() -> None:  # a page in another browser session, its read transaction still open
        cur = store.cursor()
        cur.execute("BEGIN TRANSACTION")
        cur.execute("SELECT count(*) FROM uploads").fetchall()
        reading.set()
        done.wait(30)
        cur.execute("ROLLBACK")

    t = threading.Thread(target=another_session)
    t.start()
    try:
        assert reading.wait(30)
        res = store.import_files([ret("q2.csv", b"A1,2018/19 Q2,80,\n")], "u")
        assert res.uploads[0]["upload_id"] == 2
        assert store.withdraw(1, "u")["state"] == "withdrawn"
        assert store.add_commentary("A1", Q1, "note", "u") == 3
        store.backup(tmp_path / "b.duckdb")
    finally:
        done.set()
        t.join(30)
    assert [(h["upload_id"], h["state"]) for h in store.history()] == [(3, "active"), (2, "active"), (1, "withdrawn")]
    assert dump(tmp_path / "b.duckdb") == dump(store)


# --- large originals are kept beside the database ------------------------------------------------------------------

STREET_ROW = b"a,2018-04,P,P,-0.1,51.5,X,E1,L,Burglary,,\n"


@pytest.fixture
def outside(monkeypatch):
    """Every upload counts as large: its original goes to uploads/<sha256> beside the database."""
    monkeypatch.setattr("cspdash.originals.INLINE_ORIGINAL_BYTES", 0)


def street_file(tmp_path: Path, name: str = "street.csv", rows: int = 3) -> Path:
    path = tmp_path / "incoming" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(STREET_HEADER + STREET_ROW * rows)
    return path


def content_column(store: Store, upload_id: int) -> bytes | None:
    return store.cursor().execute("SELECT content FROM uploads WHERE upload_id = ?", [upload_id]).fetchone()[0]


def test_a_large_original_is_a_file_named_by_its_sha256(store, tmp_path, outside):
    path = street_file(tmp_path)
    body = path.read_bytes()
    store.import_files([SourceFile.from_path(path)], "u", "street_crime")
    store.import_files([ret("q1.csv", b"A1,2018/19 Q1,95,\n")], "u")  # bytes from a browser upload, too
    sha = hashlib.sha256(body).hexdigest()
    assert (tmp_path / "uploads" / sha).read_bytes() == body
    assert content_column(store, 1) is None and content_column(store, 2) is None
    assert store.upload_content(1) == ("street.csv", body)
    assert store.upload_content(2) == ("q1.csv", H + b"A1,2018/19 Q1,95,\n")
    assert store.history()[1]["sha256"] == sha and store.history()[1]["size_bytes"] == len(body)
    assert not [p for p in (tmp_path / "uploads").iterdir() if p.name.startswith(".")]  # no half-written file left


def test_small_originals_and_memory_stores_keep_the_bytes_in_the_row(store, cat):
    store.import_files([ret("q1.csv", b"A1,2018/19 Q1,95,\n")], "u")
    assert content_column(store, 1) == H + b"A1,2018/19 Q1,95,\n"
    mem = Store(":memory:", cat)
    try:
        assert mem.originals is None
    finally:
        mem.close()


def test_a_dry_run_or_a_refused_file_keeps_no_original(store, tmp_path, outside):
    store.import_files([SourceFile.from_path(street_file(tmp_path))], "u", "street_crime", dry_run=True)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(STREET_HEADER + b"a,2018-13,P,P,-0.1,51.5,X,E1,L,Burglary,,\n")
    with pytest.raises(ValidationError, match="not a month"):
        store.import_files([SourceFile.from_path(bad)], "u", "street_crime")
    assert not (tmp_path / "uploads").exists() and store.is_empty()


def test_a_missing_or_changed_original_is_named_with_its_fix(store, tmp_path, outside):
    path = street_file(tmp_path)
    store.import_files([SourceFile.from_path(path)], "u", "street_crime")
    kept = tmp_path / "uploads" / hashlib.sha256(path.read_bytes()).hexdigest()
    kept.write_bytes(b"tampered")
    with pytest.raises(CspdashError, match=r"original of upload 1 \(street.csv\) .* has been changed"):
        store.upload_content(1)
    kept.unlink()
    with pytest.raises(CspdashError, match=r"original of upload 1 \(street.csv\) is missing.*Fix: copy that file back"):
        store.upload_content(1)
    with pytest.raises(CspdashError, match="is missing"):
        store.backup(tmp_path / "b.duckdb")
    assert not (tmp_path / "b.duckdb").exists()  # no half backup left behind


def test_an_identical_file_reuses_the_kept_original(store, tmp_path, outside):
    path = street_file(tmp_path)
    store.import_files([SourceFile.from_path(path)], "u", "street_crime")
    store.withdraw(1, "u")
    store.import_files([SourceFile.from_path(path)], "u", "street_crime")  # stored again, as a new upload
    assert [h["upload_id"] for h in store.history()] == [2, 1]
    assert len(list((tmp_path / "uploads").iterdir())) == 1
    assert store.upload_content(2)[1] == store.upload_content(1)[1] == path.read_bytes()


def test_a_backup_holds_every_original_and_restores_anywhere(tmp_path, cat, outside):
    s = Store(tmp_path / "live" / "csp.duckdb", cat)
    path = street_file(tmp_path)
    s.import_files([SourceFile.from_path(path)], "u", "street_crime")
    s.import_files([ret("q1.csv", b"A1,2018/19 Q1,95,\n")], "u")
    backup = s.backup(tmp_path / "backups" / "b.duckdb")
    s.close()
    con = duckdb.connect(str(backup), read_only=True)
    try:  # one self-contained file: the originals are in it
        assert con.execute("SELECT upload_id, content FROM uploads ORDER BY 1").fetchall() == [
            (1, path.read_bytes()), (2, H + b"A1,2018/19 Q1,95,\n")]
    finally:
        con.close()
    assert not (tmp_path / "backups" / "uploads").exists()
    restore(backup, tmp_path / "elsewhere" / "csp.duckdb", cat)
    s = Store(tmp_path / "elsewhere" / "csp.duckdb", cat)
    try:
        assert s.upload_content(1) == ("street.csv", path.read_bytes())
    finally:
        s.close()


def test_restoring_a_copied_database_brings_or_needs_its_originals(tmp_path, cat, outside):
    s = Store(tmp_path / "live" / "csp.duckdb", cat)
    path = street_file(tmp_path)
    s.import_files([SourceFile.from_path(path)], "u", "street_crime")
    s.close()
    (tmp_path / "copy").mkdir()
    copied = tmp_path / "copy" / "csp.duckdb"
    copied.write_bytes((tmp_path / "live" / "csp.duckdb").read_bytes())  # a file copied by hand, not `backup`
    target = tmp_path / "new" / "csp.duckdb"
    with pytest.raises(CspdashError, match=r"refers to original files kept beside it .*upload 1 \(street.csv\).*Fix"):
        restore(copied, target, cat)
    assert not target.exists()
    (tmp_path / "copy" / "uploads").mkdir()
    for f in (tmp_path / "live" / "uploads").iterdir():
        (tmp_path / "copy" / "uploads" / f.name).write_bytes(f.read_bytes())
    restore(copied, target, cat)
    s = Store(target, cat)
    try:
        assert s.upload_content(1)[1] == path.read_bytes()
    finally:
        s.close()


# --- a large extract is read as the whole-file dialect check would read it -----------------------------------------

@pytest.mark.parametrize("late, expected", [
    # an unclosed quote far beyond DuckDB's sample of the first rows: refused, not swallowed into one cell
    (b'b,2018-04,P,P,-0.1,51.5,"X,E1,L,Burglary,,\n', "the file cannot be read as CSV"),
    # a backslash escape far beyond the sample: read with the escape, as a whole-file sniff finds it
    (b'b,2018-04,P,P,-0.1,51.5,"X\\"Y",E1,L,Burglary,,\n', 'X"Y'),
])
def test_a_late_dialect_change_is_seen(store, tmp_path, outside, late, expected):
    path = tmp_path / "late.csv"
    path.write_bytes(STREET_HEADER + STREET_ROW * 30000 + late + STREET_ROW * 10)
    if expected.startswith("the file"):
        with pytest.raises(ValidationError, match=expected):
            store.import_files([SourceFile.from_path(path)], "u", "street_crime")
        return
    store.import_files([SourceFile.from_path(path)], "u", "street_crime")
    assert store.cursor().execute("SELECT location FROM ds_street_crime WHERE source_row = 30002").fetchone()[0] == expected


def test_statuses_by_quarter_are_the_statuses_of_each_quarter(tmp_path_factory):
    from e2e_helpers import demo_copy
    from tests_config import CONFIG

    s = Store(demo_copy(tmp_path_factory, "by-quarter"), load_catalogue(CONFIG))
    try:
        quarters = list(s.quarter_coverage())
        by_q = s.statuses_by_quarter()
        assert list(by_q) == quarters and len(quarters) > 8
        for q in (quarters[0], quarters[len(quarters) // 2], quarters[-1]):
            assert by_q[q] == s.statuses(q)
    finally:
        s.close()


# --- a large extract is read once, straight into its table (cspdash.extracts.load) ------------------------------------

CITY = Path(__file__).parent / "data" / "police-uk-city-of-london"


@pytest.fixture
def project_cat():
    """The project's catalogue: its range of periods holds the City of London files' months."""
    from tests_config import CONFIG

    return load_catalogue(CONFIG)


def city_of_london(path: Path, variant: bytes = b"", at: int = 3000) -> Path:
    """The 12 real police.uk files of tests/data as one file (6,421 records), with ``variant`` as record ``at``."""
    rows = [ln for f in sorted(CITY.glob("*.csv")) for ln in f.read_bytes().splitlines(keepends=True)[1:]]
    path.write_bytes(STREET_HEADER + b"".join(rows[:at]) + variant + b"".join(rows[at:]))
    return path


def stored(store: Store) -> tuple[list, list, list]:
    """(records in stored order, with their row in the file; figures; uploads) of a store."""
    cur = store.cursor()
    records = cur.execute(
        "SELECT coalesce(source_row, row_number() OVER (PARTITION BY upload_id ORDER BY rowid) + 1), "
        "* EXCLUDE (source_row, upload_id) FROM ds_street_crime ORDER BY rowid").fetchall()
    figures = cur.execute("SELECT indicator, period, area, value FROM observations ORDER BY ALL").fetchall()
    uploads = cur.execute("SELECT file_name, sha256, size_bytes, rows FROM uploads ORDER BY upload_id").fetchall()
    return records, figures, uploads


def import_into_a_file_store(path: Path, cat, tmp_path: Path) -> tuple[object, int, Path]:
    """Import ``path`` into a database file (its original kept outside): (what it stored, or the problems it raised;
    how many records were stored in file order without their row; the originals folder)."""
    db = tmp_path / "store" / "csp.duckdb"
    db.parent.mkdir()
    s = Store(db, cat)
    try:
        try:
            s.import_files([SourceFile.from_path(path)], "analyst@example.org", "street_crime")
        except ValidationError as e:
            assert s.is_empty()
            return [(p.row, p.column, p.value, p.message) for p in e.problems], 0, db.parent / "uploads"
        in_order = s.cursor().execute("SELECT count(*) FROM ds_street_crime WHERE source_row IS NULL").fetchone()[0]
        return stored(s), in_order, db.parent / "uploads"
    finally:
        s.close()


def test_a_large_extract_is_read_once_in_file_order_and_its_original_kept(tmp_path, project_cat, outside):
    path = city_of_london(tmp_path / "city.csv")
    result, in_order, originals = import_into_a_file_store(path, project_cat, tmp_path)
    assert in_order == 6421  # read once: stored in file order, rows numbered by position
    records, figures, uploads = result
    # less Tower Hamlets' 12 months: a City of London Police file alone never gives the partnership's own figure
    assert len(records) == 6421 and len(figures) == 82 - 12
    assert records[0][:2] == (2, "ad90a432222310fc92f79b7f76c85c1b487872ac6731ed0f90fe2abadf33c1a2")
    assert uploads == [("city.csv", hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_size, 6421)]
    assert [f.name for f in originals.iterdir()] == [hashlib.sha256(path.read_bytes()).hexdigest()]


@pytest.mark.parametrize("variant, location, context", [
    (b"b,2014-12,P,P,-0.1,51.5, X ,E1,City of London 001A,Burglary,,\n", "X", None),  # spaces trimmed
    (b'b,2014-12,P,P,-0.1,51.5,"X, Y",E1,City of London 001A,Burglary,,\n', "X, Y", None),  # a quoted comma
    (b'"b","2014-12","P","P","-0.1","51.5","X ""Y""","E1","City of London 001A","Burglary","",""\n',
     'X "Y"', None),  # every cell quoted as RFC 4180 allows, "" for an empty cell
    (b'b,2014-12,P,P,-0.1,51.5," X ",E1,City of London 001A,Burglary,,\n', "X", None),  # quoted spaces trimmed
    (b'b,2014-12,P,P,-0.1,51.5,"X\\"Y",E1,City of London 001A,Burglary,,\n', None, None),  # a backslash escape
    ("b,2014-12,P,P,-0.1,51.5,Café,E1,City of London 001A,Burglary,,\n".encode(), "Café", None),  # UTF-8
    ("b,2014-12,P,P,-0.1,51.5,Café,E1,City of London 001A,Burglary,,\n".encode("cp1252"), "Café", None),  # Windows-1252
    (b"b,2014-12,P,P,-0.1,51.5,X,E1,City of London 001A,Burglary\n", "X", None),  # a short row: padded
    (b"b,2014-12,P,P,-0.1,51.5,X,E1,City of London 001A,Burglary,, \n", "X", None),  # a cell of spaces: empty
])
def test_a_large_extract_that_is_not_plain_is_stored_as_read(tmp_path, project_cat, outside, variant, location,
                                                              context):
    path = city_of_london(tmp_path / "odd.csv", variant)
    result, _in_order, originals = import_into_a_file_store(path, project_cat, tmp_path)
    assert isinstance(result, tuple), result
    records, _figures, uploads = result
    assert len(records) == 6422 and uploads[0][3] == 6422
    assert records[3000][0] == 3002 and records[3000][1] == "b"  # the record in its place, numbered by its row
    if location is not None:
        assert (records[3000][7], records[3000][12]) == (location, context)
    assert [f.name for f in originals.iterdir()] == [hashlib.sha256(path.read_bytes()).hexdigest()]


@pytest.mark.parametrize("variant, problem", [
    (b'b,2014-12,P,P,-0.1,51.5,"X\nY",E1,City of London 001A,Burglary,,\n', (None, None, None)),  # a quoted line break
    (b"b,2014-12,P,P,west,51.5,X,E1,City of London 001A,Burglary,,\n", (3002, "longitude", "west", "not a number")),
    (b"b,2014-13,P,P,-0.1,51.5,X,E1,City of London 001A,Burglary,,\n",
     (3002, "month", "2014-13", "not a month in the form YYYY-MM")),
    (b"b,1999-01,P,P,-0.1,51.5,X,E1,City of London 001A,Burglary,,\n",
     (3002, "month", "1999-01", "outside the catalogue's range of periods")),
    (b"b,2014-12,P,P,-0.1,51.5,X,E1,City of London 001A,,,\n", (3002, "crime_type", "", "the cell is empty")),
    (b"b,2014-12,P,P,-0.1,51.5,X,E1,L,Burglary,," + b"," * 2000 + b"\n",
     (3002, None, None, "the line has more than 1,000 cells; a record-level file has at most 1,000 columns")),
    (b'b,2014-12,P,P,-0.1,51.5,"X,E1,L,Burglary,,\n', (None, None, None)),  # an unclosed quote
])
def test_a_large_extract_with_a_problem_is_refused_naming_it(tmp_path, project_cat, outside, variant, problem):
    path = city_of_london(tmp_path / "odd.csv", variant)
    result, _in_order, originals = import_into_a_file_store(path, project_cat, tmp_path)
    assert isinstance(result, list) and result and not originals.exists()
    assert result[0][:len(problem)] == problem if problem[0] is not None else result[0][0] is None, result


def test_a_large_extract_mixing_two_encodings_is_refused_naming_the_cell(tmp_path, project_cat, outside):
    cp1252 = "b,2014-12,P,P,-0.1,51.5,Café,E1,City of London 001A,Burglary,,\n".encode("cp1252")
    utf8 = "c,2014-12,P,P,-0.1,51.5,Café,E1,City of London 001A,Burglary,,\n".encode()
    path = city_of_london(tmp_path / "mixed.csv", cp1252 + utf8)
    result, _in_order, originals = import_into_a_file_store(path, project_cat, tmp_path)
    assert isinstance(result, list) and not originals.exists()
    row, column, value, message = result[0]
    assert (row, column, value) == (3002, "Location", "Café") and "mixes two text encodings" in message


# --- a browser upload (bytes) is spooled to a file and takes the same path; a dry run reads once too -----------------

def test_an_upload_held_as_bytes_is_spooled_to_a_file_removed_afterwards():
    upload = SourceFile("../x/street.csv", data=STREET_HEADER + STREET_ROW)
    with upload.on_disk() as spooled:
        assert spooled.path is not None and spooled.path.read_bytes() == upload.data
        assert (spooled.display_name, spooled.size, spooled.sha256()) == ("street.csv", upload.size, upload.sha256())
        folder = spooled.path.parent
    assert not folder.exists()
    on_disk = SourceFile.from_path(Path(__file__))
    with on_disk.on_disk() as same:
        assert same is on_disk


def read_once(store: Store) -> int:
    """How many records were read once (stored in file order, without their row)."""
    return store.cursor().execute("SELECT count(*) FROM ds_street_crime WHERE source_row IS NULL").fetchone()[0]


def test_a_browser_upload_of_a_large_extract_is_read_once_as_the_same_file_from_the_cli(tmp_path, project_cat, outside):
    path = city_of_london(tmp_path / "city.csv")
    stores = []
    for name, src in (("cli", SourceFile.from_path(path)), ("browser", SourceFile("city.csv", data=path.read_bytes()))):
        (tmp_path / name).mkdir()
        s = Store(tmp_path / name / "csp.duckdb", project_cat)
        try:
            s.import_files([src], "analyst@example.org", "street_crime")
            assert read_once(s) == 6421
            stores.append(stored(s))
        finally:
            s.close()
    assert stores[0] == stores[1]
    assert [f.name for f in (tmp_path / "browser" / "uploads").iterdir()] == [hashlib.sha256(path.read_bytes()).hexdigest()]


def test_a_dry_run_of_a_large_extract_previews_what_the_import_stores_and_stores_nothing(tmp_path, project_cat, outside):
    path = city_of_london(tmp_path / "city.csv")
    s = Store(tmp_path / "csp.duckdb", project_cat)
    try:
        preview = s.import_files([SourceFile("city.csv", data=path.read_bytes())], "analyst@example.org",
                                 "street_crime", dry_run=True)
        assert s.is_empty() and not (tmp_path / "uploads").exists()
        result = s.import_files([SourceFile.from_path(path)], "analyst@example.org", "street_crime")
        assert read_once(s) == 6421
        assert result.uploads[0]["upload_id"] == 1  # the dry run took no id
        assert preview.dry_run and not result.dry_run
        assert ([{**u, "upload_id": None} for u in result.uploads], result.changes, result.warnings) == (
            preview.uploads, preview.changes, preview.warnings)
    finally:
        s.close()
