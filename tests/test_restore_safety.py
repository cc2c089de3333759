"""Restore brings back data, never code (issue 13, item 2).

A backup is a DuckDB file, and a DuckDB file can hold views, macros, sequences, types and tables of any shape. Each
doctored backup here is a real backup changed with duckdb in the test: restore must refuse it naming what it holds,
and the live database file must keep every byte. A clean backup is copied table by table into a new file swapped in
by one rename: a kill during the copy, a write that fails, or another process holding the database leaves the live
database as it was.
"""

from __future__ import annotations

import hashlib
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from tests_config import ROOT

from cspdash import backups
from cspdash.backups import expected_schema, read_schema, restore
from cspdash.config import load_catalogue
from cspdash.errors import CspdashError
from cspdash.ingest import SourceFile
from cspdash.store import MIGRATIONS, SCHEMA_VERSION, SCHEMA_VERSION_TABLE, Store

CATALOGUE = ROOT / "tests" / "data" / "catalogues" / "returns.yaml"
H = b"indicator,period,value,commentary\n"
STREET = (b"Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
          b"Last outcome category,Context\n" + b"a,2018-04,P,P,-0.1,51.5,X,E1,L,Burglary,,\n")


@pytest.fixture(scope="module")
def cat():
    return load_catalogue(CATALOGUE)


def fill(store: Store) -> None:
    store.import_files([SourceFile("q1.csv", H + b"A1,2018/19 Q1,95,first\nA2,2018-04,3,\n")], "a@example.org")
    store.import_files([SourceFile("street.csv", STREET)], "d", "street_crime")
    store.add_commentary("A1", store.latest_complete_quarter() or _q1(), "Typed note", "e")


def _q1():
    from cspdash.periods import parse_period
    return parse_period("2018/19 Q1")


@pytest.fixture
def live(tmp_path, cat) -> Path:
    """A live database, and a clean backup of it at ``tmp_path/clean.duckdb`` (made before one more upload)."""
    db = tmp_path / "live" / "csp.duckdb"
    s = Store(db, cat)
    try:
        fill(s)
        s.backup(tmp_path / "clean.duckdb")
        s.import_files([SourceFile("later.csv", H + b"A1,2018/19 Q2,7,\n")], "late")  # not in the backup
    finally:
        s.close()
    return db


