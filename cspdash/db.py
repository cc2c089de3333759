"""The database engine: the connection, migrations, transactions, checkpoints, rows as dicts and the audit events.

``Engine`` is the seam the noun modules are written against (docs/scaling.md#design-how-the-store-runs-on-either-engine-issue-16):
``Database`` below is the DuckDB engine, ``cspdash.pg.PostgresDatabase`` the PostgreSQL one. SQL is written once,
in DuckDB's notation (``?`` and ``$name`` placeholders); the PostgreSQL engine's cursor translates it.

One process owns the file: one connection, a cursor per thread, writes serialised by a lock, an explicit
``BEGIN ... COMMIT`` around each write (``transaction``) and ``CHECKPOINT`` after it (``checkpoint``). This is the
only module that writes those statements; the noun modules (figures, uploads, originals, accounts, backups,
snapshots) hold their own SQL and go through here for everything that is particular to the engine.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import duckdb

from cspdash import datasets as ds
from cspdash.errors import CspdashError, StorageError

if TYPE_CHECKING:
    from cspdash.config import Catalogue

SCHEMA_VERSION = 3
SCHEMA_VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP)"
DATA_ACTIONS = ("upload", "withdraw", "commentary", "restore", "freeze")  # events that change what the dashboard shows

MIGRATIONS: dict[int, list[str]] = {
    1: [
        "CREATE SEQUENCE IF NOT EXISTS upload_seq START 1",
        "CREATE SEQUENCE IF NOT EXISTS event_seq START 1",
        """CREATE TABLE uploads (
            upload_id INTEGER PRIMARY KEY,
            kind VARCHAR NOT NULL,              -- return | dataset | commentary
            dataset VARCHAR,
            file_name VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL,
            size_bytes BIGINT NOT NULL,
            content BLOB,
            user_name VARCHAR NOT NULL,
            uploaded_at TIMESTAMP NOT NULL,
            rows BIGINT NOT NULL,
            state VARCHAR NOT NULL,             -- active | withdrawn
            withdrawn_at TIMESTAMP,
            withdrawn_by VARCHAR,
            withdraw_reason VARCHAR,
            note VARCHAR
        )""",
        """CREATE TABLE observations (
            upload_id INTEGER NOT NULL,
            indicator VARCHAR NOT NULL,
            period VARCHAR NOT NULL,
            grain VARCHAR NOT NULL,
            period_start DATE NOT NULL,
            area VARCHAR NOT NULL,              -- '' = the partnership's own area
            value DOUBLE PRECISION,
            numerator DOUBLE,
            denominator DOUBLE,
            source_row BIGINT
        )""",
        """CREATE TABLE commentary (
            upload_id INTEGER NOT NULL,
            indicator VARCHAR NOT NULL,
            period VARCHAR NOT NULL,
            grain VARCHAR NOT NULL,
            text VARCHAR NOT NULL,
            source_row BIGINT
        )""",
        """CREATE TABLE events (
            event_id BIGINT PRIMARY KEY,
            event_at TIMESTAMP NOT NULL,
            user_name VARCHAR NOT NULL,
            action VARCHAR NOT NULL,
            upload_id INTEGER,
            detail VARCHAR
        )""",
        "CREATE INDEX obs_indicator ON observations (indicator)",
    ],
    2: [
        """CREATE TABLE users (
            email VARCHAR PRIMARY KEY,          -- lower case
            role VARCHAR NOT NULL,              -- admin | chair | viewer | meeting
            subgroups VARCHAR[] NOT NULL,
            password_hash VARCHAR,              -- argon2id; NULL for accounts that sign in through the identity provider
            disabled BOOLEAN NOT NULL,
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR NOT NULL,
            failed_signins INTEGER NOT NULL,
            last_failed_at TIMESTAMP,
            last_signin_at TIMESTAMP
        )""",
    ],
    3: [
        # An upload of invented figures (the demo's partner returns, `import --synthetic`): its figures are labelled.
        "ALTER TABLE uploads ADD COLUMN synthetic BOOLEAN NOT NULL DEFAULT false",
        # A month of police data loaded while recent (partnership.provisional_months): often revised later.
        "DROP INDEX obs_indicator",  # DuckDB cannot alter a table an index depends on
        "ALTER TABLE observations ADD COLUMN provisional BOOLEAN NOT NULL DEFAULT false",
        "CREATE INDEX obs_indicator ON observations (indicator)",
    ],
}

#: The tables of frozen meeting packs (``cspdash.snapshots``): made when the first pack is frozen, not by a migration;
#: a restore checks a backup against them too. Spelled so that both engines take them as they are.
SNAPSHOT_SCHEMA = (
    "CREATE SEQUENCE IF NOT EXISTS snapshot_seq START 1",
    """CREATE TABLE IF NOT EXISTS snapshots (
        snapshot_id INTEGER PRIMARY KEY,
        period VARCHAR NOT NULL,            -- the quarter presented, e.g. 2025/26 Q3
        meeting_date DATE NOT NULL,
        frozen_by VARCHAR NOT NULL,
        frozen_at TIMESTAMP NOT NULL,       -- UTC
        data_as_at VARCHAR,                 -- the data-as-at stamp shown in the pack
        data_version BIGINT NOT NULL,       -- store.data_version() when frozen
        pack VARCHAR NOT NULL               -- the whole pack as JSON (report.PackData.to_json)
    )""",
    """CREATE TABLE IF NOT EXISTS snapshot_items (
        snapshot_id INTEGER NOT NULL,
        position INTEGER NOT NULL,          -- catalogue order when frozen
        indicator VARCHAR NOT NULL,
        priority VARCHAR NOT NULL,
        title VARCHAR NOT NULL,
        value DOUBLE PRECISION,
        target DOUBLE PRECISION,
        comparator DOUBLE PRECISION,
        rag VARCHAR NOT NULL,
        variation VARCHAR,
        assurance VARCHAR,
        reason VARCHAR NOT NULL,
        commentary VARCHAR,                 -- the commentary shown, for queries; the pack JSON is authoritative
        PRIMARY KEY (snapshot_id, indicator)
    )""",
)

T = TypeVar("T")

#: Builds the exception raised for a failure of the disk: (DuckDB's error, whether the change was stored).
Fail = Callable[[duckdb.Error, bool], BaseException]


def now() -> datetime:
    """The time now in UTC, without a time zone (as every timestamp is stored)."""
    return datetime.now(UTC).replace(tzinfo=None)


class Cursor(Protocol):
    """What both engines' cursors offer: a DuckDB cursor as it is, a PostgreSQL one through ``cspdash.pg``."""

    @property
    def description(self) -> Any: ...  # a sequence of columns, each with its name first; None after a statement
    def execute(self, sql: str, parameters: object = None) -> Cursor: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def close(self) -> None: ...


