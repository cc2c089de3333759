"""The CSP's data behind one facade, on either engine (a DuckDB file or a PostgreSQL database, ``cspdash.dburl``):
``Store`` keeps the methods every page, command and test calls, and hands each to the module of its noun.

- ``db``: the connection (a cursor per thread, writes under a lock, reopened after a failure of the disk), the
  migrations, ``transaction()`` and ``checkpoint()``, rows as dicts and the audit events;
- ``figures``: the figures as they count now, statuses, history, series, provenance and commentary;
- ``uploads``: the import pipeline, its preview, withdrawals and typed commentary;
- ``originals``: the original files kept beside the database (PostgreSQL: in ``$CSPDASH_EXTRACTS``), content-addressed;
- ``accounts``: users, sign-in and lock-out, who may manage accounts;
- ``backups``: the consistent copy of the whole database (and the daily backups and restore).

All values go in as bound parameters; the only SQL built from text is table names made from validated dataset names
and the catalogue's trusted measures.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from pathlib import Path

from cspdash import backups
from cspdash.accounts import Accounts
from cspdash.auth import User
from cspdash.config import Catalogue
from cspdash.db import (  # noqa: F401  (names other modules and tests import from here)
    DATA_ACTIONS,
    MIGRATIONS,
    SCHEMA_VERSION,
    SCHEMA_VERSION_TABLE,
    Cursor,
    Database,
    Engine,
    damaged,
    damaged_error,
    disk_full,
    held_elsewhere,
    storage_cause,
    storage_error,
    storage_failure,
)
from cspdash.dburl import DuckDBTarget, PostgresTarget, parse_db
from cspdash.errors import CspdashError, DatabaseMissing
from cspdash.figures import CURRENT_OBS, Figures  # noqa: F401
from cspdash.ingest import SourceFile
from cspdash.originals import INLINE_ORIGINAL_BYTES, ORIGINALS_DIR, Originals  # noqa: F401
from cspdash.periods import Period
from cspdash.status import Figure, Observation, Rollup, Status
from cspdash.uploads import Change, ImportResult, Uploads  # noqa: F401


class Store:
    """The CSP's data, opened once per process: a DuckDB file (a path) or a PostgreSQL database (a URL)."""

    def __init__(self, db: str | Path | DuckDBTarget | PostgresTarget, catalogue: Catalogue) -> None:
        self.target = target = store_target(db)
        self.cat = catalogue
        self.path: Path | str  # the file, or the PostgreSQL URL with its password masked (for messages and cache keys)
        if isinstance(target, PostgresTarget):
            from cspdash.pg import PostgresDatabase  # psycopg is loaded only for a PostgreSQL store

            self.path = target.masked()
            self.db: Engine = PostgresDatabase(target)
            self._originals = Originals.shared()
        else:
            self.path = Path(target.path)
            self.db = Database(target.path)
            self._originals = Originals(self.path)
        try:
            self.db.open(catalogue)
        except BaseException:
            self.db.close()
            raise
        self._figures = Figures(self.db, catalogue)
        self._accounts = Accounts(self.db, catalogue)
        self._uploads = Uploads(self.db, catalogue, self._originals, self._figures, self._accounts)
        if isinstance(target, PostgresTarget):  # record-level files as Parquet under $CSPDASH_EXTRACTS
            from cspdash import pg_import

            self._uploads.dataset_import = pg_import.import_dataset

    # --- connection ---------------------------------------------------------------------------
    @property
    def folder(self) -> Path | None:
        """The folder of the database file (where a full disk needs space); None for PostgreSQL."""
        return getattr(self.db, "folder", None)

    def cursor(self) -> Cursor:
        """This thread's cursor (DuckDB: a connection is not thread-safe, cursors are; PostgreSQL: a pooled one)."""
        return self.db.cursor()

    def close(self) -> None:
        """Close the database (a checkpoint that fails here is retried when it is next opened)."""
        self.db.close()

    def revive(self) -> None:
        """Open the database again when a failure of the disk has invalidated the connection (``Database.revive``)."""
        self.db.revive()

    def data_version(self) -> int:
        """A number that every committed change increases (cache key for the UI)."""
        return self.db.data_version()

    # --- figures (cspdash.figures) ------------------------------------------------------------
    def is_empty(self) -> bool:
        """Whether nothing has ever been uploaded."""
        return self._figures.is_empty()

    def current_observations(self, indicators: Sequence[str] | None = None, area: str = "") -> dict[str, list[Observation]]:
        """The figures that count now (latest active upload per indicator, period and area), by indicator."""
        return self._figures.current_observations(indicators, area)

    def current_figures(self) -> dict[str, dict[Period, Figure]]:
        """Every catalogue indicator's figures at its rated grain, by indicator id (``Figures.current_figures``)."""
        return self._figures.current_figures()

    def statuses(self, period: Period | None = None) -> list[Status]:
        """Every indicator's status for ``period`` (default: the latest complete quarter)."""
        return self._figures.statuses(period)

    def statuses_by_quarter(self, quarters: Iterable[Period] | None = None) -> dict[Period, list[Status]]:
        """Every indicator's status for each of ``quarters`` (default: every quarter with a complete figure)."""
        return self._figures.statuses_by_quarter(quarters)

    def rollups(self, statuses: Sequence[Status]) -> list[Rollup]:
        """Each priority's roll-up of ``statuses`` by the catalogue's rule."""
        return self._figures.rollups(statuses)

    def quarter_coverage(self) -> dict[Period, int]:
        """For every quarter with any figure: how many indicators have a complete figure for it, oldest first."""
        return self._figures.quarter_coverage()

    def is_largely_complete(self, count: int) -> bool:
        """Whether ``count`` complete figures reach the catalogue's ``partnership.complete_share`` of indicators."""
        return self._figures.is_largely_complete(count)

    def complete_quarters(self) -> list[Period]:
        """Largely complete quarters, oldest first."""
        return self._figures.complete_quarters()

    def latest_complete_quarter(self) -> Period | None:
        """The default quarter of every screen and command (``Figures.latest_complete_quarter``)."""
        return self._figures.latest_complete_quarter()

    def history(self, indicator: str | None = None) -> list[dict]:
        """Uploads, newest first, with who, when, what and their state (optionally those touching an indicator)."""
        return self._figures.history(indicator)

    def series(self, indicator: str, area: str = "") -> list[dict]:
        """Every figure ever stored for an indicator (restatements and withdrawn ones too), with its upload."""
        return self._figures.series(indicator, area)

    def provenance(self, indicator: str, period: Period) -> list[dict]:
        """The stored figures behind an indicator's rated figure for ``period``, each with file, person and time."""
        return self._figures.provenance(indicator, period)

    def synthetic_figure(self, indicator: str, period: Period) -> bool:
        """Whether any stored figure behind the indicator's rated figure for ``period`` is synthetic."""
        return self._figures.synthetic_figure(indicator, period)

    def commentary(self, indicator: str | None = None, period: Period | None = None) -> list[dict]:
        """The current commentary (latest active per indicator and period), with who wrote it and when."""
        return self._figures.commentary(indicator, period)

    def area_values(self, indicator: str, period: Period) -> list[dict]:
        """Every area's figure for an indicator's rated ``period`` (the partnership's own area named), largest first."""
        return self._figures.area_values(indicator, period)

    def population_rows(self, dataset: str, year: int) -> list[tuple[str, str, str, float]]:
        """(code, area, age_group, population) of a population dataset for mid-``year``, as it counts now."""
        return self._figures.population_rows(dataset, year)

    def events(self, limit: int = 200) -> list[dict]:
        """The audit trail, newest first."""
        return self._figures.events(limit)

    # --- originals (cspdash.originals) --------------------------------------------------------
    @property
    def originals(self) -> Path | None:
        """The folder of original files kept outside the database (``uploads/`` beside it; PostgreSQL:
        ``$CSPDASH_EXTRACTS/originals``); None in memory, or for PostgreSQL while ``CSPDASH_EXTRACTS`` is unset."""
        return self._originals.folder

    def upload_content(self, upload_id: int) -> tuple[str, bytes]:
        """(file name, original bytes) of an upload, from the database or the originals folder beside it."""
        return self._originals.content(self.cursor(), upload_id)

    # --- uploads (cspdash.uploads) ------------------------------------------------------------
    def import_files(self, files: Sequence[SourceFile], user: User | str | None, dataset: str | None = None,
                     dry_run: bool = False, synthetic: bool = False) -> ImportResult:
        """Validate every file, then store all of them in one transaction, or nothing if any has a problem
        (``Uploads.import_files``: duplicates, ``dry_run`` and ``synthetic``)."""
        return self._uploads.import_files(files, user, dataset, dry_run, synthetic)

    def withdraw(self, upload_id: int, user: User | str | None, reason: str = "") -> dict:
        """Withdraw an upload: its figures and commentary stop counting; nothing is deleted."""
        return self._uploads.withdraw(upload_id, user, reason)

    def add_commentary(self, indicator: str, period: Period, text: str, user: User | str | None) -> int:
        """Store a chair's commentary typed in the app, as an upload of its own; returns its id."""
        return self._uploads.add_commentary(indicator, period, text, user)

    def upload_owners(self, upload_id: int) -> list[str]:
        """The subgroups owning the indicators an upload holds figures or commentary for."""
        return self._uploads.upload_owners(upload_id)

    # --- accounts (cspdash.accounts) ----------------------------------------------------------
    def has_accounts(self) -> bool:
        """Whether any account exists (until then the database is in open mode: anyone named may write)."""
        return self._accounts.has_accounts()

    def actor(self, user: User | str | None) -> User:
        """The account acting: a User as given, or looked up by e-mail; open mode while there are no accounts."""
        return self._accounts.actor(user)

    def user(self, email: str) -> User | None:
        """The account with this e-mail, or None."""
        return self._accounts.user(email)

    def list_users(self) -> list[dict]:
        """Every account (never the password hash), with whether it is locked out now."""
        return self._accounts.list_users()

    def add_user(self, email: str, role: str, subgroups: Sequence[str] = (), password: str | None = None,
                 by: User | str = "cli") -> User:
        """Create an account; chairs must name their subgroups, others must not (``Accounts.add_user``)."""
        return self._accounts.add_user(email, role, subgroups, password, by)

    def disable_user(self, email: str, by: User | str = "cli") -> None:
        """Disable an account (kept for the audit trail; it can do nothing any more); never the last enabled admin."""
        self._accounts.disable_user(email, by)

    def enable_user(self, email: str, by: User | str = "cli") -> None:
        """Re-enable a disabled account (its password and role are as they were)."""
        self._accounts.enable_user(email, by)

    def set_password(self, email: str, password: str, by: User | str = "cli") -> None:
        """Set an account's password (and clear its lock-out); cookies issued under the old password stop working."""
        self._accounts.set_password(email, password, by)

    def unlock_user(self, email: str, by: User | str = "cli") -> None:
        """Clear an account's failed sign-ins, ending a lock-out before its 15 minutes are up."""
        self._accounts.unlock_user(email, by)

    def account_stamp(self, email: str) -> tuple[User, str] | None:
        """The account and the stamp of its current password (``auth.password_stamp``), for checking a cookie."""
        return self._accounts.account_stamp(email)

    def sign_in(self, email: str, password: str, client: str = "") -> User:
        """Check a local password; lock the account out after repeated failures (``Accounts.sign_in``)."""
        return self._accounts.sign_in(email, password, client)

    # --- backup (cspdash.backups) -------------------------------------------------------------
    def backup(self, out: str | Path) -> Path:
        """Write a consistent copy of the whole database to ``out`` (a new DuckDB file; PostgreSQL: the same file,
        from one snapshot and ``$CSPDASH_EXTRACTS``, ``cspdash.backups_pg``)."""
        if not isinstance(self.db, Database):
            from cspdash.backups_pg import extracts_folder, write_backup_pg

            return write_backup_pg(self.db, extracts_folder(), self.cat, out)  # type: ignore[arg-type]
        return backups.write_backup(self.db, self._originals, out)


