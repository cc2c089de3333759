"""The PostgreSQL engine (``db.Engine``): a psycopg 3 connection pool, the same migrations translated, and cursors
that take the SQL in DuckDB's notation (docs/scaling.md#design-how-the-store-runs-on-either-engine-issue-16).

Every process (app replica, CLI command) has its own pool; PostgreSQL orders their writes (row locks, transactions,
sequences), so ``lock`` serialises only this process's. Connections are in autocommit mode: a statement outside
``transaction`` commits on its own, as on DuckDB, and ``transaction`` is an explicit ``BEGIN ... COMMIT``.
Only the store's system-of-record tables live here; record-level extracts do not (they become Parquet files).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool

from cspdash import db
from cspdash.dburl import PostgresTarget
from cspdash.errors import CspdashError, StorageError

if TYPE_CHECKING:
    from cspdash.config import Catalogue

T = TypeVar("T")

#: The key of the advisory lock held while migrating: two processes that open a new database at once migrate once.
MIGRATION_LOCK = 0x63737064  # "cspd"
#: The key of the advisory lock under which a data event takes its id (``Cursor.in_commit_order``).
DATA_EVENT_LOCK = 0x63737076  # "cspv"
CONNECT_TIMEOUT = 10  # seconds

#: Quoted strings, quoted names and ``--`` comments: copied as they are (only ``%`` doubled), never translated.
_VERBATIM = re.compile(r"('(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*)")
_PLACEHOLDER = re.compile(r"\?|\$([A-Za-z_]\w*)|%")
#: DuckDB's column types that PostgreSQL spells otherwise.
_TYPES = ((re.compile(r"\bVARCHAR\[\]", re.I), "TEXT[]"), (re.compile(r"\bBLOB\b", re.I), "BYTEA"),
          (re.compile(r"\bDOUBLE\b(?!\s+PRECISION)", re.I), "DOUBLE PRECISION"))


def translate(sql: str) -> str:
    """DuckDB's placeholders as psycopg's: ``?`` to ``%s``, ``$name`` to ``%(name)s``, a literal ``%`` doubled;
    nothing inside quotes or a comment changes but its ``%``."""
    def placeholder(m: re.Match) -> str:
        if m.group(0) == "?":
            return "%s"
        if m.group(0) == "%":
            return "%%"
        return f"%({m.group(1)})s"

    return "".join(part.replace("%", "%%") if i % 2 else _PLACEHOLDER.sub(placeholder, part)
                   for i, part in enumerate(_VERBATIM.split(sql)))


def ddl(stmt: str) -> str:
    """A DuckDB schema statement (``db.MIGRATIONS``, ``db.SNAPSHOT_SCHEMA``) in PostgreSQL's types."""
    for pattern, name in _TYPES:
        stmt = pattern.sub(name, stmt)
    return stmt


class Cursor:
    """A ``db.Cursor`` on the pool: a held connection (``PostgresDatabase.writer``) until ``close``, or one borrowed
    for each statement (``PostgresDatabase.cursor``). A statement's rows are fetched at once."""

    def __init__(self, pool: ConnectionPool, held: bool, where: str = "PostgreSQL") -> None:
        self._pool = pool
        self._where = where  # the masked URL, for messages
        self._rows: list[Any] = []
        self._next = 0
        self.description: list[tuple[str, int]] | None = None
        self._con: psycopg.Connection | None = None
        if held:
            with self._unreachable():
                self._con = pool.getconn()

    def execute(self, sql: str, parameters: object = None) -> Cursor:
        query = sql if parameters is None else translate(sql)
        with self._unreachable():
            if self._con is not None:
                self._take(self._con.execute(query, parameters))
            else:
                with self._pool.connection() as con:
                    self._take(con.execute(query, parameters))
        return self

    @contextlib.contextmanager
    def _unreachable(self) -> Iterator[None]:
        """A lost connection or a server that cannot be reached (``OperationalError``, a pool timeout) raised as a
        StorageError in words: the statement, and its transaction, did not happen."""
        try:
            yield
        except psycopg.OperationalError as e:
            raise StorageError(f"not stored: the database {self._where} failed or cannot be reached "
                               f"({_first_line(e)}); try again once it is back", stored=False) from None

    def _take(self, cur: psycopg.Cursor) -> None:
        self.description = None if cur.description is None else [(c.name, c.type_code) for c in cur.description]
        self._rows = cur.fetchall() if cur.description is not None else []
        self._next = 0

    def in_commit_order(self) -> None:
        """Hold ``DATA_EVENT_LOCK`` to the end of this transaction; ``db.event`` calls it before a data event's id.

        Several processes write the store, and a sequence hands out ids in the order they are asked for, not the
        order their transactions commit. Under this lock data events commit in the order of their ids, so
        max(event_id), the data version that keys every replica's caches, rises at every commit: otherwise an id
        taken by a transaction that commits after a later one would never raise the maximum, and a replica would
        keep serving what it had cached before that commit."""
        self.execute("SELECT pg_advisory_xact_lock(?)", [DATA_EVENT_LOCK])

    def fetchone(self) -> Any:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[Any]:
        rest, self._next = self._rows[self._next:], len(self._rows)
        return rest

    def close(self) -> None:
        if self._con is not None:
            self._pool.putconn(self._con)
            self._con = None


