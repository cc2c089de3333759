"""Backup and restore of a PostgreSQL store: the same backup file as the embedded store's (``cspdash.backups``).

``write_backup_pg`` writes a DuckDB file with every table of the schema, read in one ``REPEATABLE READ`` snapshot
of PostgreSQL; the record-level extracts (``ds_<dataset>``) are rebuilt from the upload's Parquet files and the
originals kept as files are put in the ``content`` column, so the file is the one ``backups.write_backup`` writes
and ``backups.restore`` restores it into a DuckDB file.

``restore_pg`` is the other way: the backup is checked as ``backups.restore`` checks it, the Parquet files and large
originals are written first (temporary name, fsync, rename) and then one PostgreSQL transaction moves the current
tables into a schema of their own (``cspdash_before_restore_<time>``, kept as the DuckDB restore keeps the replaced
file) and copies the backup's rows into new ones. A refused or failed restore changes nothing in PostgreSQL; the
files it may have written are ones no row refers to, or the same rows as the file already there.

The layout of the extracts folder (``$CSPDASH_EXTRACTS``) is that of docs/scaling.md: ``<dataset>/<upload_id>.parquet``
per upload (active and withdrawn alike), with the columns of the dataset's DuckDB table, and
``originals/<sha256>``; each Parquet file also holds the rows' order in the DuckDB table (``rid``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import psycopg
import pyarrow as pa

from cspdash import datasets as ds
from cspdash.backups import SEQUENCE_IDS, check_backup, discard, fsync_file, read_schema
from cspdash.db import MIGRATIONS, SCHEMA_VERSION, SCHEMA_VERSION_TABLE, SNAPSHOT_SCHEMA, Database, checkpoint, now
from cspdash.errors import CspdashError
from cspdash.originals import EXTRACTS_ENV, INLINE_ORIGINAL_BYTES, ORIGINALS_DIR, fsync_dir, sha256_file
from cspdash.pg import DATA_EVENT_LOCK, MIGRATION_LOCK, ddl

if TYPE_CHECKING:
    from cspdash.config import Catalogue
    from cspdash.pg import PostgresDatabase

EXTRACT_ORIGINALS = "originals"  # $CSPDASH_EXTRACTS/originals/<sha256>
KEPT_PREFIX = "cspdash_before_restore_"  # the schema a restore moves the replaced tables into
#: The system-of-record tables, in the order they are copied (``ds_<dataset>`` tables are Parquet files instead).
RECORD_TABLES = ("schema_version", "uploads", "observations", "commentary", "events", "users", "snapshots",
                 "snapshot_items")
#: The column of an extract's Parquet file that keeps the rows' order (``rowid`` of the DuckDB table; the layout of
#: ``cspdash.extract_store``, docs/scaling.md).
ROW_ORDER = "rid"
LOCK_TIMEOUT = "10s"  # how long a restore waits for the app's open transactions before it refuses
RESTORED_BY = "cspdash restore"  # the user_name of a restore's own event
BATCH = 20_000  # rows moved between the engines at a time
#: DuckDB's column types (as ``backups.read_schema`` names them) as Arrow's, for moving rows into DuckDB.
ARROW_TYPES = {"INTEGER": pa.int32(), "BIGINT": pa.int64(), "VARCHAR": pa.string(), "BLOB": pa.binary(),
               "TIMESTAMP": pa.timestamp("us"), "DATE": pa.date32(), "DOUBLE": pa.float64(),
               "BOOLEAN": pa.bool_(), "VARCHAR[]": pa.list_(pa.string())}


def extracts_folder(env: dict[str, str] | None = None) -> Path | None:
    """The folder of record-level extracts and originals (``$CSPDASH_EXTRACTS``); None when it is not set."""
    env = os.environ if env is None else env
    value = (env.get(EXTRACTS_ENV) or "").strip()
    return Path(value) if value else None


def _need_extracts(extracts: Path | None, what: str) -> Path:
    if extracts is None:
        raise CspdashError(f"{EXTRACTS_ENV} is not set, and {what}; nothing was changed. Fix: set {EXTRACTS_ENV} "
                           "to the folder of record-level extracts and originals that every app replica and command "
                           "of this PostgreSQL database uses (docs/scaling.md)")
    return extracts


def _parquet(extracts: Path, dataset: str, upload_id: int) -> Path:
    return extracts / dataset / f"{int(upload_id)}.parquet"


def _literal(path: Path) -> str:
    """A path as a SQL string literal (DuckDB's COPY ... TO takes no parameter for its file)."""
    return "'" + str(path).replace("'", "''") + "'"


def _pg_error(e: psycopg.Error) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


# --- backup ----------------------------------------------------------------------------------------------------------

def write_backup_pg(database: PostgresDatabase, extracts: Path | None, cat: Catalogue, out: str | Path) -> Path:
    """Write a backup of the PostgreSQL store ``database`` to ``out`` (a new DuckDB file, in the format of
    ``backups.write_backup``), from one ``REPEATABLE READ`` snapshot; the extracts and large originals are read from
    ``extracts``. Written under a temporary name and renamed when whole."""
    target = Path(out)
    if target.exists():
        raise CspdashError(f"{target} already exists; choose a new file name for the backup")
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(f".{target.name}.part-{os.getpid()}")
    discard(part)
    try:
        with database.snapshot() as pg:
            _write(pg, database.path, extracts, cat, part)
        fsync_file(part)
        os.replace(part, target)
        fsync_dir(target.parent)
    except psycopg.Error as e:
        raise CspdashError(f"no backup was written: {database.path}: {_pg_error(e)}") from None
    except duckdb.Error as e:
        raise CspdashError(f"no backup was written: {ds._first_line(e)} ({target.parent})") from None
    except OSError as e:
        raise CspdashError(f"no backup was written: {e.strerror or e} ({e.filename or target.parent}). Fix: check "
                           "the free space and permissions of that folder") from None
    finally:
        discard(part)
    return target


def _write(pg: psycopg.Connection, where: str, extracts: Path | None, cat: Catalogue, part: Path) -> None:
    present = _tables(pg, RECORD_TABLES)
    if "schema_version" not in present:
        raise CspdashError(f"{where} holds no cspdash data (no schema_version table); nothing to back up")
    version = pg.execute("SELECT max(version) FROM schema_version").fetchone()[0]
    if version != SCHEMA_VERSION:
        raise CspdashError(f"{where} has schema version {version}, this cspdash writes backups of version "
                           f"{SCHEMA_VERSION}: open it once with this cspdash (any command) to bring it up to date")
    declared = {d.name for d in cat.datasets}
    undeclared = pg.execute("SELECT DISTINCT dataset FROM uploads WHERE kind = 'dataset' AND dataset IS NOT NULL "
                            "AND NOT (dataset = ANY(%s)) ORDER BY 1", [sorted(declared)]).fetchall()
    if undeclared:
        raise CspdashError(f"{where} holds uploads of datasets the catalogue does not declare "
                           f"({', '.join(r[0] for r in undeclared)}); no backup was written. Fix: back up with the "
                           "catalogue (--config) the data was loaded with")
    fresh = Database(part)
    try:
        fresh.open(cat)  # the schema exactly as the embedded store makes it
        cur = fresh.writer()
        if "snapshots" in present:
            for stmt in SNAPSHOT_SCHEMA:
                cur.execute(stmt)
        schema = read_schema(cur)
        cur.execute("DELETE FROM schema_version")
        for table in (t for t in RECORD_TABLES if t in present):
            _copy_table(pg, cur, table, schema.tables[table])
        for seq, (table, column) in SEQUENCE_IDS.items():
            if table in present:
                last, called = pg.execute(f"SELECT last_value, is_called FROM {seq}").fetchone()  # noqa: S608
                top = cur.execute(f'SELECT max("{column}") FROM "{table}"').fetchone()[0]  # noqa: S608
                start = max(last + 1 if called else last, (top or 0) + 1)
                cur.execute(f"CREATE OR REPLACE SEQUENCE {seq} START {int(start)}")
        uploads = cur.execute("SELECT upload_id, kind, dataset, file_name, sha256, size_bytes, rows, "
                              "content IS NULL FROM uploads ORDER BY upload_id").fetchall()
        for uid, kind, dataset, name, _sha, _size, rows, _inline in uploads:
            if kind == "dataset" and dataset in declared:
                _read_extract(cur, _need_extracts(extracts, f"upload {uid} ({name}) is a record-level extract"),
                              next(d for d in cat.datasets if d.name == dataset), uid, rows, schema)
        for uid, _kind, _dataset, name, sha, size, _rows, outside in uploads:
            if outside and size > 0:
                path = _original(_need_extracts(extracts, f"the original of upload {uid} ({name}) is kept there"),
                                 uid, name, sha)
                cur.execute("UPDATE uploads SET content = (SELECT content FROM read_blob(?)) WHERE upload_id = ?",
                            [str(path), uid])
        checkpoint(cur, busy_ok=False)
        cur.close()
    finally:
        fresh.close()


def _tables(pg: psycopg.Connection, names: tuple[str, ...]) -> set[str]:
    """Which of ``names`` are tables of the connection's current schema."""
    return {r[0] for r in pg.execute(
        "SELECT relname FROM pg_class WHERE relkind IN ('r', 'p') AND relname = ANY(%s) "
        "AND relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())", [list(names)])}


def _copy_table(pg: psycopg.Connection, cur: duckdb.DuckDBPyConnection, table: str,
                columns: tuple[tuple[str, str], ...]) -> None:
    """Every row of PostgreSQL's ``table`` into the DuckDB table of that name, in batches through Arrow."""
    names = [c for c, _type in columns]
    quoted = ", ".join(f'"{c}"' for c in names)
    types = [ARROW_TYPES.get(t) for _c, t in columns]
    with pg.cursor(name=f"cspdash_backup_{table}") as rows:  # a server-side cursor: fetched a batch at a time
        rows.execute(f'SELECT {quoted} FROM "{table}"')  # noqa: S608  (cspdash's own names)
        while batch := rows.fetchmany(BATCH):
            arrow = pa.table({n: pa.array([r[i] for r in batch], type=types[i]) for i, n in enumerate(names)})
            cur.register("cspdash_batch", arrow)
            try:
                cur.execute(f'INSERT INTO "{table}" ({quoted}) SELECT {quoted} FROM cspdash_batch')  # noqa: S608
            finally:
                cur.unregister("cspdash_batch")


def _read_extract(cur: duckdb.DuckDBPyConnection, extracts: Path, dataset: ds.Dataset, uid: int, rows: int,
                  schema) -> None:
    """An upload's Parquet file into its dataset's table (a missing file is an error unless the upload has no rows)."""
    path = _parquet(extracts, dataset.name, uid)
    if not path.is_file():
        if not rows:
            return
        raise CspdashError(f"the extract of upload {uid} ({dataset.name}) is missing: it was kept as {path}; no "
                           f"backup was written. Fix: copy the {EXTRACTS_ENV} folder back from the machine's backups")
    table = ds.table_name(dataset.name)
    cols = [c for c, _t in schema.tables[table] if c != "upload_id"]
    quoted = ", ".join(f'"{c}"' for c in cols)
    try:
        ordered = any(r[0] == ROW_ORDER for r in cur.execute("DESCRIBE SELECT * FROM read_parquet(?)",
                                                             [str(path)]).fetchall())
        cur.execute(f'INSERT INTO "{table}" (upload_id, {quoted}) '  # noqa: S608  (cspdash's own names)
                    f"SELECT ?, {quoted} FROM read_parquet(?){f' ORDER BY {ROW_ORDER}' if ordered else ''}",
                    [uid, str(path)])
    except duckdb.Error as e:
        raise CspdashError(f"the extract of upload {uid} in {path} cannot be read ({ds._first_line(e)}); no backup "
                           "was written") from None


def _original(extracts: Path, uid: int, name: str, sha: str) -> Path:
    """The original file of an upload under ``extracts``, checked against its SHA-256."""
    path = extracts / EXTRACT_ORIGINALS / sha
    if not path.is_file():
        raise CspdashError(f"the original of upload {uid} ({name}) is missing: it was kept as {path}; no backup was "
                           f"written. Fix: copy that file back from the machine's backups")
    if sha256_file(path) != sha:
        raise CspdashError(f"the original of upload {uid} ({name}) in {path} has been changed: its SHA-256 no longer "
                           f"matches {sha}; no backup was written. Fix: restore the file from a backup")
    return path


# --- restore ---------------------------------------------------------------------------------------------------------

def restore_pg(backup: str | Path, database: PostgresDatabase, extracts: Path | None, cat: Catalogue) -> str | None:
    """Replace the data of the PostgreSQL store ``database`` with that of ``backup``; return the schema where the
    replaced tables are kept (None when the database held no cspdash tables).

    The backup is checked as ``backups.restore`` checks it; then its extracts and large originals are written to
    ``extracts`` and one transaction replaces the tables. Refused, in words, with nothing changed in PostgreSQL: a
    missing, damaged or foreign backup, an extract already in the folder with other rows, ``extracts`` unset when the
    backup needs it, and a database whose tables the app keeps busy for longer than ``LOCK_TIMEOUT``.
    """
    src = Path(backup)
    if not src.is_file():
        raise CspdashError(f"{src} does not exist")
    version, tables, sequences, outside = check_backup(src, cat)
    beside = src.parent / ORIGINALS_DIR
    missing = [f"upload {u} ({n})" for u, n, sha in outside if not (beside / sha).is_file()]
    if missing:
        raise CspdashError(f"{src} refers to original files kept beside it that are not in {beside}: "
                           f"{', '.join(missing[:5])}{' and more' if len(missing) > 5 else ''}. Fix: copy the "
                           f"{ORIGINALS_DIR} folder from beside the database that was copied, or restore a backup made "
                           "with `backup` (it holds every original)")
    con = duckdb.connect(str(src), read_only=True)
    try:
        try:
            _write_files(con, src, tables, outside, extracts, cat)
        except duckdb.Error as e:
            raise CspdashError(f"{src} cannot be read as a cspdash backup ({ds._first_line(e)}); nothing was "
                               "changed") from None
        except OSError as e:
            raise CspdashError(f"not restored: {e.strerror or e} ({e.filename or extracts}); nothing was changed in "
                               f"{database.path}. Fix: check the free space and permissions of {EXTRACTS_ENV}") from None
        try:
            with database.pool.connection() as pg:
                return _replace(pg, con, version, tables, sequences, src.name)
        except psycopg.errors.LockNotAvailable:
            raise CspdashError(f"not restored: {database.path} is in use (the app or another cspdash command keeps "
                               f"its tables busy); stop them first, then restore. Nothing was changed") from None
        except psycopg.Error as e:
            raise CspdashError(f"not restored: {database.path}: {_pg_error(e)}; nothing was changed") from None
    finally:
        con.close()


def _write_files(con: duckdb.DuckDBPyConnection, src: Path, tables: dict[str, list[str]],
                 outside: list[tuple[int, str, str]], extracts: Path | None, cat: Catalogue) -> None:
    """Every extract upload's Parquet file and every large original into ``extracts``, each whole before it is
    named; first checked that none would replace a file holding something else."""
    declared = {d.name for d in cat.datasets}
    uploads = con.execute("SELECT upload_id, dataset, file_name FROM uploads WHERE kind = 'dataset' "
                          "ORDER BY upload_id").fetchall()
    wanted = [(uid, dataset, name) for uid, dataset, name in uploads
              if dataset in declared and ds.table_name(dataset) in tables]
    large = con.execute("SELECT upload_id, file_name, sha256 FROM uploads WHERE size_bytes > ? AND content IS NOT "
                        "NULL ORDER BY upload_id", [INLINE_ORIGINAL_BYTES]).fetchall()
    if not (wanted or large or outside):
        return
    folder = _need_extracts(extracts, f"{src} holds record-level extracts or large original files, which are kept "
                                      "there")
    # Everything is checked before anything is written.
    for uid, dataset, _name in wanted:
        path = _parquet(folder, dataset, uid)
        if path.exists() and not _same_rows(con, path, ds.table_name(dataset), uid, tables):
            raise CspdashError(f"not restored: {path} already holds an extract with other rows than upload {uid} of "
                               f"{src}; nothing was changed. Fix: restore into a PostgreSQL database with an empty "
                               f"{EXTRACTS_ENV} folder, or move that folder's files away first")
    for uid, name, sha in large:
        content = con.execute("SELECT content FROM uploads WHERE upload_id = ?", [uid]).fetchone()[0]
        if hashlib.sha256(content).hexdigest() != sha:
            raise CspdashError(f"{src} is damaged: the original of upload {uid} ({name}) does not match its SHA-256 "
                               f"{sha}; nothing was changed")
    for uid, name, sha in outside:
        if sha256_file(src.parent / ORIGINALS_DIR / sha) != sha:
            raise CspdashError(f"the original of upload {uid} ({name}) beside {src} has been changed (its SHA-256 does "
                               "not match); nothing was changed. Fix: restore a backup made with `backup`")
    for uid, dataset, _name in wanted:
        path = _parquet(folder, dataset, uid)
        if path.exists():
            continue  # the same rows already
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
        cols = ", ".join(f'"{c}"' for c in tables[ds.table_name(dataset)])
        try:
            order = f"CAST(row_number() OVER (ORDER BY rowid) - 1 AS BIGINT) AS {ROW_ORDER}"
            con.execute(f'COPY (SELECT {cols}, {order} FROM "{ds.table_name(dataset)}" '  # noqa: S608
                        f"WHERE upload_id = {int(uid)} ORDER BY rowid) TO {_literal(tmp)} (FORMAT parquet)")
            fsync_file(tmp)
            os.replace(tmp, path)
        except duckdb.Error as e:
            raise CspdashError(f"not restored: {path} could not be written ({ds._first_line(e)}); nothing was changed "
                               f"in the database. Fix: check the free space and permissions of {folder}") from None
        finally:
            tmp.unlink(missing_ok=True)
        fsync_dir(path.parent)
    originals = folder / EXTRACT_ORIGINALS
    for uid, _name, sha in large:
        content = con.execute("SELECT content FROM uploads WHERE upload_id = ?", [uid]).fetchone()[0]
        _keep(originals, sha, lambda tmp, data=content: tmp.write_bytes(data))
    for _uid, _name, sha in outside:
        _keep(originals, sha, lambda tmp, sha=sha: shutil.copyfile(src.parent / ORIGINALS_DIR / sha, tmp))


def _same_rows(con: duckdb.DuckDBPyConnection, path: Path, table: str, uid: int, tables: dict[str, list[str]]) -> bool:
    """Whether the Parquet file at ``path`` holds exactly the backup's rows of upload ``uid``."""
    cols = ", ".join(f'"{c}"' for c in tables[table])
    mine = f'SELECT {cols} FROM "{table}" WHERE upload_id = ?'  # noqa: S608  (cspdash's own names)
    theirs = f"SELECT {cols} FROM read_parquet(?)"  # noqa: S608
    try:
        return con.execute(f"SELECT (SELECT count(*) FROM ({mine} EXCEPT ALL {theirs})) + "  # noqa: S608
                           f"(SELECT count(*) FROM ({theirs} EXCEPT ALL {mine}))",
                           [uid, str(path), str(path), uid]).fetchone()[0] == 0
    except duckdb.Error:
        return False  # unreadable, or other columns: not the same


def _keep(folder: Path, sha: str, write) -> None:
    """An original as ``folder/<sha256>`` (written whole, synced, renamed), unless a file with those bytes is there."""
    target = folder / sha
    if target.is_file() and sha256_file(target) == sha:
        return
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{sha}.{os.getpid()}.part"
    try:
        write(tmp)
        fsync_file(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(folder)


def _replace(pg: psycopg.Connection, con: duckdb.DuckDBPyConnection, version: int, tables: dict[str, list[str]],
             sequences: dict[str, int], source: str) -> str | None:
    """One transaction: the current tables moved into a kept schema, new ones made by the migrations, the backup's
    rows copied in, the sequences set to continue after both the backup's ids and the replaced ones', and a
    ``restore`` event recorded last."""
    with pg.transaction():  # psycopg's: BEGIN ... COMMIT, or ROLLBACK on an error
        pg.execute("SELECT set_config('lock_timeout', %s, true)", [LOCK_TIMEOUT])
        pg.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATION_LOCK])
        kept = _move_aside(pg)
        floor = {}
        if kept is not None:
            for seq in SEQUENCE_IDS:
                row = pg.execute("SELECT last_value FROM pg_sequences WHERE schemaname = %s "
                                 "AND sequencename = %s", [kept, seq]).fetchone()
                if row is not None and row[0] is not None:
                    floor[seq] = row[0] + 1
        pg.execute(SCHEMA_VERSION_TABLE)
        for v in range(1, SCHEMA_VERSION + 1):
            for stmt in MIGRATIONS[v]:
                pg.execute(ddl(stmt))
            pg.execute("INSERT INTO schema_version VALUES (%s, %s)", [v, now()])
        if "snapshots" in tables:
            for stmt in SNAPSHOT_SCHEMA:
                pg.execute(ddl(stmt))
        pg.execute("DELETE FROM schema_version WHERE version <= %s", [version])
        for table in (t for t in RECORD_TABLES if t in tables):
            _copy_rows(pg, con, table, tables[table])
        for seq, (table, column) in ((s, tc) for s, tc in SEQUENCE_IDS.items() if tc[0] in tables):
            top = pg.execute(f'SELECT max("{column}") FROM "{table}"').fetchone()[0]  # noqa: S608
            start = max(sequences.get(seq, 1), (top or 0) + 1, floor.get(seq, 1))
            pg.execute("SELECT setval(%s, %s, false)", [seq, start])
        # The data version (max(event_id) of the data events, Store.data_version) must never go backwards: an app
        # replica still running keys its caches by it, and the backup's largest event id may be below one it has
        # seen. The restore's own event takes its id from event_seq, now above every id either data ever had.
        pg.execute("SELECT pg_advisory_xact_lock(%s)", [DATA_EVENT_LOCK])  # as pg.Cursor.in_commit_order
        pg.execute("INSERT INTO events VALUES (nextval('event_seq'), %s, %s, 'restore', NULL, %s)",
                   [now(), RESTORED_BY, f"restored from {source}" + (f"; the replaced tables are kept in the schema "
                                                                     f"{kept}" if kept else "")])
    return kept