class Engine(Protocol):
    """What the noun modules use of a database, whichever engine holds it (``Database``: DuckDB;
    ``cspdash.pg.PostgresDatabase``: PostgreSQL). ``lock`` serialises this process's writes; ``generation`` counts
    the connections opened (a cache keyed by it is read again after a reopen)."""

    lock: contextlib.AbstractContextManager
    generation: int

    def open(self, cat: Catalogue) -> None: ...
    def cursor(self) -> Cursor: ...
    def writer(self) -> Cursor: ...
    def transaction(self, cur: Any, begun: bool = False) -> contextlib.AbstractContextManager: ...
    def checkpoint(self, cur: Any) -> None: ...
    def write(self, work: Callable[[Any], T]) -> T: ...
    def data_version(self) -> int: ...
    def revive(self) -> None: ...
    def close(self) -> None: ...


# --- statements of the engine ----------------------------------------------------------------------------------------

def begin(cur: duckdb.DuckDBPyConnection) -> None:
    """Open a transaction on ``cur`` (``transaction`` does this; only a caller that must keep a transaction open
    across work of its own before it can use ``transaction(begun=True)`` calls it directly)."""
    cur.execute("BEGIN TRANSACTION")


def rollback(cur: duckdb.DuckDBPyConnection) -> None:
    """Roll back ``cur``'s open transaction (raises, as DuckDB does, when none is open)."""
    cur.execute("ROLLBACK")


