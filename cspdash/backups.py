"""Backups and restore: a backup for the admin to download, a daily backup the app writes itself, and ``restore``.

DuckDB lets one process open the database file and the running app holds it, so ``python -m cspdash backup`` fails
with "Conflicting lock" while the app runs. Both of these go through the app's own ``Store.backup`` instead, which
takes the write lock (uploads wait a few seconds) and writes a consistent, self-contained copy.

``restore`` brings back data, never code: a backup is a DuckDB file, which can hold views, macros and sequences as
well as tables, so it is checked against the schema cspdash itself creates and only the expected tables and columns
are copied into a new database.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from cspdash import datasets as ds
from cspdash.config import Catalogue
from cspdash.db import (
    MIGRATIONS,
    SCHEMA_VERSION,
    SCHEMA_VERSION_TABLE,
    SNAPSHOT_SCHEMA,
    Database,
    checkpoint,
    database_name,
    held_elsewhere,
    newest_backup,  # noqa: F401  (the backup to restore: db.py names it in a damaged database's message)
    storage_cause,
    storage_failure,
    transaction,
)
from cspdash.errors import CspdashError, StorageError
from cspdash.originals import ORIGINALS_DIR, Originals, fsync_dir

if TYPE_CHECKING:
    from cspdash.store import Store

log = logging.getLogger(__name__)

DEFAULT_AT = time(2, 30)  # local time: after the working day, before anyone is in
DEFAULT_KEEP = 30  # daily backups kept in the folder; older ones are deleted
PREFIX = "csp-"


def download_name(now: datetime | None = None) -> str:
    """``csp-backup-2026-11-25-1030.duckdb``."""
    return f"csp-backup-{(now or datetime.now()):%Y-%m-%d-%H%M}.duckdb"


def write_backup(database: Database, originals: Originals, out: str | Path) -> Path:
    """Write a consistent copy of the whole database to ``out`` (a new DuckDB file), under the write lock, with
    every original kept beside the database put inside it (``Store.backup``)."""
    target = Path(out)
    if target.exists():
        raise CspdashError(f"{target} already exists; choose a new file name for the backup")
    target.parent.mkdir(parents=True, exist_ok=True)
    with database.lock:
        cur = database.writer()
        try:
            database.checkpoint(cur)
            cur.execute("ATTACH ? AS backup_db", [str(target)])
            try:
                cur.execute("COPY FROM DATABASE " + database_name(cur) + " TO backup_db")
                _inline_originals(cur, originals)
            finally:
                cur.execute("DETACH backup_db")
        except BaseException as e:
            target.unlink(missing_ok=True)  # never leave half a backup behind
            target.with_name(target.name + ".wal").unlink(missing_ok=True)
            if isinstance(e, duckdb.Error) and storage_failure(e):
                database.mark_failed()
                raise StorageError(f"no backup was written: {storage_cause(e, target.parent.resolve())}") from None
            raise
        finally:
            cur.close()
    return target


def _inline_originals(cur: duckdb.DuckDBPyConnection, originals: Originals) -> None:
    """Put the originals kept beside the database into the backup's ``content`` column: a backup is one
    self-contained file, which can be copied off the machine and restored anywhere."""
    kept = cur.execute("SELECT upload_id, file_name, sha256 FROM backup_db.uploads "
                       "WHERE content IS NULL AND size_bytes > 0 ORDER BY upload_id").fetchall()
    for uid, name, sha in kept:
        path = originals.path(uid, name, sha)
        cur.execute("UPDATE backup_db.uploads SET content = (SELECT content FROM read_blob(?)) WHERE upload_id = ?",
                    [str(path), uid])


def backup_bytes(store: Store) -> bytes:
    """A backup of the whole database as bytes (made in a temporary folder, which is then removed)."""
    with tempfile.TemporaryDirectory(prefix="cspdash-backup-") as tmp:
        return store.backup(Path(tmp) / "backup.duckdb").read_bytes()


def daily_path(directory: Path, day: datetime) -> Path:
    """The file of ``day``'s backup: ``csp-2026-11-25.duckdb``."""
    return directory / f"{PREFIX}{day:%Y-%m-%d}.duckdb"