def _move_aside(pg: psycopg.Connection) -> str | None:
    """The current schema's cspdash tables and sequences moved into a new schema; its name (None: there were none)."""
    present = _tables(pg, RECORD_TABLES)
    if not present:
        return None
    kept = f"{KEPT_PREFIX}{datetime.now():%Y%m%d_%H%M%S}"
    n = 1
    while pg.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [kept]).fetchone():
        n += 1
        kept = f"{KEPT_PREFIX}{datetime.now():%Y%m%d_%H%M%S}_{n}"
    pg.execute(f'CREATE SCHEMA "{kept}"')
    for table in sorted(present):
        pg.execute(f'ALTER TABLE "{table}" SET SCHEMA "{kept}"')
    seqs = [r[0] for r in pg.execute(
        "SELECT relname FROM pg_class WHERE relkind = 'S' AND relname = ANY(%s) "
        "AND relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())", [list(SEQUENCE_IDS)])]
    for seq in sorted(seqs):
        pg.execute(f'ALTER SEQUENCE "{seq}" SET SCHEMA "{kept}"')
    return kept


def _copy_rows(pg: psycopg.Connection, con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> None:
    """The backup's rows of ``table`` into PostgreSQL by ``COPY``; large originals are left out of ``content``
    (they were written to the extracts folder)."""
    quoted = ", ".join(f'"{c}"' for c in columns)
    chosen = ", ".join(f'CASE WHEN size_bytes > {INLINE_ORIGINAL_BYTES} THEN NULL ELSE content END'
                       if table == "uploads" and c == "content" else f'"{c}"' for c in columns)
    rows = con.execute(f'SELECT {chosen} FROM "{table}"')  # noqa: S608  (cspdash's own names)
    with pg.cursor().copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
        while batch := rows.fetchmany(BATCH):
            for row in batch:
                copy.write_row(row)