@contextlib.contextmanager
def transaction(cur: duckdb.DuckDBPyConnection, begun: bool = False, fail: Fail | None = None) -> Iterator[None]:
    """``BEGIN`` (unless ``begun``) ... ``COMMIT``; on an error ``ROLLBACK``, whose own failure ("no transaction is
    active" after a failed commit) never hides the cause. A failure of the disk inside the transaction, or a failed
    commit, is raised as ``fail(error, stored)`` (default: DuckDB's own error); ``stored`` says whether the change
    was stored (DuckDB may checkpoint at commit, after the change is in the write-ahead log)."""
    if not begun:
        begin(cur)
    try:
        yield
    except BaseException as e:
        with contextlib.suppress(duckdb.Error):
            rollback(cur)
        if isinstance(e, duckdb.Error) and storage_failure(e) and fail is not None:
            raise fail(e, False) from None
        raise
    try:
        cur.execute("COMMIT")
    except duckdb.Error as e:
        with contextlib.suppress(duckdb.Error):
            rollback(cur)
        if fail is None:
            raise
        raise fail(e, "checkpoint" in str(e).lower()) from None


def checkpoint(cur: duckdb.DuckDBPyConnection, busy_ok: bool = True) -> bool:
    """Fold the write-ahead log into the database file; False when another open transaction (a reader on another
    cursor) prevents it and ``busy_ok``: DuckDB then checkpoints by itself later. Any other error is raised."""
    try:
        cur.execute("CHECKPOINT")
    except duckdb.TransactionException:
        if not busy_ok:
            raise
        return False
    return True


def rows(rel: Cursor) -> list[dict]:
    """The rows of an executed query as JSON-ready dicts (timestamps and dates as ISO text)."""
    cols = [d[0] for d in rel.description]
    return [jsonable(dict(zip(cols, r, strict=True))) for r in rel.fetchall()]


def jsonable(d: dict) -> dict:
    """``d`` with its datetimes and dates as ISO text (changed in place, and returned)."""
    for k, v in d.items():
        if isinstance(v, datetime):
            d[k] = v.isoformat(sep=" ", timespec="seconds")
        elif hasattr(v, "isoformat"):
            d[k] = v.isoformat()
    return d


def event(cur: Cursor, user: str, action: str, upload_id: int | None, detail: str,
          at: datetime | None = None) -> None:
    """Append one event to the audit trail (inside the caller's transaction, if one is open)."""
    if action in DATA_ACTIONS:  # PostgreSQL: data events commit in the order of their ids (pg.Cursor.in_commit_order)
        getattr(cur, "in_commit_order", lambda: None)()
    eid = cur.execute("SELECT nextval('event_seq')").fetchone()[0]
    cur.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", [eid, at or now(), user, action, upload_id, detail])


def database_name(cur: duckdb.DuckDBPyConnection) -> str:
    """The name of ``cur``'s own database, quoted for SQL."""
    name = cur.execute("SELECT current_database()").fetchone()[0]
    return '"' + name.replace('"', '""') + '"'


# --- the connection ---------------------------------------------------------------------------------------------------