def fingerprint(folder: Path) -> dict[str, str]:
    """SHA-256 of every file in ``folder`` (recursively): a refused restore changes none and adds none."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def doctor(backup: Path, *statements: str) -> Path:
    """Run ``statements`` against the backup file, as someone who could change it would."""
    con = duckdb.connect(str(backup))
    try:
        for sql in statements:
            con.execute(sql)
    finally:
        con.close()
    return backup


def rows(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# --- doctored backups are refused, naming what they hold, and the live database keeps every byte ------------------

DOCTORED = [
    ("a view reading /etc/passwd in place of uploads",
     ["DROP TABLE uploads",
      "CREATE VIEW uploads AS SELECT 1 AS upload_id, 'return' AS kind, NULL AS dataset, column0 AS file_name, "
      "'' AS sha256, 0 AS size_bytes, NULL::BLOB AS content, 'x' AS user_name, now()::TIMESTAMP AS uploaded_at, "
      "0 AS rows, 'active' AS state, NULL::TIMESTAMP AS withdrawn_at, NULL AS withdrawn_by, NULL AS withdraw_reason, "
      "NULL AS note FROM read_csv('/etc/passwd', header = false, columns = {'column0': 'VARCHAR'})"],
     ["view uploads", "table uploads is missing"]),
    ("a macro named lower", ["CREATE MACRO lower(x) AS 'pwned'"], ["macro lower"]),
    ("a macro named list_contains", ["CREATE MACRO list_contains(l, x) AS true"], ["macro list_contains"]),
    ("a table macro", ["CREATE MACRO everything() AS TABLE SELECT * FROM uploads"], ["table macro everything"]),
    ("an extra table", ["CREATE TABLE notes (x VARCHAR)", "INSERT INTO notes VALUES ('hello')"], ["table notes"]),
    ("a sequence", ["CREATE SEQUENCE evil_seq START 7"], ["sequence evil_seq"]),
    ("an extra column", ["ALTER TABLE users ADD COLUMN shell VARCHAR"], ["table users: column shell (VARCHAR)"]),
    ("a column of another type", ["ALTER TABLE commentary ALTER COLUMN source_row TYPE VARCHAR"],
     ["table commentary: column source_row is VARCHAR, expected BIGINT"]),
    ("a dropped core table", ["DROP TABLE events"], ["table events is missing"]),
    ("a dataset the catalogue does not declare", ["CREATE TABLE ds_secrets (upload_id INTEGER, x VARCHAR)"],
     ["table ds_secrets (the catalogue declares no dataset 'secrets')"]),
    ("a dataset table with another column", ["ALTER TABLE ds_street_crime ADD COLUMN payload VARCHAR"],
     ["table ds_street_crime: column payload (VARCHAR)"]),
    ("a type", ["CREATE TYPE mood AS ENUM ('sad', 'ok')"], ["type mood"]),
    ("a schema", ["CREATE SCHEMA other", "CREATE TABLE other.t (x INTEGER)"], ["schema other", "table other.t"]),
    ("an index of its own", ["CREATE INDEX by_user ON uploads (user_name)"], ["index by_user on uploads"]),
]


@pytest.mark.parametrize("statements, names", [(s, n) for _, s, n in DOCTORED], ids=[d[0] for d in DOCTORED])
def test_a_doctored_backup_is_refused_naming_what_it_holds(live, tmp_path, cat, statements, names):
    backup = doctor(tmp_path / "clean.duckdb", *statements)
    before = fingerprint(live.parent)
    with pytest.raises(CspdashError) as refused:
        restore(backup, live, cat)
    message = str(refused.value)
    for name in names:
        assert name in message, message
    assert "Nothing was changed" in message
    assert fingerprint(live.parent) == before  # not a byte changed, no file added (no .part, no kept copy)


def test_the_cli_refuses_a_doctored_backup_in_one_line(live, tmp_path):
    backup = doctor(tmp_path / "clean.duckdb", DOCTORED[0][1][0], DOCTORED[0][1][1], "CREATE MACRO lower(x) AS 'pwned'")
    before = fingerprint(live.parent)
    done = subprocess.run([sys.executable, "-m", "cspdash", "--db", str(live), "--config", str(CATALOGUE), "restore",
                           str(backup)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 1, done
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert "view uploads" in done.stderr and "macro lower" in done.stderr
    assert "root:" not in done.stderr + done.stdout  # the password file was never read
    assert fingerprint(live.parent) == before


def test_a_newer_or_missing_schema_version_is_refused(live, tmp_path, cat):
    before = fingerprint(live.parent)
    backup = doctor(tmp_path / "clean.duckdb", f"INSERT INTO schema_version VALUES ({SCHEMA_VERSION + 97}, NULL)")
    with pytest.raises(CspdashError, match=f"schema version {SCHEMA_VERSION + 97}"):
        restore(backup, live, cat)
    doctor(backup, "DELETE FROM schema_version")
    with pytest.raises(CspdashError, match="schema version None"):
        restore(backup, live, cat)
    assert fingerprint(live.parent) == before


# --- a clean backup: data only, into a new file -------------------------------------------------------------------

def test_a_clean_backup_restores_exactly_the_expected_schema(live, tmp_path, cat):
    backup = tmp_path / "clean.duckdb"
    want = rows(backup, "SELECT upload_id, file_name, content FROM uploads ORDER BY 1")
    kept = restore(backup, live, cat)
    assert kept is not None and rows(kept, "SELECT count(*) FROM uploads") == [(4,)]  # the replaced one, whole
    assert rows(live, "SELECT upload_id, file_name, content FROM uploads ORDER BY 1") == want
    con = duckdb.connect(str(live), read_only=True)
    try:
        got = read_schema(con)
    finally:
        con.close()
    expected = expected_schema(SCHEMA_VERSION, cat)
    assert got.other == ()
    assert set(got.tables) == set(expected.tables) - {"snapshots", "snapshot_items"}  # no pack was frozen
    assert all(got.tables[t] == expected.tables[t] for t in got.tables)
    assert set(got.sequences) == {"upload_seq", "event_seq"} and got.indexes == expected.indexes
    assert not list(live.parent.glob(".*.part*"))
    s = Store(live, cat)
    try:  # the ids continue after the backup's: the next upload is 4, as it would have been
        assert s.import_files([SourceFile("next.csv", H + b"A1,2018/19 Q3,1,\n")], "u").uploads[0]["upload_id"] == 4
    finally:
        s.close()


def test_each_replaced_database_is_kept(live, tmp_path, cat):
    first = restore(tmp_path / "clean.duckdb", live, cat)
    second = restore(tmp_path / "clean.duckdb", live, cat)  # within the same second, often
    assert first != second and first.exists() and second.exists()
    assert rows(first, "SELECT count(*) FROM uploads") == [(4,)] and rows(second, "SELECT count(*) FROM uploads") == [(3,)]


def test_a_backup_of_schema_version_1_is_restored_and_upgraded(tmp_path, cat):
    old = tmp_path / "v1.duckdb"
    con = duckdb.connect(str(old))
    try:
        con.execute(SCHEMA_VERSION_TABLE)
        for stmt in MIGRATIONS[1]:
            con.execute(stmt)
        con.execute("INSERT INTO schema_version VALUES (1, now()::TIMESTAMP)")
        con.execute("INSERT INTO uploads (upload_id, kind, file_name, sha256, size_bytes, content, user_name, "
                    "uploaded_at, rows, state) VALUES (4, 'return', 'old.csv', 'abc', 3, 'a,b'::BLOB, 'u', "
                    "now()::TIMESTAMP, 0, 'active')")
        con.execute("SELECT nextval('upload_seq') FROM range(4)")
    finally:
        con.close()
    target = tmp_path / "new" / "csp.duckdb"
    assert restore(old, target, cat) is None
    assert rows(target, "SELECT version FROM schema_version ORDER BY 1") == [(v,) for v in range(1, SCHEMA_VERSION + 1)]
    s = Store(target, cat)
    try:
        assert s.upload_content(4) == ("old.csv", b"a,b") and not s.has_accounts()
        assert s.import_files([SourceFile("n.csv", H + b"A1,2018/19 Q3,1,\n")], "u").uploads[0]["upload_id"] == 5
    finally:
        s.close()


def test_originals_kept_beside_the_database_come_back_from_inside_the_backup(tmp_path, cat, monkeypatch):
    monkeypatch.setattr("cspdash.originals.INLINE_ORIGINAL_BYTES", 0)  # every original is kept as uploads/<sha256>
    s = Store(tmp_path / "live" / "csp.duckdb", cat)
    try:
        fill(s)
        backup = s.backup(tmp_path / "b.duckdb")
        originals = {h["upload_id"]: s.upload_content(h["upload_id"]) for h in s.history()}
    finally:
        s.close()
    target = tmp_path / "elsewhere" / "csp.duckdb"
    restore(backup, target, cat)
    s = Store(target, cat)
    try:
        assert {uid: s.upload_content(uid) for uid in originals} == originals
    finally:
        s.close()


# --- never while another process holds the database; never half a file --------------------------------------------

def test_restore_is_refused_while_another_process_holds_the_database(live, tmp_path, cat):
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
                               "print('open', flush=True); sys.stdin.read()", str(live)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        before = fingerprint(live.parent)
        with pytest.raises(CspdashError, match=r"in use by another process: the app is running.*stop it first"):
            restore(tmp_path / "clean.duckdb", live, cat)
        assert fingerprint(live.parent) == before
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    restore(tmp_path / "clean.duckdb", live, cat)  # once it has stopped


def test_restore_is_refused_while_this_process_holds_the_database(live, tmp_path, cat):
    s = Store(live, cat)
    try:
        with pytest.raises(CspdashError, match="in use by another process"):
            restore(tmp_path / "clean.duckdb", live, cat)
        assert s.history()[0]["file_name"] == "later.csv"
    finally:
        s.close()


def _restore_cmd(live: Path, backup: Path) -> list[str]:
    return [sys.executable, "-m", "cspdash", "--db", str(live), "--config", str(CATALOGUE), "restore", str(backup)]


def test_a_restore_killed_during_the_copy_leaves_the_old_database(live, tmp_path, cat):
    """SIGKILL the CLI as soon as its temporary file appears, and at later moments: the database is then the old one,
    byte for byte, or (a kill after the rename) the whole restored one; never a part."""
    backup = tmp_path / "clean.duckdb"
    s = Store(live, cat)
    try:  # a larger backup, so the copy takes a while
        s.import_files([SourceFile("big.csv", STREET[:STREET.index(b"\n") + 1] + b"".join(
            b"c%d,2018-05,P,P,-0.1,51.5,X,E1,L,Burglary,,\n" % i for i in range(60_000)))], "d", "street_crime")
        backup.unlink()
        s.backup(backup)
        s.withdraw(4, "d")  # the live database now differs from the backup
    finally:
        s.close()
    old = live.read_bytes()
    new_uploads = rows(backup, "SELECT upload_id, state FROM uploads ORDER BY 1")
    outcomes = []
    for delay in (0.0, 0.05, 0.15, 0.3, 0.6):
        proc = subprocess.Popen(_restore_cmd(live, backup), cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not list(live.parent.glob(f".{live.name}.restore-*.part")) and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.001)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        finished = proc.returncode == 0
        now = rows(live, "SELECT upload_id, state FROM uploads ORDER BY 1")  # it opens
        if live.read_bytes() == old:
            outcomes.append("old")
        else:
            assert now == new_uploads, "neither the old database nor the whole restored one"
            outcomes.append("restored" if not finished else "finished")
            old = live.read_bytes()
        assert not live.with_name(live.name + ".wal").exists() or outcomes[-1] == "old"
    print("kill outcomes:", outcomes)
    assert "old" in outcomes, outcomes  # at least one kill struck during the copy
    restore(backup, live, cat)  # a later restore clears what the killed ones left
    assert not list(live.parent.glob(".*.part*"))


def test_a_write_that_fails_before_the_rename_leaves_the_old_database(live, tmp_path):
    """A real failure of the file system: the restoring process may write no file larger than the live database
    (RLIMIT_FSIZE, with SIGXFSZ ignored, so a write past it fails with EFBIG)."""
    backup = tmp_path / "clean.duckdb"
    before = fingerprint(live.parent)
    limit = 64 * 1024  # a new database file is larger than this

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run(_restore_cmd(live, backup), cwd=ROOT, capture_output=True, text=True, timeout=120,
                          preexec_fn=small_files)
    assert done.returncode == 1, done
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert "not restored" in done.stderr or "restore failed" in done.stderr, done.stderr
    assert "nothing was changed" in done.stderr.lower() or "unchanged" in done.stderr, done.stderr
    assert fingerprint(live.parent) == before
    assert os.path.getsize(live) > limit


def test_the_newest_backup_is_found_in_the_backup_folder(tmp_path):
    db = tmp_path / "data" / "csp.duckdb"
    assert backups.newest_backup(db, {}) is None
    folder = tmp_path / "daily"
    folder.mkdir()
    for day, t in (("csp-2026-11-29.duckdb", 1_000), ("csp-2026-11-30.duckdb", 2_000)):
        (folder / day).write_bytes(b"x")
        os.utime(folder / day, (t, t))
    assert backups.newest_backup(db, {"CSPDASH_BACKUP_DIR": str(folder)}) == folder / "csp-2026-11-30.duckdb"
    (db.parent / "backups").mkdir(parents=True)
    (db.parent / "backups" / "manual.duckdb").write_bytes(b"x")
    assert backups.newest_backup(db, {}) == db.parent / "backups" / "manual.duckdb"