def write_daily(store: Store, directory: str | Path, now: datetime | None = None, keep: int = DEFAULT_KEEP) -> Path | None:
    """Write today's backup into ``directory`` unless it exists; keep the newest ``keep`` daily backups.

    The copy is written under a temporary name and renamed when complete, so a file named ``csp-DATE.duckdb`` is
    always a whole backup. Returns the new file, or None when today's backup was already there.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    target = daily_path(folder, now or datetime.now())
    if target.exists():
        return None
    part = target.with_name(f".{target.name}.part")
    part.unlink(missing_ok=True)  # left by a backup interrupted by a crash or a stop
    part.with_name(part.name + ".wal").unlink(missing_ok=True)
    store.backup(part)
    os.replace(part, target)
    if keep > 0:
        for old in sorted(folder.glob(f"{PREFIX}????-??-??.duckdb"))[:-keep]:
            old.unlink(missing_ok=True)
    return target


@dataclass
class DailyBackups:
    """A thread writing one backup a day, at or after ``at`` (local time); at start if today's is missing and due."""

    store: Store
    directory: Path
    at: time = DEFAULT_AT
    keep: int = DEFAULT_KEEP
    check_every: float = 60.0  # seconds between looks at the clock
    last: Path | None = None
    last_error: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def due(self, now: datetime) -> bool:
        """Whether today's backup should exist by ``now`` and does not."""
        return now.time() >= self.at and not daily_path(self.directory, now).exists()

    def run_once(self, now: datetime | None = None) -> Path | None:
        """Write today's backup if it is due; errors are logged and kept in ``last_error``, never raised."""
        now = now or datetime.now()
        if not self.due(now):
            return None
        try:
            made = write_daily(self.store, self.directory, now, self.keep)
        except Exception as e:  # a failed night must not stop the next one
            self.last_error = f"{now:%Y-%m-%d %H:%M}: {type(e).__name__}: {e}"
            log.error("cspdash: the daily backup into %s failed: %s", self.directory, e)
            return None
        if made is not None:
            self.last, self.last_error = made, None
            log.info("cspdash: daily backup written to %s", made)
        return made

    def start(self) -> DailyBackups:
        """Start the thread (a daemon: it never keeps the server from stopping)."""
        def loop() -> None:
            self.run_once()
            while not self._stop.wait(self.check_every):
                self.run_once()

        self._thread = threading.Thread(target=loop, name="cspdash-daily-backup", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread (tests)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


def settings_from_env(env: dict[str, str] | None = None) -> tuple[Path, time, int] | None:
    """(folder, time, days kept) from ``CSPDASH_BACKUP_DIR``, ``CSPDASH_BACKUP_AT`` (HH:MM) and
    ``CSPDASH_BACKUP_KEEP``; None when no folder is set. A bad value fails with a message that says how to fix it."""
    env = os.environ if env is None else env
    folder = (env.get("CSPDASH_BACKUP_DIR") or "").strip()
    if not folder:
        return None
    at_text = (env.get("CSPDASH_BACKUP_AT") or DEFAULT_AT.strftime("%H:%M")).strip()
    try:
        at = datetime.strptime(at_text, "%H:%M").time()
    except ValueError:
        raise CspdashError(f"CSPDASH_BACKUP_AT is {at_text!r}; expected a time such as 02:30 (24-hour HH:MM)") from None
    keep_text = (env.get("CSPDASH_BACKUP_KEEP") or str(DEFAULT_KEEP)).strip()
    if not keep_text.isdigit():
        raise CspdashError(f"CSPDASH_BACKUP_KEEP is {keep_text!r}; expected a whole number of daily backups to keep "
                           "(0 keeps them all)")
    return Path(folder), at, int(keep_text)


# --- restore ---------------------------------------------------------------------------------------------------------

#: Each sequence and the column whose ids it hands out: a restored sequence continues after both its own last value
#: and the largest id stored.
SEQUENCE_IDS = {"upload_seq": ("uploads", "upload_id"), "event_seq": ("events", "event_id"),
                "snapshot_seq": ("snapshots", "snapshot_id")}
#: Tables a backup may lack: created later on demand (snapshots) or for a dataset declared after the backup was made.
OPTIONAL_TABLES = ("snapshots", "snapshot_items")
SHOWN = 12  # objects named in a refusal; the rest are counted


@dataclass(frozen=True)
class Schema:
    """What a DuckDB database holds besides rows: tables (with their columns and types) and every other object."""

    tables: dict[str, tuple[tuple[str, str], ...]]
    sequences: dict[str, int]  # name -> the next value it would give
    indexes: dict[str, str]  # name -> table
    other: tuple[str, ...]  # "view uploads", "macro lower", "type mood", "schema other": never in a cspdash database


def read_schema(con: duckdb.DuckDBPyConnection) -> Schema:
    """The objects of ``con``'s own database, read from DuckDB's catalog functions (nothing in it is run)."""
    db = con.execute("SELECT current_database()").fetchone()[0]

    def rows(sql: str) -> list[tuple]:
        return con.execute(sql, [db]).fetchall()

    columns: dict[str, list[tuple[str, str]]] = {}
    for schema, table, column, dtype in rows(
            "SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() "
            "WHERE database_name = ? ORDER BY schema_name, table_name, column_index"):
        columns.setdefault(table if schema == "main" else f"{schema}.{table}", []).append((column, dtype))
    tables = {t: () for (t,) in rows("SELECT CASE WHEN schema_name = 'main' THEN table_name "
                                      "ELSE schema_name || '.' || table_name END FROM duckdb_tables() "
                                      "WHERE database_name = ?")}
    tables.update({t: tuple(c) for t, c in columns.items() if t in tables})
    other = [f"view {v}" for (v,) in rows("SELECT view_name FROM duckdb_views() WHERE database_name = ? "
                                          "AND NOT internal ORDER BY 1")]
    other += [f"{kind.replace('_', ' ')} {f}" for f, kind in rows(
        "SELECT DISTINCT function_name, function_type FROM duckdb_functions() WHERE database_name = ? "
        "AND NOT internal ORDER BY 1")]
    other += [f"type {t}" for (t,) in rows("SELECT type_name FROM duckdb_types() WHERE database_name = ? "
                                           "AND NOT internal ORDER BY 1")]
    other += [f"schema {x}" for (x,) in rows("SELECT schema_name FROM duckdb_schemas() WHERE database_name = ? "
                                             "AND NOT internal AND schema_name <> 'main' ORDER BY 1")]
    sequences = {name: (last + 1 if last is not None else start) for name, last, start in rows(
        "SELECT sequence_name, last_value, start_value FROM duckdb_sequences() WHERE database_name = ?")}
    indexes = dict(rows("SELECT index_name, table_name FROM duckdb_indexes() WHERE database_name = ?"))
    return Schema(tables, sequences, indexes, tuple(other))


def expected_schema(version: int, cat: Catalogue) -> Schema:
    """The schema cspdash creates at ``version``: built by the store's own migrations in a database in memory."""
    con = duckdb.connect()
    try:
        con.execute(SCHEMA_VERSION_TABLE)
        for v in range(1, version + 1):
            for stmt in MIGRATIONS[v]:
                con.execute(stmt)
        for d in cat.datasets:
            con.execute(ds.create_table_sql(d))
        for stmt in SNAPSHOT_SCHEMA:
            con.execute(stmt)
        return read_schema(con)
    finally:
        con.close()


def unexpected(found: Schema, expected: Schema, cat: Catalogue) -> list[str]:
    """Every object of ``found`` that ``expected`` does not have, or has otherwise, in words; [] when it matches."""
    out = list(found.other)
    datasets = {ds.table_name(d.name) for d in cat.datasets}
    for table, cols in sorted(found.tables.items()):
        want = expected.tables.get(table)
        if want is None:
            extra = (f" (the catalogue declares no dataset {table[3:]!r})" if table.startswith("ds_") else "")
            out.append(f"table {table}{extra}")
            continue
        have, need = dict(cols), dict(want)
        out += [f"table {table}: column {c} ({t})" for c, t in cols if c not in need]
        out += [f"table {table}: column {c} is missing" for c in need if c not in have]
        out += [f"table {table}: column {c} is {have[c]}, expected {t}" for c, t in want if c in have and have[c] != t]
    out += [f"table {t} is missing" for t in expected.tables
            if t not in found.tables and t not in OPTIONAL_TABLES and t not in datasets]
    out += [f"sequence {s}" for s in sorted(found.sequences) if s not in expected.sequences]
    out += [f"index {i} on {t}" for i, t in sorted(found.indexes.items()) if expected.indexes.get(i) != t]
    return out


def check_backup(src: Path, cat: Catalogue) -> tuple[int, dict[str, list[str]], dict[str, int],
                                                      list[tuple[int, str, str]]]:
    """(schema version, the columns of each table to copy, the sequences' next values, uploads whose original is
    kept beside the file) of a backup that holds nothing but cspdash's own tables and columns; otherwise a
    CspdashError naming what else it holds. Reads only the catalog and the rows of two known tables, in a read-only
    connection. The names returned are those of cspdash's own schema, never text read from the backup."""
    try:
        con = duckdb.connect(str(src), read_only=True)
    except duckdb.Error as e:
        raise CspdashError(f"{src} is not a cspdash backup ({ds._first_line(e)}); nothing was changed") from None
    try:
        found = read_schema(con)
        current = expected_schema(SCHEMA_VERSION, cat)
        if found.tables.get("schema_version") != current.tables["schema_version"]:
            raise CspdashError(f"{src} is not a cspdash backup (no cspdash tables in it); nothing was changed")
        version = con.execute("SELECT max(version) FROM schema_version").fetchone()[0]
        if version is None or not 1 <= version <= SCHEMA_VERSION:
            raise CspdashError(f"{src} has schema version {version}; this cspdash restores versions 1 to "
                               f"{SCHEMA_VERSION}; nothing was changed")
        expected = expected_schema(version, cat)
        odd = unexpected(found, expected, cat)
        if odd:
            more = f" and {len(odd) - SHOWN} more" if len(odd) > SHOWN else ""
            raise CspdashError(
                f"{src} is refused: it holds what a cspdash backup never does: {'; '.join(odd[:SHOWN])}{more}. "
                "A backup is data only; restore brings back no views, macros, sequences or tables cspdash does not "
                "make. Nothing was changed. Fix: restore a backup written by `backup`, the Upload history page or "
                "the daily backup, and keep backups where nobody else can change them")
        outside = con.execute("SELECT upload_id, file_name, sha256 FROM uploads WHERE content IS NULL "
                              "AND size_bytes > 0 ORDER BY upload_id").fetchall()
    except duckdb.Error as e:
        raise CspdashError(f"{src} cannot be read as a cspdash backup ({ds._first_line(e)}); nothing was changed") from None
    finally:
        con.close()
    copied = {t: [c for c, _type in cols] for t, cols in expected.tables.items() if t in found.tables}
    return version, copied, {s: n for s, n in found.sequences.items() if s in expected.sequences}, outside


def _hold(db: Path) -> duckdb.DuckDBPyConnection | None:
    """A read-write connection holding ``db``'s lock (its write-ahead log folded in), so that no app or command
    can open it during the restore; None when there is no database there, or a damaged one nobody can open.
    Refuses, in words, when another process (or this one) holds it."""
    if not db.exists():
        return None
    try:
        con = duckdb.connect(str(db), config={"access_mode": "READ_WRITE"})
    except duckdb.Error as e:
        if held_elsewhere(e):
            raise CspdashError(f"the database {db} is in use by another process: the app is running, or another "
                               "cspdash command; stop it first, then restore. Nothing was changed") from None
        return None  # damaged: the reason to restore
    try:
        checkpoint(con, busy_ok=False)  # the replaced database is kept whole, without a write-ahead log
    except duckdb.Error as e:
        con.close()
        raise CspdashError(f"not restored: the database {db} could not be checkpointed before it is replaced "
                           f"({storage_cause(e, db.parent.resolve())}); nothing was changed") from None
    return con


def restore(backup: str | Path, db: str | Path, cat: Catalogue) -> Path | None:
    """Replace the database ``db`` with the data of ``backup``; return where the replaced database is kept (None
    when there was none).

    The backup is checked first (``check_backup``); then only cspdash's own tables and columns are copied, by
    explicit column lists, into a new database made by the store's schema code, written as a temporary file beside
    ``db``, synced and swapped in by one atomic rename. A refused or interrupted restore leaves ``db`` as it was.
    """
    src, dst = Path(backup), Path(db)
    if not src.is_file():
        raise CspdashError(f"{src} does not exist")
    version, tables, sequences, outside = check_backup(src, cat)
    # A backup made by `backup` holds every original. A database file copied by hand may refer to originals kept
    # beside it (uploads/<sha256>): they must be beside the restored database too, or its files could not be shown.
    here, there = dst.parent / ORIGINALS_DIR, src.parent / ORIGINALS_DIR
    to_copy = [there / sha for _u, _n, sha in outside if not (here / sha).is_file() and (there / sha).is_file()]
    missing = [f"upload {u} ({n})" for u, n, sha in outside if not (here / sha).is_file() and not (there / sha).is_file()]
    if missing:
        raise CspdashError(f"{src} refers to original files kept beside it that are not in {there} or {here}: "
                           f"{', '.join(missing[:5])}{' and more' if len(missing) > 5 else ''}. Fix: copy the "
                           f"{ORIGINALS_DIR} folder from beside the database that was copied, or restore a backup made "
                           "with `backup` (it holds every original)")
    dst.parent.mkdir(parents=True, exist_ok=True)
    lock = _hold(dst)
    tmp = dst.with_name(f".{dst.name}.restore-{os.getpid()}.part")
    try:
        for stale in dst.parent.glob(f".{dst.name}.restore-*.part"):  # left by a restore that was killed
            discard(stale)
        _copy_data(src, tmp, version, tables, sequences, cat)
        for path in to_copy:
            here.mkdir(parents=True, exist_ok=True)
            part = here / f".{path.name}.part"
            shutil.copyfile(path, part)
            fsync_file(part)
            os.replace(part, here / path.name)
        fsync_file(tmp)
        kept = None
        if dst.exists():
            stamp = f"{dst.name}.before-restore-{datetime.now():%Y%m%d-%H%M%S}"
            kept = dst.with_name(stamp)
            n = 1
            while kept.exists():  # two restores within a second: keep both replaced databases
                n += 1
                kept = dst.with_name(f"{stamp}-{n}")
            try:
                os.link(dst, kept)  # the replaced database stays whole under its new name
            except OSError:
                shutil.copyfile(dst, kept)
        wal = dst.with_name(dst.name + ".wal")
        if wal.exists():  # a damaged database's log: it goes with it, and must not be replayed into the new one
            os.replace(wal, dst.with_name((kept.name if kept else f"{dst.name}.before-restore") + ".wal"))
        os.replace(tmp, dst)
        fsync_dir(dst.parent)
    except OSError as e:
        raise CspdashError(f"the restore failed: {e.strerror or e} ({e.filename or dst.parent}); {dst} is unchanged. "
                           f"Fix: check the free space and permissions of {dst.parent}") from None
    finally:
        discard(tmp)
        if lock is not None:
            lock.close()
    return kept


def _copy_data(src: Path, tmp: Path, version: int, tables: dict[str, list[str]], sequences: dict[str, int],
               cat: Catalogue) -> None:
    """Make a new database at ``tmp`` with the store's schema and copy the backup's rows into it, table by table,
    naming every column; the sequences continue after the ids restored."""
    fresh = Database(tmp)
    try:
        fresh.open(cat)
        cur = fresh.cursor()
        if "snapshots" in tables:  # made when the first pack is frozen
            for stmt in SNAPSHOT_SCHEMA:
                cur.execute(stmt)
        cur.execute("ATTACH ? AS restore_src (READ_ONLY)", [str(src)])
        try:
            # Any failure, of the disk or not, stays DuckDB's own error (fail returns it): "not restored", below.
            with transaction(cur, fail=lambda e, _stored: e):
                cur.execute("DELETE FROM schema_version WHERE version <= ?", [version])
                for table, cols in tables.items():
                    names = ", ".join(f'"{c}"' for c in cols)
                    cur.execute(f'INSERT INTO main."{table}" ({names}) '  # noqa: S608  (cspdash's own names)
                                f'SELECT {names} FROM restore_src.main."{table}"')
                for seq, (table, column) in ((s, tc) for s, tc in SEQUENCE_IDS.items() if tc[0] in tables):
                    top = cur.execute(f'SELECT max("{column}") FROM main."{table}"').fetchone()[0]  # noqa: S608
                    start = max(sequences.get(seq, 1), (top or 0) + 1)
                    cur.execute(f"CREATE OR REPLACE SEQUENCE {seq} START {int(start)}")
        finally:
            cur.execute("DETACH restore_src")
        checkpoint(cur, busy_ok=False)
    except duckdb.Error as e:
        raise CspdashError(f"not restored: {storage_cause(e, tmp.parent.resolve())}; nothing was changed") from None
    finally:
        fresh.close()
    if tmp.with_name(tmp.name + ".wal").exists():
        raise CspdashError(f"the restored database {tmp} was not written whole (its write-ahead log remains)")


def fsync_file(path: Path) -> None:
    with path.open("rb+") as f:
        os.fsync(f.fileno())


def discard(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)
