"""Backup and restore with PostgreSQL (cspdash.backups_pg), on the tests' own PostgreSQL server (tests/pg_server.py).

The demo, as an embedded DuckDB store, is backed up; the backup is restored into PostgreSQL (its extracts written as
Parquet files and its large originals as files under ``CSPDASH_EXTRACTS``) and backed up again from there: the two
backup files hold the same tables, rows and sequences, and the second restores into a DuckDB file. A damaged or
foreign backup, an extract folder that already holds other rows, and a missing ``CSPDASH_EXTRACTS`` are refused in
words, and PostgreSQL is left as it was.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import psycopg
import pytest
from e2e_helpers import demo_copy
from tests_config import ROOT

from cspdash import backups_pg, snapshots
from cspdash.backups import read_schema, restore
from cspdash.backups_pg import extracts_folder, restore_pg, write_backup_pg
from cspdash.config import load_catalogue
from cspdash.dburl import parse_db
from cspdash.errors import CspdashError
from cspdash.ingest import SourceFile
from cspdash.pg import PostgresDatabase
from cspdash.store import Store

CAT = load_catalogue(ROOT / "indicators.yaml")
ADMIN = "analyst@towerhamlets.gov.uk"
SMALL = 2_000  # bytes: originals larger than this are kept as files in these tests, so both ways are exercised


@pytest.fixture(scope="module")
def first_backup(tmp_path_factory) -> Path:
    """A backup of the demo's embedded store, with accounts, a withdrawal, commentary and a frozen pack added,
    written by ``Store.backup`` as the app and ``backup`` do."""
    store = Store(demo_copy(tmp_path_factory, "pg-backup-demo"), CAT)
    try:
        store.add_user(ADMIN, "admin", by="test")
        store.add_user("chair-asb@towerhamlets.gov.uk", "chair", ["asb", "vawg"], by=ADMIN)
        store.add_user("left@towerhamlets.gov.uk", "viewer", by=ADMIN)
        store.disable_user("left@towerhamlets.gov.uk", by=ADMIN)
        period = store.latest_complete_quarter()
        store.add_commentary("A1", period, "Typed in the app: 'quoted', 50% ünïcödé; ? $x", ADMIN)
        sent = store.import_files([SourceFile("sent-in-error.csv", data=b"indicator,period,value\nA2,2025/26 Q3,9\n")],
                                  ADMIN)
        store.withdraw(sent.uploads[0]["upload_id"], ADMIN, "sent in error")
        snapshots.freeze(store, period, "2026-01-15", ADMIN)
        return store.backup(tmp_path_factory.mktemp("pg-backup") / "first.duckdb")
    finally:
        store.close()


@pytest.fixture
def pg(postgres_server):
    database = PostgresDatabase(parse_db(postgres_server.new_database()))
    yield database
    database.close()


@pytest.fixture(autouse=True)
def _small_originals(monkeypatch):
    monkeypatch.setattr(backups_pg, "INLINE_ORIGINAL_BYTES", SMALL)


def everything(path: Path) -> tuple[object, dict[str, list[tuple]]]:
    """(schema, every table's rows sorted) of a backup file."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        schema = read_schema(con)
        rows = {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)
                for t in schema.tables}
        return schema, rows
    finally:
        con.close()


def pg_state(database: PostgresDatabase) -> list[tuple]:
    """Every schema of the database with its tables and their row counts, and the sequences' values."""
    cur = database.cursor()
    tabs = cur.execute("SELECT schemaname, relname, n_live_tup FROM pg_stat_user_tables ORDER BY 1, 2").fetchall()
    counts = [(s, t, cur.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchone()[0]) for s, t, _n in tabs]
    seqs = cur.execute("SELECT schemaname, sequencename, last_value FROM pg_sequences ORDER BY 1, 2").fetchall()
    return [tuple(r) for r in counts] + [tuple(r) for r in seqs]