class Database:
    """One DuckDB file opened once per process: a cursor per thread, writes under ``lock``, reopened after a
    failure of the disk."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.memory = str(path) == ":memory:"
        if not self.memory:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()  # serialises writes
        self._local = threading.local()
        self.generation = 0  # counts the connections opened: a thread's cursor of an earlier one is replaced
        self._failed = False  # a failure of the disk may have invalidated the connection: check before the next use
        self._con = self._connect()

    @property
    def folder(self) -> Path:
        """The folder of the database file (where a full disk needs space)."""
        return Path.cwd() if self.memory else self.path.parent.resolve()

    def _connect(self) -> duckdb.DuckDBPyConnection:
        try:
            con = duckdb.connect(str(self.path))
        except duckdb.Error as e:
            raise self.open_error(e) from None
        self.generation += 1
        return con

    def open(self, cat: Catalogue) -> None:
        """Bring the schema up to date (and create the catalogue's dataset tables), then retry a checkpoint that
        failed before; an error closes the database and is raised in words."""
        try:
            self.migrate(cat)
        except duckdb.Error as e:
            with contextlib.suppress(duckdb.Error):
                self._con.close()
            raise self.open_error(e) from None
        if not self.memory and self.path.with_name(self.path.name + ".wal").exists():
            try:  # a checkpoint that failed before (a full disk): retried now that the log has been replayed
                checkpoint(self._con)
            except duckdb.Error:
                self._failed = True  # still failing: the connection is reopened at its first use

    def open_error(self, e: duckdb.Error) -> CspdashError:
        """Why the database cannot be opened, in words: held by another process, damaged, or out of disk space."""
        cause = ds._first_line(e)
        if held_elsewhere(e):
            return CspdashError(f"cannot open the database {self.path}: another process holds it ({cause}); stop "
                                "the app or the other cspdash command first, or do this in the app")
        if damaged(e):
            return damaged_error(self.path, e)
        if disk_full(e):
            return StorageError(f"cannot open the database {self.path}: {storage_cause(e, self.folder)}")
        return CspdashError(f"cannot open the database {self.path}: {cause}; is it a cspdash database?")

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor (a DuckDB connection is not thread-safe; cursors are)."""
        if self._failed:
            self.revive()
        held = getattr(self._local, "cur", None)
        if held is None or held[0] != self.generation:
            held = (self.generation, self._con.cursor())
            self._local.cur = held
        return held[1]

    def close(self) -> None:
        """Close the database (a checkpoint that fails here is retried when it is next opened)."""
        with contextlib.suppress(duckdb.Error):
            self._con.close()

    def revive(self) -> None:
        """Open the database again when a failure of the disk has invalidated the connection (DuckDB then refuses
        every query until it is reopened; reopening replays the committed changes from the write-ahead log). A
        no-op while nothing has failed; a StorageError, in words, while the cause (a full disk) remains."""
        if not self._failed:
            return
        with self.lock:
            if not self._failed:
                return
            try:
                with contextlib.closing(self._con.cursor()) as probe:
                    probe.execute("SELECT 1").fetchall()
                self._failed = False
                return
            except duckdb.Error:
                pass
            with contextlib.suppress(duckdb.Error):
                self._con.close()  # closes every cursor of it too
            self._con = self._connect()
            self._failed = False

    def writer(self) -> duckdb.DuckDBPyConnection:
        """A new cursor for a write, to be taken under ``lock`` (reopening the database first if it has failed)."""
        self.revive()
        return self._con.cursor()

    def transaction(self, cur: duckdb.DuckDBPyConnection, begun: bool = False) -> contextlib.AbstractContextManager:
        """``transaction`` on ``cur``, a failure of the disk raised as a StorageError that says whether the change
        was stored."""
        return transaction(cur, begun, self.storage_error)

    def checkpoint(self, cur: duckdb.DuckDBPyConnection) -> None:
        """Fold the write-ahead log into the database file, when no other transaction is open.

        The commit is already durable in the log. A reader on another cursor (another session of the app, or a
        result not yet fetched) makes CHECKPOINT fail: then DuckDB checkpoints by itself later, and the write is no
        error. A failure of the disk is: it is raised as "stored, but the checkpoint failed" (the database is
        reopened, and the log checkpointed, at its next use).
        """
        try:
            checkpoint(cur)
        except duckdb.Error as e:
            raise self.storage_error(e, stored=True) from None

    def storage_error(self, e: duckdb.Error, stored: bool) -> StorageError:
        """A failure of the disk in words; the connection is looked at before its next use."""
        self.mark_failed()
        return storage_error(e, self.folder, stored)

    def mark_failed(self) -> None:
        """Look at the connection before its next use (a failure of the disk may have invalidated it)."""
        self._failed = True

    def migrate(self, cat: Catalogue) -> None:
        """Apply the migrations this database lacks, each in its own transaction; create the dataset tables."""
        with self.lock:
            cur = self.writer()
            cur.execute(SCHEMA_VERSION_TABLE)
            have = cur.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
            if have > SCHEMA_VERSION:
                raise CspdashError(f"{self.path} was written by a newer cspdash (schema {have}, this one knows "
                                   f"{SCHEMA_VERSION}); upgrade cspdash")
            for v in range(have + 1, SCHEMA_VERSION + 1):
                with self.transaction(cur):
                    for stmt in MIGRATIONS[v]:
                        cur.execute(stmt)
                    cur.execute("INSERT INTO schema_version VALUES (?, ?)", [v, now()])
            for d in cat.datasets:
                cur.execute(ds.create_table_sql(d))
            cur.close()

    def write(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``work(cur)`` in one transaction under the write lock, then checkpoint; its result."""
        with self.lock:
            cur = self.writer()
            try:
                with self.transaction(cur):
                    out = work(cur)
                self.checkpoint(cur)
            finally:
                cur.close()
        return out

    def data_version(self) -> int:
        """A number that every committed change increases (cache key for the UI)."""
        # fetchall, not fetchone: a result left open keeps its transaction open, and that blocks CHECKPOINT.
        # Only changes to figures and commentary count: a sign-in must not empty the UI's caches.
        return int(self.cursor().execute(
            "SELECT coalesce(max(event_id), 0) FROM events WHERE action = ANY(?)",
            [list(DATA_ACTIONS)]).fetchall()[0][0])


# --- failures of the disk and of the file ------------------------------------------------------------------------------

#: Words of DuckDB's errors when the disk (or the file size the process may write) is full.
_FULL = ("no space left on device", "file too large", "disk quota exceeded", "not enough space")
#: Words of DuckDB's errors when a database file is damaged.
_DAMAGED = ("corrupt", "checksum", "not a valid duckdb database file", "could not read enough bytes")


def disk_full(e: BaseException) -> bool:
    """Whether an error says the disk is full."""
    return any(w in str(e).lower() for w in _FULL)


def held_elsewhere(e: BaseException) -> bool:
    """Whether an error says another process (DuckDB's file lock) or this one (another configuration) holds the file."""
    text = str(e).lower()
    return "could not set lock" in text or "conflicting lock" in text or "different configuration" in text


def damaged(e: BaseException) -> bool:
    """Whether an error says the database file is damaged."""
    return any(w in str(e).lower() for w in _DAMAGED)


def newest_backup(db: str | Path, env: dict[str, str] | None = None) -> Path | None:
    """The newest backup (``*.duckdb`` by time written) in ``CSPDASH_BACKUP_DIR`` or in ``backups/`` beside the
    database ``db``; None when there is none: what to restore when the database is damaged."""
    env = os.environ if env is None else env
    folders = [Path(f) for f in ((env.get("CSPDASH_BACKUP_DIR") or "").strip(),) if f]
    folders.append(Path(db).parent / "backups")
    found = [p for folder in folders if folder.is_dir() for p in folder.glob("*.duckdb") if p.is_file()]
    return max(found, key=lambda p: (p.stat().st_mtime, p.name)) if found else None


def damaged_error(db: Path, e: BaseException) -> CspdashError:
    """A damaged database file, in words: what DuckDB found and the ``restore`` of the newest backup, named when
    ``CSPDASH_BACKUP_DIR`` or a ``backups`` folder beside the database holds one."""
    newest = newest_backup(db)
    where = (f"the newest backup is {newest}: python -m cspdash --db {db} restore {newest}" if newest
             else f"python -m cspdash --db {db} restore BACKUP (no backup was found in $CSPDASH_BACKUP_DIR or a "
             "backups folder beside the database)")
    return CspdashError(f"the database {db} is damaged ({ds._first_line(e)}). Fix: stop the app and restore the "
                        f"newest backup; {where}")


def storage_failure(e: duckdb.Error) -> bool:
    """Whether a DuckDB error is a failure of the disk or the database file rather than of a statement."""
    return (isinstance(e, duckdb.IOException | duckdb.FatalException) or disk_full(e)
            or "invalidated" in str(e) or damaged(e))


def storage_cause(e: BaseException, folder: Path) -> str:
    """The cause of a storage failure in words: "the disk is full (free space at FOLDER)" or DuckDB's own words
    (the original error, not "database has been invalidated")."""
    if disk_full(e):
        return f"the disk is full (free space at {folder})"
    text = str(e)
    if "Original error:" in text:  # "database has been invalidated ... Original error: ..."
        text = text.split("Original error:", 1)[1].strip().strip('"')
    for prefix in ("FATAL Error: ", "TransactionContext Error: ", "IO Error: ", "Failed to commit: ",
                   "Failed to create checkpoint because of error: "):
        text = text.replace(prefix, "")
    return text.strip().splitlines()[0] if text.strip() else type(e).__name__


def storage_error(e: BaseException, folder: Path, stored: bool) -> StorageError:
    """"stored, but the checkpoint failed: CAUSE; it will be retried" or "not stored: CAUSE"."""
    cause = storage_cause(e, folder)
    if stored:
        return StorageError(f"stored, but the checkpoint failed: {cause}; it will be retried", stored=True)
    return StorageError(f"not stored: {cause}", stored=False)