def source_files(paths: Iterable[str | Path]) -> list[SourceFile]:
    """SourceFiles for paths given on the command line."""
    out = []
    for p in paths:
        path = Path(p)
        if not path.is_file():
            raise CspdashError(f"{p}: no such file")
        out.append(SourceFile.from_path(path))
    return out


def store_target(db: str | Path | DuckDBTarget | PostgresTarget) -> DuckDBTarget | PostgresTarget:
    """What ``db`` names: a target as it is, a path (``Path``) a DuckDB file, a string as ``dburl.parse_db`` reads it
    (a path or a PostgreSQL URL; any other URL refused in words)."""
    if isinstance(db, DuckDBTarget | PostgresTarget):
        return db
    return DuckDBTarget(str(db)) if isinstance(db, Path) else parse_db(db)


def require_database(db: str | Path | DuckDBTarget | PostgresTarget) -> None:
    """Raise DatabaseMissing, saying which commands make one, unless the database ``db`` exists (or is in memory):
    a file that exists, or a PostgreSQL database that can be reached and holds cspdash's tables (one that cannot
    be reached is refused in words, its URL masked)."""
    target = store_target(db)
    if isinstance(target, PostgresTarget):
        from cspdash.pg import has_schema

        if has_schema(target):
            return
        raise DatabaseMissing(
            f"the PostgreSQL database {target.masked()} holds no cspdash tables: cspdash never makes them by "
            "accident. Check --db or $CSPDASH_DB; or make them with `python -m cspdash --db URL init` and add the "
            "first admin with `python -m cspdash --db URL user add EMAIL --role admin`, or load the demo data with "
            "`python -m cspdash --db URL demo`")
    db = target.path
    if db == ":memory:" or Path(db).exists():
        return
    opt = f" --db {shlex.quote(str(db))}"
    raise DatabaseMissing(
        f"there is no database at {db}: cspdash never makes one by accident. Check --db or $CSPDASH_DB; "
        f"or make an empty one with `python -m cspdash{opt} init` and add the first admin with "
        f"`python -m cspdash{opt} user add EMAIL --role admin`, or one with the demo data with "
        f"`python -m cspdash{opt} demo`")