def files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def test_the_demo_restored_into_postgresql_backs_up_to_the_same_file(first_backup, pg, tmp_path):
    extracts = tmp_path / "extracts"
    assert restore_pg(first_backup, pg, extracts, CAT) is None  # nothing was there to keep
    parquet = files(extracts)
    assert any(p.endswith(".parquet") for p in parquet) and any(p.startswith("originals/") for p in parquet)
    inline = pg.cursor().execute("SELECT count(*) FROM uploads WHERE content IS NOT NULL").fetchone()[0]
    outside = pg.cursor().execute("SELECT count(*) FROM uploads WHERE content IS NULL AND size_bytes > ?",
                                  [SMALL]).fetchone()[0]
    assert inline and outside  # small originals in the row, large ones as files
    one = next(extracts.glob("borough_crime/*.parquet"))  # the layout of cspdash.extract_store: the table's columns
    described = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{one}')").fetchall()  # and the rows' order, rid
    assert [r[0] for r in described][:2] == ["upload_id", "source_row"] and described[-1][:2] == ("rid", "BIGINT")

    second = write_backup_pg(pg, extracts, CAT, tmp_path / "second.duckdb")
    schema1, rows1 = everything(first_backup)
    schema2, rows2 = everything(second)
    # The restore added one event of its own, after every id of the backup: otherwise the same file.
    (restored,) = [e for e in rows2["events"] if e[3] == "restore"]
    assert restored[0] == schema1.sequences["event_seq"] and restored[2] == backups_pg.RESTORED_BY
    assert restored[5] == f"restored from {first_backup.name}"
    rows2["events"].remove(restored)
    assert schema2.sequences == {**schema1.sequences, "event_seq": schema1.sequences["event_seq"] + 1}
    assert dataclasses.replace(schema2, sequences=schema1.sequences) == schema1  # tables and columns, indexes
    assert any(t.startswith("ds_") and rows for t, rows in rows1.items())
    assert all(rows1[t] for t in ("users", "snapshots", "snapshot_items", "commentary"))
    for table in rows1:
        assert rows2[table] == rows1[table], table

    # The PostgreSQL backup restores into a DuckDB file as any backup does, to the same data and statuses.
    restore(second, tmp_path / "db" / "csp.duckdb", CAT)
    assert everything(tmp_path / "db" / "csp.duckdb")[1] == {**rows1, "events": sorted([*rows1["events"], restored],
                                                                                        key=repr)}
    embedded, shared = Store(tmp_path / "db" / "csp.duckdb", CAT), Store(pg.target, CAT)
    try:
        assert [s.as_dict() for s in shared.statuses()] == [s.as_dict() for s in embedded.statuses()]
    finally:
        embedded.close()
        shared.close()

    # Restoring again replaces the tables and keeps the replaced ones in a schema of their own.
    before = pg_state(pg)
    kept = restore_pg(second, pg, extracts, CAT)
    assert kept is not None and kept.startswith(backups_pg.KEPT_PREFIX)
    after = pg_state(pg)
    assert [(t, n) for s, t, n in after if s == kept] == [(t, n) for s, t, n in before if s == "public"]
    third = everything(write_backup_pg(pg, extracts, CAT, tmp_path / "third.duckdb"))[1]
    assert [e[5] for e in third["events"] if e[3] == "restore"] == [
        f"restored from {first_backup.name}",
        f"restored from {second.name}; the replaced tables are kept in the schema {kept}"]
    assert {**third, "events": [e for e in third["events"] if e[3] != "restore"]} == rows1
    assert files(extracts) == parquet  # the same rows: no file written twice


def _corrupt(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _foreign(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE VIEW uploads_shown AS SELECT * FROM uploads")
    con.close()


def _other_rows(path: Path) -> None:  # an extract whose rows differ from the file already kept for that upload
    con = duckdb.connect(str(path))
    table = next(t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'ds_%' "
                                           "ORDER BY 1").fetchall()
                 if con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0])
    con.execute(f'DELETE FROM "{table}" WHERE source_row = (SELECT min(source_row) FROM "{table}")')
    con.close()


def _changed_original(path: Path) -> None:  # the bytes of a large original no longer match its SHA-256
    con = duckdb.connect(str(path))
    con.execute("UPDATE uploads SET content = content || '!'::BLOB "
                "WHERE upload_id = (SELECT upload_id FROM uploads ORDER BY size_bytes DESC LIMIT 1)")
    con.close()


@pytest.mark.parametrize(("spoil", "refusal"), [
    (lambda p: p.write_bytes(b"not a database at all\n" * 100), "is not a cspdash backup"),
    (_corrupt, "cspdash backup"),
    (_foreign, "refused: it holds what a cspdash backup never does: view uploads_shown"),
    (lambda p: p.unlink(), "does not exist"),
    (_other_rows, "already holds an extract with other rows"),
    (_changed_original, "is damaged: the original of upload"),
])
def test_a_damaged_or_foreign_backup_is_refused_and_postgresql_is_unchanged(first_backup, pg, tmp_path, spoil,
                                                                             refusal):
    extracts = tmp_path / "extracts"
    restore_pg(first_backup, pg, extracts, CAT)
    before, kept_files = pg_state(pg), files(extracts)
    bad = tmp_path / "bad" / "backup.duckdb"
    bad.parent.mkdir()
    shutil.copyfile(first_backup, bad)
    spoil(bad)
    with pytest.raises(CspdashError, match=refusal) as e:
        restore_pg(bad, pg, extracts, CAT)
    assert "nothing was changed" in str(e.value).lower() or "does not exist" in str(e.value)
    assert pg_state(pg) == before
    assert files(extracts) == kept_files