class PostgresDatabase:
    """One PostgreSQL database through a pool of connections (``db.Engine``)."""

    def __init__(self, target: PostgresTarget, max_size: int = 10) -> None:
        self.target = target
        self.path = target.masked()  # for messages: never the password
        self.lock = threading.RLock()
        self.generation = 1
        args = {**target.connect_args(), "connect_timeout": CONNECT_TIMEOUT}
        probe(target).close()  # one connection first: a refusal said in PostgreSQL's words, not as a pool timeout
        # check: a connection is tried before it is lent, so one the server dropped (a restart) is replaced unseen
        self.pool = ConnectionPool(kwargs={**args, "autocommit": True}, min_size=1, max_size=max_size, open=False,
                                   name="cspdash", check=ConnectionPool.check_connection, timeout=CONNECT_TIMEOUT)
        self.pool.open(wait=True, timeout=CONNECT_TIMEOUT)

    def open(self, cat: Catalogue) -> None:
        """Bring the schema up to date (``migrate``)."""
        self.migrate(cat)

    def migrate(self, cat: Catalogue) -> None:
        """Apply the migrations this database lacks, translated, in one transaction under the migration lock."""
        cur = self.writer()
        try:
            with self.transaction(cur):
                cur.execute("SELECT pg_advisory_xact_lock(?)", [MIGRATION_LOCK])
                cur.execute(db.SCHEMA_VERSION_TABLE)
                have = cur.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
                if have > db.SCHEMA_VERSION:
                    raise CspdashError(f"{self.path} was written by a newer cspdash (schema {have}, this one knows "
                                       f"{db.SCHEMA_VERSION}); upgrade cspdash")
                for v in range(have + 1, db.SCHEMA_VERSION + 1):
                    for stmt in db.MIGRATIONS[v]:
                        cur.execute(ddl(stmt))
                    cur.execute("INSERT INTO schema_version VALUES (?, ?)", [v, db.now()])
        finally:
            cur.close()

    def cursor(self) -> Cursor:
        """A cursor that borrows a connection for each statement."""
        return Cursor(self.pool, held=False, where=self.path)

    def writer(self) -> Cursor:
        """A cursor holding one connection until it is closed (a transaction runs on one connection)."""
        return Cursor(self.pool, held=True, where=self.path)

    @contextlib.contextmanager
    def transaction(self, cur: Cursor, begun: bool = False) -> Iterator[None]:
        """``BEGIN`` (unless ``begun``) ... ``COMMIT``; ``ROLLBACK`` on an error, which is raised as it came."""
        if not begun:
            cur.execute("BEGIN")
        try:
            yield
        except BaseException:
            with contextlib.suppress(psycopg.Error, StorageError):
                cur.execute("ROLLBACK")
            raise
        try:
            cur.execute("COMMIT")
        except StorageError as e:  # the commit may or may not have reached the server before it was lost
            raise StorageError(f"{str(e).removeprefix('not stored: ')}; whether the change was stored is unknown: "
                               "look at `history` (or the History page) before trying again") from None

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[psycopg.Connection]:
        """A pooled connection inside one ``REPEATABLE READ``, read-only transaction: every table as of one moment
        while other processes go on writing (``backups_pg``); rolled back at the end (there is nothing to commit)."""
        with self.pool.connection() as con:
            con.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                yield con
            finally:
                con.execute("ROLLBACK")

    def checkpoint(self, cur: Cursor) -> None:
        """Nothing: a PostgreSQL commit is durable as it returns."""

    def write(self, work: Callable[[Cursor], T]) -> T:
        """Run ``work(cur)`` in one transaction; its result."""
        cur = self.writer()
        try:
            with self.transaction(cur):
                return work(cur)
        finally:
            cur.close()

    def data_version(self) -> int:
        """A number that every committed change to figures or commentary increases, in any process."""
        return int(self.cursor().execute("SELECT coalesce(max(event_id), 0) FROM events WHERE action = ANY(?)",
                                         [list(db.DATA_ACTIONS)]).fetchone()[0])

    def revive(self) -> None:
        """Nothing: the pool replaces a broken connection by itself."""

    def close(self) -> None:
        self.pool.close()


def probe(target: PostgresTarget) -> psycopg.Connection:
    """A connection to ``target`` (autocommit), or a CspdashError in PostgreSQL's words with the URL masked."""
    try:
        return psycopg.connect(**target.connect_args(), connect_timeout=CONNECT_TIMEOUT, autocommit=True)
    except psycopg.Error as e:
        raise CspdashError(f"cannot connect to the database {target.masked()}: {_first_line(e)}. Fix: check the "
                           "URL in --db or $CSPDASH_DB, and that the server is running and lets this user in") from None


def has_schema(target: PostgresTarget) -> bool:
    """Whether the PostgreSQL database ``target`` holds cspdash's tables (``init`` or ``demo`` made them)."""
    with probe(target) as con:
        return bool(con.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()[0])


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]