def test_a_database_the_app_keeps_busy_is_refused_and_left_unchanged(first_backup, pg, tmp_path, monkeypatch):
    extracts = tmp_path / "extracts"
    restore_pg(first_backup, pg, extracts, CAT)
    before = pg_state(pg)
    monkeypatch.setattr(backups_pg, "LOCK_TIMEOUT", "300ms")
    reader = psycopg.connect(**pg.target.connect_args())  # a replica in the middle of reading the uploads
    try:
        reader.execute("SELECT count(*) FROM uploads").fetchone()  # its transaction stays open
        with pytest.raises(CspdashError, match=r"is in use .*stop them first, then restore. Nothing was changed"):
            restore_pg(first_backup, pg, extracts, CAT)
    finally:
        reader.close()
    assert pg_state(pg) == before


def test_the_data_version_a_running_replica_keys_its_caches_by_never_goes_back(first_backup, pg, tmp_path):
    """A restore of an older backup is seen by a replica that stays open as a new, larger data version (its own
    ``restore`` event), never as a version the replica may have cached for other data."""
    extracts = tmp_path / "extracts"
    restore_pg(first_backup, pg, extracts, CAT)
    replica = Store(pg.target, CAT)  # an app server that keeps running through the restore
    try:
        restored = replica.data_version()
        before = [s.as_dict() for s in replica.statuses()]
        for n in range(3):  # figures the backup does not hold: the data version moves past the backup's events
            replica.import_files([SourceFile(f"late-{n}.csv", data=b"indicator,period,value\nA2,2025/26 Q3,9\n")],
                                 ADMIN)
        seen = replica.data_version()
        assert seen > restored
        restore_pg(first_backup, pg, extracts, CAT)  # back to the backup's data, whose largest event id is lower
        assert replica.data_version() > seen
        assert [s.as_dict() for s in replica.statuses()] == before  # read again: the figures of the backup
    finally:
        replica.close()


def test_extracts_unset_is_refused_in_words(first_backup, pg, tmp_path):
    before = pg_state(pg)
    with pytest.raises(CspdashError, match=r"CSPDASH_EXTRACTS is not set.*record-level extracts.*nothing was changed"):
        restore_pg(first_backup, pg, None, CAT)
    assert pg_state(pg) == before == []  # not even the schema was made
    restore_pg(first_backup, pg, tmp_path / "extracts", CAT)
    with pytest.raises(CspdashError, match=r"CSPDASH_EXTRACTS is not set.*record-level extract"):
        write_backup_pg(pg, None, CAT, tmp_path / "backup.duckdb")
    assert not (tmp_path / "backup.duckdb").exists() and not list(tmp_path.glob(".backup.duckdb*"))
    assert extracts_folder({}) is None and extracts_folder({"CSPDASH_EXTRACTS": " /srv/x "}) == Path("/srv/x")


def test_backup_and_restore_commands_take_a_postgresql_url(first_backup, postgres_server, tmp_path):
    url = postgres_server.new_database()
    env = {**os.environ, "CSPDASH_EXTRACTS": str(tmp_path / "extracts"), "CSPDASH_DB": url}
    env.pop("CSPDASH_CONFIG", None)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "cspdash", "--config", str(ROOT / "indicators.yaml"), *args],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    done = run("restore", str(first_backup))
    assert done.returncode == 0, done.stderr
    assert "restored" in done.stdout and "postgresql://" in done.stdout
    done = run("backup", "--out", str(tmp_path / "again.duckdb"))
    assert done.returncode == 0, done.stderr
    again = everything(tmp_path / "again.duckdb")[1]
    assert {**again, "events": [e for e in again["events"] if e[3] != "restore"]} == everything(first_backup)[1]
    env.pop("CSPDASH_EXTRACTS")
    done = run("backup", "--out", str(tmp_path / "none.duckdb"))
    assert done.returncode != 0 and "CSPDASH_EXTRACTS is not set" in done.stderr

