"""The embedded DuckDB store: schema and migrations, atomic uploads, history, withdrawals and queries.

One process owns the file: one connection, a cursor per thread, writes serialised by a lock, an explicit
``BEGIN ... COMMIT`` around each write and ``CHECKPOINT`` after it. All values go in as bound parameters; the only
SQL built from text is table names made from validated dataset names and the catalogue's trusted measures.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shlex
import shutil
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from cspdash import auth, ingest
from cspdash import datasets as ds
from cspdash.auth import PermissionDenied, User
from cspdash.config import Catalogue, Dataset
from cspdash.errors import CspdashError, StorageError
from cspdash.ingest import Problem, SourceFile, ValidationError, parse_return
from cspdash.periods import Period, parse_period
from cspdash.status import Figure, Observation, Rollup, Status, evaluate, figures_for, rated_grain, rollup

SCHEMA_VERSION = 3
#: An upload larger than this keeps its original bytes in a file beside the database (``uploads/<sha256>``), not in
#: the ``content`` column: writing a 250 MB extract into a BLOB took longer than reading the extract itself.
INLINE_ORIGINAL_BYTES = 4 * 1024 * 1024
ORIGINALS_DIR = "uploads"  # beside the database file; content-addressed, so databases in one folder may share it
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
            value DOUBLE,
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

CURRENT_OBS = """
    SELECT o.indicator, o.period, o.grain, o.area, o.value, o.numerator, o.denominator, o.upload_id, o.provisional
    FROM observations o JOIN uploads u USING (upload_id)
    WHERE u.state = 'active'
    QUALIFY row_number() OVER (PARTITION BY o.indicator, o.period, o.grain, o.area ORDER BY o.upload_id DESC) = 1
"""


@dataclass(frozen=True)
class Change:
    """What an upload does to one indicator's rated period (home area)."""

    indicator: str
    period: str
    old_value: float | None
    new_value: float | None
    old_rag: str
    new_rag: str

    def as_dict(self) -> dict:
        """A JSON-ready mapping."""
        return dict(self.__dict__)


@dataclass
class ImportResult:
    """The outcome (or, for a dry run, the preview) of an import."""

    dry_run: bool
    uploads: list[dict] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    other_area_figures: int = 0
    warnings: list[str] = field(default_factory=list)  # stored or storable, but worth a look (another force's file)
    facts: dict[str, dict] = field(default_factory=dict, repr=False)  # per record-level file: rows_in_area, forces

    def as_dict(self) -> dict:
        """A JSON-ready mapping."""
        return {"dry_run": self.dry_run, "uploads": self.uploads, "changes": [c.as_dict() for c in self.changes],
                "other_area_figures": self.other_area_figures, "warnings": self.warnings}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Store:
    """The CSP's data: one DuckDB file, opened once per process."""

    def __init__(self, path: str | Path, catalogue: Catalogue) -> None:
        self.path = Path(path)
        self.cat = catalogue
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._write = threading.RLock()
        self._local = threading.local()
        self._generation = 0  # counts the connections opened: a thread's cursor of an earlier one is replaced
        self._failed = False  # a failure of the disk may have invalidated the connection: check before the next use
        self._figures: tuple[int, dict[str, dict[Period, Figure]]] | None = None  # (data_version, figures)
        self._client_attempts = auth.AttemptLimiter()  # sign-in attempts per client, over all accounts
        self._con = self._connect()
        try:
            self._migrate()
        except duckdb.Error as e:
            with contextlib.suppress(duckdb.Error):
                self._con.close()
            raise self._open_error(e) from None
        if str(path) != ":memory:" and self.path.with_name(self.path.name + ".wal").exists():
            try:  # a checkpoint that failed before (a full disk): retried now that the log has been replayed
                self._con.execute("CHECKPOINT")
            except duckdb.TransactionException:
                pass
            except duckdb.Error:
                self._failed = True  # still failing: the connection is reopened at its first use

    # --- connection ---------------------------------------------------------------------------
    @property
    def folder(self) -> Path:
        """The folder of the database file (where a full disk needs space)."""
        return Path.cwd() if str(self.path) == ":memory:" else self.path.parent.resolve()

    def _connect(self) -> duckdb.DuckDBPyConnection:
        try:
            con = duckdb.connect(str(self.path))
        except duckdb.Error as e:
            raise self._open_error(e) from None
        self._generation += 1
        return con

    def _open_error(self, e: duckdb.Error) -> CspdashError:
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
        if held is None or held[0] != self._generation:
            held = (self._generation, self._con.cursor())
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
        with self._write:
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
            self._figures = None

    def _writer(self) -> duckdb.DuckDBPyConnection:
        """A cursor for a write, taken under the write lock (reopening the database first if it has failed)."""
        self.revive()
        return self._con.cursor()

    @contextlib.contextmanager
    def _transaction(self, cur: duckdb.DuckDBPyConnection, begun: bool = False) -> Iterator[None]:
        """``BEGIN`` (unless ``begun``) ... ``COMMIT``; on an error ``ROLLBACK``, whose own failure ("no transaction
        is active" after a failed commit) never hides the cause. A failed commit, or a failure of the disk inside
        the transaction, is raised as a StorageError that says whether the change was stored."""
        if not begun:
            cur.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException as e:
            with contextlib.suppress(duckdb.Error):
                cur.execute("ROLLBACK")
            if isinstance(e, duckdb.Error) and storage_failure(e):
                raise self._storage_error(e, stored=False) from None
            raise
        try:
            cur.execute("COMMIT")
        except duckdb.Error as e:
            with contextlib.suppress(duckdb.Error):
                cur.execute("ROLLBACK")
            # DuckDB may checkpoint at commit, after the change is in the write-ahead log: then it is stored.
            raise self._storage_error(e, stored="checkpoint" in str(e).lower()) from None

    def _checkpoint(self, cur: duckdb.DuckDBPyConnection) -> None:
        """Fold the write-ahead log into the database file, when no other transaction is open.

        The commit is already durable in the log. A reader on another cursor (another session of the app, or a
        result not yet fetched) makes CHECKPOINT fail: then DuckDB checkpoints by itself later, and the write is no
        error. A failure of the disk is: it is raised as "stored, but the checkpoint failed" (the database is
        reopened, and the log checkpointed, at its next use).
        """
        try:
            cur.execute("CHECKPOINT")
        except duckdb.TransactionException:
            pass
        except duckdb.Error as e:
            raise self._storage_error(e, stored=True) from None

    def _storage_error(self, e: duckdb.Error, stored: bool) -> StorageError:
        self._failed = True  # look at the connection before its next use
        return storage_error(e, self.folder, stored)

    def _migrate(self) -> None:
        with self._write:
            cur = self._writer()
            cur.execute(SCHEMA_VERSION_TABLE)
            have = cur.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
            if have > SCHEMA_VERSION:
                raise CspdashError(f"{self.path} was written by a newer cspdash (schema {have}, this one knows "
                                   f"{SCHEMA_VERSION}); upgrade cspdash")
            for v in range(have + 1, SCHEMA_VERSION + 1):
                with self._transaction(cur):
                    for stmt in MIGRATIONS[v]:
                        cur.execute(stmt)
                    cur.execute("INSERT INTO schema_version VALUES (?, ?)", [v, _now()])
            for d in self.cat.datasets:
                cur.execute(ds.create_table_sql(d))
            cur.close()

    # --- reads --------------------------------------------------------------------------------
    def data_version(self) -> int:
        """A number that every committed change increases (cache key for the UI)."""
        # fetchall, not fetchone: a result left open keeps its transaction open, and that blocks CHECKPOINT.
        # Only changes to figures and commentary count: a sign-in must not empty the UI's caches.
        return int(self.cursor().execute(
            "SELECT coalesce(max(event_id), 0) FROM events WHERE list_contains(?, action)",
            [list(DATA_ACTIONS)]).fetchall()[0][0])

    def is_empty(self) -> bool:
        """Whether nothing has ever been uploaded."""
        return self.cursor().execute("SELECT count(*) FROM uploads").fetchall()[0][0] == 0

    def current_observations(self, indicators: Sequence[str] | None = None, area: str = "") -> dict[str, list[Observation]]:
        """The figures that count now (latest active upload per indicator, period and area), by indicator."""
        sql = (f"SELECT indicator, period, grain, value, numerator, denominator, provisional FROM ({CURRENT_OBS}) "
               "WHERE area = ?")
        params: list = [area]
        if indicators is not None:
            sql += " AND list_contains(?, indicator)"
            params.append(list(indicators))
        out: dict[str, list[Observation]] = defaultdict(list)
        period_of = _period_parser()
        for iid, period, grain, value, num, den, provisional in self.cursor().execute(sql, params).fetchall():
            out[iid].append(Observation(period_of(period, grain), value, num, den, provisional=bool(provisional)))
        return out

    def current_figures(self) -> dict[str, dict[Period, Figure]]:
        """Every catalogue indicator's figures at its rated grain (``figures_for`` of the partnership's own current
        observations), by indicator id; recomputed only after a commit changes the data."""
        # Every page, the status of each quarter and the quarter picker start from these. Keyed on data_version():
        # read before the figures, so a commit landing in between only makes the next call recompute.
        version = self.data_version()
        cached = self._figures
        if cached is None or cached[0] != version:
            obs = self.current_observations()
            cached = (version, {i.id: figures_for(i, obs.get(i.id, ())) for i in self.cat.indicators})
            self._figures = cached
        return {iid: dict(figs) for iid, figs in cached[1].items()}  # copies: a caller may change its own

    def statuses(self, period: Period | None = None) -> list[Status]:
        """Every indicator's status for ``period`` (default: the latest complete quarter)."""
        period = period or self.latest_complete_quarter()
        figures = self.current_figures()
        if period is None:
            period = Period.containing(datetime.now().date()).previous()
        return [evaluate(i, period.at("quarter"), figures[i.id], self.cat.rating) for i in self.cat.indicators]

    def statuses_by_quarter(self, quarters: Iterable[Period] | None = None) -> dict[Period, list[Status]]:
        """Every indicator's status for each of ``quarters`` (default: every quarter with a complete figure),
        from one read of the figures: the trend of a whole history, or a pack covering several quarters."""
        figures = self.current_figures()
        quarters = list(self.quarter_coverage()) if quarters is None else quarters
        return {q: [evaluate(i, q.at("quarter"), figures[i.id], self.cat.rating) for i in self.cat.indicators] for q in quarters}

    def rollups(self, statuses: Sequence[Status]) -> list[Rollup]:
        """Each priority's roll-up of ``statuses`` by the catalogue's rule."""
        return [rollup(p.id, statuses, self.cat.rollup) for p in self.cat.priorities]

    def quarter_coverage(self) -> dict[Period, int]:
        """For every quarter with any figure: how many indicators have a complete figure for it (the partnership's
        own area, each indicator at its rated grain; an annual indicator's complete year counts in its quarters),
        oldest first. A quarter whose figures are all incomplete (a month of a monthly measure) counts 0."""
        figures = self.current_figures()
        counts: dict[Period, int] = defaultdict(int)
        years: dict[Period, int] = defaultdict(int)
        for ind in self.cat.indicators:
            grain = rated_grain(ind)
            for p, f in figures[ind.id].items():
                done = f.complete and f.value is not None
                if grain == "quarter" and p.grain == "quarter":
                    counts[p] += done
                elif grain == "year" and p.grain == "year":
                    years[p] += done
        return {q: counts[q] + years.get(q.at("year"), 0) for q in sorted(counts)}

    def is_largely_complete(self, count: int) -> bool:
        """Whether ``count`` complete figures reach the catalogue's ``partnership.complete_share`` of indicators."""
        return count > 0 and count >= self.cat.complete_share * len(self.cat.indicators)

    def complete_quarters(self) -> list[Period]:
        """Largely complete quarters, oldest first: at least ``partnership.complete_share`` (default half) of the
        indicators have a complete figure for the partnership's own area."""
        return [q for q, n in self.quarter_coverage().items() if self.is_largely_complete(n)]

    def latest_complete_quarter(self) -> Period | None:
        """The default quarter of every screen and command: the latest largely complete quarter. An early return for
        a later quarter never moves it. When no quarter is largely complete yet (a new partnership), the latest of
        the quarters with the most complete figures; None when there is no data."""
        coverage = self.quarter_coverage()
        if not coverage:
            return None
        complete = [q for q, n in coverage.items() if self.is_largely_complete(n)]
        if complete:
            return complete[-1]
        most = max(coverage.values())
        return max(q for q, n in coverage.items() if n == most) if most else None

    def history(self, indicator: str | None = None) -> list[dict]:
        """Uploads, newest first, with who, when, what and their state (optionally those touching an indicator)."""
        sql = """SELECT upload_id, kind, dataset, file_name, sha256, user_name AS user, uploaded_at, rows, state,
                        withdrawn_at, withdrawn_by, withdraw_reason, note, size_bytes, synthetic
                 FROM uploads"""
        params: list = []
        if indicator:
            sql += """ WHERE upload_id IN (SELECT upload_id FROM observations WHERE indicator = ?
                                           UNION SELECT upload_id FROM commentary WHERE indicator = ?)"""
            params = [indicator, indicator]
        rel = self.cursor().execute(sql + " ORDER BY upload_id DESC", params)
        cols = [d[0] for d in rel.description]
        return [_jsonable(dict(zip(cols, r, strict=True))) for r in rel.fetchall()]

    def upload_content(self, upload_id: int) -> tuple[str, bytes]:
        """(file name, original bytes) of an upload, from the database or the originals folder beside it."""
        row = next(iter(self.cursor().execute(
            "SELECT file_name, content, sha256, size_bytes FROM uploads WHERE upload_id = ?", [upload_id]).fetchall()),
            None)
        if row is None:
            raise CspdashError(f"there is no upload {upload_id}; see `history` for the ids")
        name, content, sha, size = row
        if content is not None or not size:
            return name, bytes(content or b"")
        return name, self._original(upload_id, name, sha).read_bytes()

    @property
    def originals(self) -> Path | None:
        """The folder of original files kept outside the database (``uploads/`` beside it); None in memory."""
        return None if str(self.path) == ":memory:" else self.path.parent / ORIGINALS_DIR

    def _original(self, upload_id: int, name: str, sha: str) -> Path:
        """The file holding an upload's original bytes, checked against its SHA-256."""
        path = self.originals / sha if self.originals else None
        if path is None or not path.is_file():
            raise CspdashError(f"the original of upload {upload_id} ({name}) is missing: it was kept as {path}. "
                               "Fix: copy that file back from the machine's backups, or restore a backup made with "
                               "`backup` (a backup holds every original)")
        if _sha256_file(path) != sha:
            raise CspdashError(f"the original of upload {upload_id} ({name}) in {path} has been changed: its "
                               f"SHA-256 no longer matches {sha}. Fix: restore the file from a backup")
        return path

    def series(self, indicator: str, area: str = "") -> list[dict]:
        """Every figure ever stored for an indicator (restatements and withdrawn ones too), with its upload."""
        rel = self.cursor().execute(
            """SELECT o.period, o.grain, o.period_start, o.value, o.numerator, o.denominator, o.upload_id,
                      u.file_name, u.user_name AS user, u.uploaded_at, u.state, o.source_row, o.provisional,
                      u.synthetic,
                      o.upload_id = max(CASE WHEN u.state = 'active' THEN o.upload_id END)
                          OVER (PARTITION BY o.period, o.grain) AS current
               FROM observations o JOIN uploads u USING (upload_id)
               WHERE o.indicator = ? AND o.area = ?
               ORDER BY o.period_start, o.grain, o.upload_id""", [indicator, area])
        cols = [d[0] for d in rel.description]
        return [_jsonable(dict(zip(cols, r, strict=True))) for r in rel.fetchall()]

    def provenance(self, indicator: str, period: Period) -> list[dict]:
        """The stored figures behind an indicator's rated figure for ``period``, each with file, person and time."""
        ind = self.cat.indicator(indicator)
        rated = period.at(rated_grain(ind))
        labels = [rated.label, *[m.label for m in rated.months()], *[q.label for q in rated.quarters()]]
        return [r for r in self.series(indicator) if r["current"] and r["period"] in labels]

    def synthetic_figure(self, indicator: str, period: Period) -> bool:
        """Whether any stored figure behind the indicator's rated figure for ``period`` came from an upload marked
        synthetic (invented figures: the demo's partner returns, ``import --synthetic``)."""
        return any(r["synthetic"] for r in self.provenance(indicator, period))

    def commentary(self, indicator: str | None = None, period: Period | None = None) -> list[dict]:
        """The current commentary (latest active per indicator and period), with who wrote it and when."""
        sql = """SELECT c.indicator, c.period, c.text, u.user_name AS user, u.uploaded_at, c.upload_id, u.file_name
                 FROM commentary c JOIN uploads u USING (upload_id) WHERE u.state = 'active'"""
        params: list = []
        if indicator:
            sql += " AND c.indicator = ?"
            params.append(indicator)
        if period is not None:
            sql += " AND c.period = ?"
            params.append(period.label)
        sql += " QUALIFY row_number() OVER (PARTITION BY c.indicator, c.period ORDER BY c.upload_id DESC) = 1"
        rel = self.cursor().execute(sql + " ORDER BY c.indicator, c.period", params)
        cols = [d[0] for d in rel.description]
        return [_jsonable(dict(zip(cols, r, strict=True))) for r in rel.fetchall()]

    def area_values(self, indicator: str, period: Period) -> list[dict]:
        """Every area's figure for an indicator's rated ``period`` (the partnership's own area named), largest first."""
        ind = self.cat.indicator(indicator)
        rated = period.at(rated_grain(ind))
        # Only the figures that roll up into the rated period: every area's whole history made this 30x slower.
        labels = [rated.label, *[m.label for m in rated.months()], *[q.label for q in rated.quarters()]]
        rows = self.cursor().execute(
            f"SELECT area, period, grain, value, numerator, denominator FROM ({CURRENT_OBS}) "
            "WHERE indicator = ? AND area <> '' AND list_contains(?, period) ORDER BY area, period",
            [indicator, labels]).fetchall()
        by_area: dict[str, list[Observation]] = defaultdict(list)
        period_of = _period_parser()
        for area, p, g, v, n, d in rows:
            by_area[area].append(Observation(period_of(p, g), v, n, d))
        figures = {area: figures_for(ind, obs) for area, obs in by_area.items()}
        own = self.current_figures()[indicator]
        if own:  # the partnership's own figures, under its name
            figures[self.cat.area] = own
        out = []
        for area, figs in figures.items():
            f = figs.get(rated)
            if f is not None and f.value is not None:
                out.append({"area": area, "value": f.value, "complete": f.complete, "own": area == self.cat.area})
        return sorted(out, key=lambda r: -r["value"])

    def population_rows(self, dataset: str, year: int) -> list[tuple[str, str, str, float]]:
        """(code, area, age_group, population) of a population dataset for mid-``year``, as it counts now: each
        area's age group from the newest active upload holding it."""
        if self._dataset(dataset).format != "population":
            raise CspdashError(f"the dataset {dataset!r} is not of format population")
        return self.cursor().execute(
            f"SELECT code, area, age_group, population FROM {ds.table_name(dataset)} WHERE year = ? AND upload_id IN "
            "(SELECT upload_id FROM uploads WHERE state = 'active' AND kind = 'dataset' AND dataset = ?) "
            "QUALIFY row_number() OVER (PARTITION BY lower(code), lower(age_group) ORDER BY upload_id DESC) = 1 "
            "ORDER BY area, age_group", [str(year), dataset]).fetchall()

    def events(self, limit: int = 200) -> list[dict]:
        """The audit trail, newest first."""
        rel = self.cursor().execute("SELECT * FROM events ORDER BY event_id DESC LIMIT ?", [limit])
        cols = [d[0] for d in rel.description]
        return [_jsonable(dict(zip(cols, r, strict=True))) for r in rel.fetchall()]

    # --- writes -------------------------------------------------------------------------------
    def import_files(self, files: Sequence[SourceFile], user: User | str | None, dataset: str | None = None,
                     dry_run: bool = False, synthetic: bool = False) -> ImportResult:
        """Validate every file, then store all of them in one transaction, or nothing if any has a problem.

        A file identical (same SHA-256) to an active upload of the same kind is recognised and changes nothing.
        With ``dry_run`` nothing is stored and the result previews the changes. With ``synthetic`` the uploads are
        recorded as invented figures, and every figure they hold is labelled so.
        """
        if not files:
            raise CspdashError("no files given to import")
        actor = self.actor(user)
        dset = self._dataset(dataset) if dataset else None
        if dset is not None:
            auth.require(actor, "import_dataset", what=f"the {dset.name} dataset (it feeds several subgroups' figures)",
                         outcome="nothing was stored")
        with self._write:
            cur = self._writer()
            try:
                return self._import(cur, files, actor, dset, dry_run, synthetic)
            except duckdb.Error as e:
                if storage_failure(e):  # the disk filled while the files were read or checked
                    raise self._storage_error(e, stored=False) from None
                raise
            finally:
                cur.close()

    def _check_owners(self, actor: User, new_obs: list, comments: list, measured: bool = False) -> None:
        """Refuse figures or commentary for indicators the actor's subgroups do not own, and a non-admin's figures
        for indicators computed by a measure (``measured``: the figures are the measure's own, from a dataset)."""
        computed = sorted({o[0] for o in new_obs if self.cat.indicator(o[0]).measure is not None}, key=self._order)
        if computed and not measured and actor.role != "admin":
            rows = ", ".join(f"{i} (row {next(o[6] for o in new_obs if o[0] == i)})" for i in computed[:10])
            raise PermissionDenied(
                f"{actor.email} ({actor.role}) may not replace figures for {rows}: they are computed from "
                "record-level data by the catalogue's measure; give commentary only, or ask the CSP analyst",
                auth.RULES["measured_admin_only"], "nothing was stored")
        ids = sorted({o[0] for o in new_obs} | {c[0] for c in comments}, key=self._order)
        refused = [i for i in ids if not auth.allowed(actor, "upload", [self.cat.indicator(i).owner])]
        if refused:
            owners = sorted({self.cat.indicator(i).owner for i in refused})
            auth.require(actor, "upload", owners, what=f"figures for {', '.join(refused)}",
                         outcome="nothing was stored")

    def _order(self, indicator: str) -> int:
        return self.cat.indicators.index(self.cat.indicator(indicator))

    def _dataset(self, name: str) -> Dataset:
        try:
            return self.cat.dataset(name)
        except StopIteration:
            known = ", ".join(d.name for d in self.cat.datasets) or "none"
            raise CspdashError(f"no dataset named {name!r} in the catalogue (declared: {known})") from None

    def _import(self, cur: duckdb.DuckDBPyConnection, files: Sequence[SourceFile], actor: User,
                dset: Dataset | None, dry_run: bool, synthetic: bool = False) -> ImportResult:
        if dset is not None and not dry_run:
            direct = self._import_direct(cur, files, actor, dset, synthetic)
            if direct is not None:
                return direct
        result = ImportResult(dry_run)
        problems: list[Problem] = []
        more = 0
        prepared: list[tuple[SourceFile, str, object]] = []  # (file, sha, parsed rows or staged table)
        seen: dict[str, str] = {}
        for n, src in enumerate(files):
            try:  # refused by name and size before a byte is read (hashing reads the whole file)
                ingest.check_extension(src, ds.DATASET_EXTENSIONS if dset else ingest.RETURN_EXTENSIONS)
                ingest.check_size(src, ingest.MAX_DATASET_BYTES if dset else ingest.MAX_RETURN_BYTES)
            except ValidationError as e:
                problems.extend(e.problems)
                continue
            early = None  # a large extract is staged while its SHA-256 is computed: both read the whole file
            if dset is not None and self._kept_outside(src):
                sha, early = self._stage_hashing(cur, src, dset, f"stage_{n}")
            else:
                sha = src.sha256()
            dup = cur.execute("SELECT upload_id FROM uploads WHERE sha256 = ? AND state = 'active' AND kind = ? "
                              "ORDER BY upload_id LIMIT 1", [sha, "dataset" if dset else "return"]).fetchone()
            if dup or sha in seen:
                if isinstance(early, ds.Staged):  # staged for nothing: an identical file is never read again
                    ds.unstage(cur, early)
                result.uploads.append({"file_name": src.display_name, "sha256": sha, "upload_id": None,
                                       "duplicate_of": dup[0] if dup else seen[sha], "rows": 0,
                                       "message": "identical to an earlier upload; nothing changed"})
                continue
            seen[sha] = src.display_name
            try:
                if dset is None:
                    prepared.append((src, sha, parse_return(src, self.cat)))
                elif early is not None:
                    if isinstance(early, BaseException):
                        raise early
                    prepared.append((src, sha, early))
                else:
                    prepared.append((src, sha, ds.stage(cur, src, dset, self.cat, f"stage_{n}")))
            except ValidationError as e:
                problems.extend(e.problems)
                more += e.more
        try:
            if problems:
                raise ValidationError(problems, more)
            new_obs: list[tuple[str, Period, str, float | None, float | None, float | None, int | None, int]] = []
            comments: list[tuple[str, Period, str, int | None, int]] = []
            if dset is not None and prepared:
                new_obs = self._dataset_obs(cur, dset, prepared, result)
            for k, (_src, _sha, payload) in enumerate(prepared):
                if not isinstance(payload, ds.Staged):
                    for r in payload:  # type: ignore[union-attr]
                        if r.value is not None or r.numerator is not None:
                            new_obs.append((r.indicator, r.period, r.area, r.value, r.numerator, r.denominator, r.row, k))
                        if r.commentary:
                            comments.append((r.indicator, r.period, r.commentary, r.row, k))
            self._check_owners(actor, new_obs, comments, measured=dset is not None)
            result.changes = self._preview(new_obs)
            result.other_area_figures = sum(1 for o in new_obs if o[2])
            if dry_run:
                for src, sha, payload in prepared:
                    result.uploads.append({"file_name": src.display_name, "sha256": sha, "upload_id": None,
                                           "rows": _rows(payload), "duplicate_of": None, "synthetic": synthetic,
                                           **result.facts.get(src.display_name, {})})
                return result
            self._commit(cur, prepared, new_obs, comments, actor.label, dset, result, synthetic=synthetic)
            self._checkpoint(cur)
            return result
        finally:
            for _src, _sha, payload in prepared:
                if isinstance(payload, ds.Staged):
                    with contextlib.suppress(duckdb.Error):  # never hides why the import failed
                        ds.unstage(cur, payload)

    def _import_direct(self, cur: duckdb.DuckDBPyConnection, files: Sequence[SourceFile], actor: User,
                       dset: Dataset, synthetic: bool = False) -> ImportResult | None:
        """Import large extracts read once, straight into their table inside the import's transaction
        (``datasets.load_direct``); None, having stored nothing, when any file must be staged instead (small, not
        plainly valid, or identical to an earlier upload): the staged import then gives the file's problems."""
        if not all(self._kept_outside(src) and src.size <= ingest.MAX_DATASET_BYTES and ds.readable_once(src, dset)
                   for src in files):
            return None
        result = ImportResult(False)
        loaded: list[tuple[SourceFile, str, ds.Staged]] = []
        kept: list[Path] = []  # originals this import put in place; removed again unless it commits
        had_folder = self.originals.is_dir()

        def hash_scan_keep() -> list[str] | None:  # beside the load: each reads every byte of the files
            shas = []
            for src in files:
                h = hashlib.sha256()
                if not ds.scan_plain(src, dset, h.update):
                    return None
                sha = h.hexdigest()
                if not (self.originals / sha).is_file():
                    self._keep_original(src, sha)
                    kept.append(self.originals / sha)
                shas.append(sha)
            return shas

        committed = False
        pool = ThreadPoolExecutor(max_workers=1)
        hashing = pool.submit(hash_scan_keep)
        cur.execute("BEGIN TRANSACTION")
        try:
            for n, src in enumerate(files):
                uid = cur.execute("SELECT nextval('upload_seq')").fetchone()[0]
                staged = ds.load_direct(cur, src, dset, self.cat, uid, f"stage_{n}")
                if staged is None:
                    raise _Staging
                loaded.append((src, "", staged))
            shas = hashing.result()
            if shas is None or len(set(shas)) < len(shas) or cur.execute(
                    "SELECT count(*) FROM uploads WHERE list_contains(?, sha256) AND state = 'active' AND kind = 'dataset'",
                    [shas]).fetchone()[0]:
                raise _Staging  # a repeated file: the staged import says which, and stores nothing
            loaded = [(src, sha, staged) for (src, _, staged), sha in zip(loaded, shas, strict=True)]
            new_obs = self._dataset_obs(cur, dset, loaded, result)
            self._check_owners(actor, new_obs, [], measured=True)
            result.changes = self._preview(new_obs)
            result.other_area_figures = sum(1 for o in new_obs if o[2])
            try:
                self._commit(cur, loaded, new_obs, [], actor.label, dset, result, begun=True, synthetic=synthetic)
            except StorageError as e:
                committed = e.stored  # DuckDB's own checkpoint at the commit failed: the upload is stored
                raise
            committed = True
            self._checkpoint(cur)
            return result
        except _Staging:
            cur.execute("ROLLBACK")
            return None
        except BaseException as e:
            with contextlib.suppress(duckdb.Error):  # _commit has rolled back already when it raised
                cur.execute("ROLLBACK")
            if isinstance(e, duckdb.Error) and storage_failure(e):
                raise self._storage_error(e, stored=False) from None
            raise
        finally:
            pool.shutdown(wait=True)
            if not committed:  # a refused, repeated or failed import keeps no original
                for path in kept:
                    path.unlink(missing_ok=True)
                if not had_folder:
                    with contextlib.suppress(OSError):
                        self.originals.rmdir()
            for _src, _sha, staged in loaded:
                with contextlib.suppress(duckdb.Error):
                    ds.unstage(cur, staged)

    def _stage_hashing(self, cur: duckdb.DuckDBPyConnection, src: SourceFile, dset: Dataset,
                       name: str) -> tuple[str, ds.Staged | Exception]:
        """(SHA-256, staged file or the error staging raised), the hash computed in a thread meanwhile."""
        with ThreadPoolExecutor(max_workers=1) as pool:
            digest = pool.submit(src.sha256)  # hashlib and DuckDB both release the GIL
            try:
                staged: ds.Staged | Exception = ds.stage(cur, src, dset, self.cat, name)
            except Exception as e:  # raised once the hash says the file is not a duplicate (as if staged after it)
                staged = e
            return digest.result(), staged

    def _commit(self, cur: duckdb.DuckDBPyConnection, prepared: list, new_obs: list, comments: list, user: str,
                dset: Dataset | None, result: ImportResult, begun: bool = False, synthetic: bool = False) -> None:
        """Store the prepared files in one transaction (already open when ``begun``); the caller checkpoints. A
        record-level dataset's months are police data: those still recent now are stored as provisional."""
        now = _now()
        # Large originals are copied to their files (written whole, then renamed) while the records are inserted,
        # and the commit waits for them: it only ever refers to a complete file. A failed commit leaves an
        # unreferenced file, which a later identical upload reuses.
        outside = [(src, sha) for src, sha, _ in prepared if self._kept_outside(src)]
        pool = ThreadPoolExecutor(max_workers=1)
        copying = pool.submit(lambda: [self._keep_original(src, sha) for src, sha in outside])
        on_disk = {sha for _, sha in outside}
        try:
            with self._transaction(cur, begun):
                self._insert_uploads(cur, prepared, new_obs, comments, user, dset, result, now, on_disk, synthetic)
                copying.result()  # every original kept outside is in its file before the rows referring to it commit
        finally:
            pool.shutdown(wait=True)

    def _insert_uploads(self, cur: duckdb.DuckDBPyConnection, prepared: list, new_obs: list, comments: list,
                        user: str, dset: Dataset | None, result: ImportResult, now: datetime, on_disk: set[str],
                        synthetic: bool = False) -> None:
        """Inside the import's transaction: the uploads rows, their records, figures, commentary and events."""
        ids: list[int] = []
        for src, sha, payload in prepared:
            stored_as = payload.stored_as if isinstance(payload, ds.Staged) else None
            uid = stored_as if stored_as is not None else cur.execute("SELECT nextval('upload_seq')").fetchone()[0]
            ids.append(uid)
            cur.execute("INSERT INTO uploads (upload_id, kind, dataset, file_name, sha256, size_bytes, content, "
                        "user_name, uploaded_at, rows, state, synthetic) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?)",
                        [uid, "dataset" if dset else "return", dset.name if dset else None, src.display_name, sha,
                         src.size, None if sha in on_disk else src.read(), user, now, _rows(payload), synthetic])
            if isinstance(payload, ds.Staged) and stored_as is None:
                cols = ", ".join(ds.FORMATS[dset.format].table_columns)
                cur.execute(f"INSERT INTO {ds.table_name(dset.name)} (upload_id, source_row, {cols}) "
                            f"SELECT ?, source_row, {cols} FROM {payload.table}", [uid])
            self._event(cur, user, "upload", uid, f"{src.display_name} ({_rows(payload)} rows)", now)
            result.uploads.append({"file_name": src.display_name, "sha256": sha, "upload_id": uid,
                                   "rows": _rows(payload), "duplicate_of": None, "synthetic": synthetic,
                                   **result.facts.get(src.display_name, {})})
        if new_obs:
            # Bulk insert through a registered frame: executemany inserts row by row and is ~100x slower.
            recent = self._recent_months(now) if dset is not None else frozenset()
            _bulk_insert(cur, "observations", pd.DataFrame(
                [(ids[k], iid, p.label, p.grain, p.start, area, v, num, den, row, p in recent)
                 for iid, p, area, v, num, den, row, k in new_obs],
                columns=["upload_id", "indicator", "period", "grain", "period_start", "area", "value", "numerator",
                         "denominator", "source_row", "provisional"]))
        if comments:
            _bulk_insert(cur, "commentary", pd.DataFrame(
                [(ids[k], iid, p.label, p.grain, text, row) for iid, p, text, row, k in comments],
                columns=["upload_id", "indicator", "period", "grain", "text", "source_row"]))

    def _dataset_obs(self, cur: duckdb.DuckDBPyConnection, dset: Dataset, prepared: list,
                     result: ImportResult) -> list[tuple]:
        """The dataset's figures for every month the prepared files hold, computed over the union of its active
        uploads and these files (each force's month from the newest upload holding it, each record once); a month's
        figures are stored with the last of the files holding it. Notes what each file holds in ``result``."""
        staged = [payload for _src, _sha, payload in prepared]
        names = ", ".join(src.display_name for src, _sha, _payload in prepared)
        months = sorted({m for st in staged for m in st.months})
        last = {m: max(k for k, st in enumerate(staged) if m in st.months) for m in months}
        for src, _sha, payload in prepared:
            result.facts[src.display_name] = self._file_facts(cur, dset, src.display_name, payload, result)
        if not ds.has_months(ds.FORMATS[dset.format]):
            return []  # a population: denominators, from which no measure is computed
        obs = self._measure_months(cur, dset, months, staged, names, result)
        return [(iid, p, area, v, None, None, None, last.get(p, len(staged) - 1)) for iid, p, area, v in obs]

    def _measure_months(self, cur: duckdb.DuckDBPyConnection, dset: Dataset, months: Sequence[Period],
                        pending: Sequence[ds.Staged], file: str, result: ImportResult | None = None) -> list[tuple]:
        """(indicator, month, area, value) of the dataset's measures over its records in ``months`` as they count
        with ``pending`` files added. The partnership's own figures for a month are held back while no record of
        that month was reported by its police force (``partnership.police_force``): a neighbouring force's few
        records would otherwise be rated as the whole month."""
        # The repeated records (a crime listed twice) are worked out once: a measure reads the records twice.
        repeated = f"repeated_{dset.name}"
        superseded = ds.has_superseded_slices(cur, dset, months, pending)
        found = ds.repeated_records_sql(dset, months, pending, superseded)
        if found is not None:
            cur.execute(f"CREATE OR REPLACE TEMP TABLE {repeated} AS {found}")
        try:
            source = ds.effective_sql(dset, months, pending, repeated if found is not None else None, superseded)
            obs = [(iid, p, _area(self.cat, a), v)
                   for iid, p, a, v in ds.compute_measures(cur, self.cat, dset, source, file)]
        finally:
            cur.execute(f"DROP TABLE IF EXISTS {repeated}")
        with_force = ds.months_with_force(cur, dset, months, pending, self.cat.police_force)
        if with_force is None:
            return obs
        held = sorted({p for _iid, p, a, _v in obs if not a and p.label not in with_force})
        if held and result is not None:
            result.warnings.append(
                f"The figures of {self.cat.area} for {', '.join(p.label for p in held)} are left out until "
                f"{self.cat.police_force}'s file for {'that month' if len(held) == 1 else 'those months'} is loaded: "
                f"the records loaded so far come only from other forces.")
        return [o for o in obs if o[2] or o[1] not in held]

    def _file_facts(self, cur: duckdb.DuckDBPyConnection, dset: Dataset, name: str, staged: ds.Staged,
                    result: ImportResult) -> dict:
        """``rows_in_area`` and ``forces`` of one record-level file, with a warning when its force is not the one
        that polices the partnership's area."""
        facts = ds.file_facts(cur, self.cat, dset, staged)
        own = self.cat.police_force.casefold()
        out = {"rows_in_area": facts.rows_in_area, "forces": list(facts.forces)}
        if ds.FORMATS[dset.format].force and not any(f.casefold() == own for f in facts.forces):
            result.warnings.append(
                f"{name}: reported by {', '.join(facts.forces) or 'no force'}, not {self.cat.police_force}, which "
                f"polices {self.cat.area}; {facts.rows_in_area:,} of its {facts.rows:,} rows fall in {self.cat.area}.")
        return out

    def _recent_months(self, at: datetime) -> frozenset[Period]:
        """The months of police data still provisional when loaded at ``at``: the month of ``at`` and the
        ``partnership.provisional_months`` - 1 months before it (none when that is 0)."""
        this = Period.containing(at.date(), "month")
        return frozenset(this.shift(-k) for k in range(self.cat.provisional_months))

    def _kept_outside(self, src: SourceFile) -> bool:
        """Whether an upload's original bytes are kept in a file beside the database rather than in the row."""
        return self.originals is not None and src.size > INLINE_ORIGINAL_BYTES

    def _keep_original(self, src: SourceFile, sha: str) -> None:
        """Keep an upload's original bytes as ``uploads/<sha256>`` beside the database."""
        assert self.originals is not None
        target = self.originals / sha
        if target.is_file() and target.stat().st_size == src.size:
            return  # the same bytes are already kept (the name is their hash)
        self.originals.mkdir(parents=True, exist_ok=True)
        tmp = self.originals / f".{sha}.{threading.get_ident()}.part"
        try:
            if src.path is not None:
                shutil.copyfile(src.path, tmp)  # in the kernel where it can (copy_file_range), not through Python
            else:
                tmp.write_bytes(src.read())
            with tmp.open("rb+") as f:
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise CspdashError(f"{src.display_name}: cannot keep the original file in {self.originals} "
                               f"({e.strerror}); nothing was stored. Fix: check the disk space and permissions") from None
        _fsync_dir(self.originals)

    def _event(self, cur: duckdb.DuckDBPyConnection, user: str, action: str, upload_id: int | None, detail: str,
               at: datetime | None = None) -> None:
        eid = cur.execute("SELECT nextval('event_seq')").fetchone()[0]
        cur.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", [eid, at or _now(), user, action, upload_id, detail])

    def _preview(self, new_obs: list) -> list[Change]:
        """Old and new value and RAG of every home-area rated period the new figures touch."""
        affected: dict[str, set[Period]] = defaultdict(set)
        for iid, p, area, *_ in new_obs:
            if not area:
                affected[iid].add(p.at(rated_grain(self.cat.indicator(iid))))
        if not affected:
            return []
        current = self.current_observations(list(affected))
        changes: list[Change] = []
        for iid, periods in sorted(affected.items(), key=lambda kv: self.cat.indicators.index(self.cat.indicator(kv[0]))):
            ind = self.cat.indicator(iid)
            old_obs = current.get(iid, [])
            replaced = {o.period: o for o in old_obs}
            for _iid, p, _area, v, num, den, _row, _k in (o for o in new_obs if o[0] == iid and not o[2]):
                replaced[p] = Observation(p, v, num, den)
            old_figs, new_figs = figures_for(ind, old_obs), figures_for(ind, replaced.values())
            for p in sorted(periods):
                q = p if p.grain == "quarter" else Period.quarter(p.fy, 4)
                old, new = evaluate(ind, q, old_figs, self.cat.rating), evaluate(ind, q, new_figs, self.cat.rating)
                changes.append(Change(iid, p.label, old.value if old_figs.get(p) else None, new.value,
                                      old.rag, new.rag))
        return changes

    def withdraw(self, upload_id: int, user: User | str | None, reason: str = "") -> dict:
        """Withdraw an upload: its figures and commentary stop counting; nothing is deleted."""
        actor = self.actor(user)
        user = actor.label
        with self._write:
            cur = self._writer()
            try:
                row = cur.execute("SELECT state, file_name, kind FROM uploads WHERE upload_id = ?", [upload_id]).fetchone()
                if row is None:
                    raise CspdashError(f"there is no upload {upload_id}; see `history` for the ids")
                if row[0] == "withdrawn":
                    raise CspdashError(f"upload {upload_id} ({row[1]}) is already withdrawn")
                auth.require(actor, "import_dataset" if row[2] == "dataset" else "withdraw",
                             [] if row[2] == "dataset" else self.upload_owners(upload_id),
                             what=f"upload {upload_id} ({row[1]})")
                with self._transaction(cur):
                    now = _now()
                    cur.execute("UPDATE uploads SET state = 'withdrawn', withdrawn_at = ?, withdrawn_by = ?, "
                                "withdraw_reason = ? WHERE upload_id = ?", [now, user, reason or None, upload_id])
                    if row[2] == "dataset":
                        self._recompute_after_withdrawal(cur, upload_id)
                    self._event(cur, user, "withdraw", upload_id, reason or row[1], now)
                self._checkpoint(cur)
            finally:
                cur.close()
        return next(h for h in self.history() if h["upload_id"] == upload_id)

    def _recompute_after_withdrawal(self, cur: duckdb.DuckDBPyConnection, upload_id: int) -> None:
        """Inside a withdrawal's transaction: the dataset's figures for the withdrawn upload's months, computed again
        over the uploads that still count, replace the figures of the newest upload now holding each month (the
        withdrawn upload's own figures stop counting with it)."""
        name = cur.execute("SELECT dataset FROM uploads WHERE upload_id = ?", [upload_id]).fetchone()[0]
        dset = self._dataset(name)
        if not ds.has_months(ds.FORMATS[dset.format]):
            return  # a population: no figures were computed from it
        table = ds.table_name(dset.name)
        months = [parse_period(m, grain="month") for (m,) in cur.execute(
            f"SELECT DISTINCT month FROM {table} WHERE upload_id = ?", [upload_id]).fetchall()]
        if not months:
            return
        holders = dict(cur.execute(
            f"SELECT month, max(upload_id) FROM {table} WHERE list_contains(?, month) AND upload_id IN "
            "(SELECT upload_id FROM uploads WHERE state = 'active' AND kind = 'dataset' AND dataset = ?) GROUP BY month",
            [[m.label for m in months], dset.name]).fetchall())
        measured = [i.id for i in self.cat.indicators if i.measure is not None and i.measure.dataset == dset.name]
        for month, holder in holders.items():
            cur.execute("DELETE FROM observations WHERE upload_id = ? AND period = ? AND grain = 'month' "
                        "AND list_contains(?, indicator)", [holder, month, measured])
        obs = self._measure_months(cur, dset, months, (), f"the {dset.name} dataset")
        loaded = dict(cur.execute("SELECT upload_id, uploaded_at FROM uploads WHERE list_contains(?, upload_id)",
                                  [sorted(set(holders.values()))]).fetchall())
        recent = {uid: self._recent_months(at) for uid, at in loaded.items()}  # as when the holder was loaded
        rows = [(holders[p.label], iid, p.label, p.grain, p.start, area, v, None, None, None, p in recent[holders[p.label]])
                for iid, p, area, v in obs if p.label in holders]
        if rows:
            _bulk_insert(cur, "observations", pd.DataFrame(rows, columns=[
                "upload_id", "indicator", "period", "grain", "period_start", "area", "value", "numerator",
                "denominator", "source_row", "provisional"]))

    def add_commentary(self, indicator: str, period: Period, text: str, user: User | str | None) -> int:
        """Store a chair's commentary typed in the app, as an upload of its own; returns its id."""
        actor = self.actor(user)
        if not self.cat.has_indicator(indicator):
            raise CspdashError(f"unknown indicator {indicator!r}")
        auth.require(actor, "comment", [self.cat.indicator(indicator).owner], what=f"commentary on {indicator}")
        user = actor.label
        text = text.strip()
        if not text:
            raise CspdashError("the commentary is empty; type what the meeting should know")
        if len(text) > 4000:
            raise CspdashError("the commentary is longer than 4,000 characters; shorten it")
        rated = period.at(rated_grain(self.cat.indicator(indicator)))
        import hashlib

        body = text.encode("utf-8")
        with self._write:
            cur = self._writer()
            try:
                with self._transaction(cur):
                    now = _now()
                    uid = cur.execute("SELECT nextval('upload_seq')").fetchone()[0]
                    cur.execute("INSERT INTO uploads (upload_id, kind, file_name, sha256, size_bytes, content, "
                                "user_name, uploaded_at, rows, state, note) VALUES "
                                "(?, 'commentary', ?, ?, ?, ?, ?, ?, 1, 'active', ?)",
                                [uid, "(typed in the app)", hashlib.sha256(body).hexdigest(), len(body), body, user, now,
                                 f"commentary on {indicator} {rated.label}"])
                    cur.execute("INSERT INTO commentary VALUES (?, ?, ?, ?, ?, NULL)",
                                [uid, indicator, rated.label, rated.grain, text])
                    self._event(cur, user, "commentary", uid, f"{indicator} {rated.label}", now)
                self._checkpoint(cur)
            finally:
                cur.close()
        return uid

    def upload_owners(self, upload_id: int) -> list[str]:
        """The subgroups owning the indicators an upload holds figures or commentary for."""
        ids = self.cursor().execute("SELECT indicator FROM observations WHERE upload_id = ? UNION "
                                    "SELECT indicator FROM commentary WHERE upload_id = ?", [upload_id, upload_id]).fetchall()
        return sorted({self.cat.indicator(i).owner for (i,) in ids if self.cat.has_indicator(i)})

    # --- accounts -----------------------------------------------------------------------------
    def has_accounts(self) -> bool:
        """Whether any account exists (until then the database is in open mode: anyone named may write)."""
        return self.cursor().execute("SELECT count(*) FROM users").fetchone()[0] > 0

    def actor(self, user: User | str | None) -> User:
        """The account acting: a User as given, or looked up by e-mail; open mode while there are no accounts."""
        if isinstance(user, User):
            if user.open_mode and self.has_accounts():
                raise PermissionDenied(f"{user.email} acted before accounts existed; sign in again", auth.RULES["signed_in"])
            return user
        email = auth.normalise_email(user or "")
        if not self.has_accounts():
            if not email:
                raise CspdashError("say who made it: every change records a person (an e-mail address or name)")
            return User((user or "").strip(), "admin", open_mode=True)
        if not email:
            raise PermissionDenied("accounts exist, so changes need a signed-in user: pass --user EMAIL", auth.RULES["signed_in"])
        found = self.user(email)
        if found is None:
            raise PermissionDenied(f"there is no account for {email}; ask the CSP analyst to add one "
                                   "(python -m cspdash user add EMAIL --role ROLE)", auth.RULES["signed_in"])
        return found

    def user(self, email: str) -> User | None:
        """The account with this e-mail, or None."""
        row = self.cursor().execute("SELECT email, role, subgroups, disabled FROM users WHERE email = ?",
                                    [auth.normalise_email(email)]).fetchone()
        return None if row is None else User(row[0], row[1], tuple(row[2]), bool(row[3]))

    def list_users(self) -> list[dict]:
        """Every account (never the password hash), with whether it is locked out now."""
        rel = self.cursor().execute(
            "SELECT email, role, subgroups, disabled, password_hash IS NOT NULL AS local_password, created_at, "
            "created_by, last_signin_at, failed_signins, last_failed_at FROM users ORDER BY email")
        cols = [d[0] for d in rel.description]
        now = _now()
        rows = [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]
        for r in rows:
            r["locked"] = auth.locked(r["failed_signins"], r.pop("last_failed_at"), now)
        return [_jsonable(r) for r in rows]

    def add_user(self, email: str, role: str, subgroups: Sequence[str] = (), password: str | None = None,
                 by: User | str = "cli") -> User:
        """Create an account; chairs must name their subgroups, others must not. ``by``: see ``_manager``."""
        who = self._manager(by, "add an account")
        if isinstance(by, User) and by.open_mode and role != "admin":
            raise PermissionDenied(f"the first account made in the app must be an admin, not a {role}: otherwise "
                                   "nobody could manage accounts", auth.RULES["admin_only"])
        email = auth.normalise_email(email)
        if not auth.valid_email(email):
            raise CspdashError(f"{email!r} is not an e-mail address")
        if role not in auth.ROLES:
            raise CspdashError(f"unknown role {role!r}; expected one of {'|'.join(auth.ROLES)}")
        known = {s.id for s in self.cat.subgroups}
        bad = [s for s in subgroups if s not in known]
        if bad:
            raise CspdashError(f"no subgroup {', '.join(bad)}; expected one of {'|'.join(sorted(known))}")
        if role == "chair" and not subgroups:
            raise CspdashError("a chair must be bound to at least one subgroup: add --subgroup ID")
        if role != "chair" and subgroups:
            raise CspdashError(f"only chairs are bound to subgroups; a {role} sees or changes everything it may")
        if self.user(email) is not None:
            raise CspdashError(f"{email} already has an account; use `user set-password` or `user disable`")
        hashed = auth.hash_password(password) if password else None
        self._write_users("INSERT INTO users VALUES (?, ?, ?, ?, false, ?, ?, 0, NULL, NULL)",
                          [email, role, list(subgroups), hashed, _now(), who], who, "user add",
                          f"{email} as {role}{' of ' + ', '.join(subgroups) if subgroups else ''}")
        return User(email, role, tuple(subgroups))

    def disable_user(self, email: str, by: User | str = "cli") -> None:
        """Disable an account (kept for the audit trail; it can do nothing any more); never the last enabled admin."""
        who = self._manager(by, "disable an account")
        target = self._existing(email)
        if target.role == "admin" and not target.disabled and self._enabled_admins() <= 1:
            raise CspdashError(f"{target.email} is the last enabled admin: add or re-enable another admin first, "
                               "or nobody could manage accounts")
        self._write_users("UPDATE users SET disabled = true WHERE email = ?", [target.email], who, "user disable",
                          target.email)

    def enable_user(self, email: str, by: User | str = "cli") -> None:
        """Re-enable a disabled account (its password and role are as they were)."""
        who = self._manager(by, "re-enable an account")
        target = self._existing(email)
        self._write_users("UPDATE users SET disabled = false WHERE email = ?", [target.email], who, "user enable",
                          target.email)

    def set_password(self, email: str, password: str, by: User | str = "cli") -> None:
        """Set an account's password (and clear its lock-out); cookies issued under the old password stop working."""
        who = self._manager(by, "set a password")
        target = self._existing(email)
        hashed = auth.hash_password(password)
        self._write_users("UPDATE users SET password_hash = ?, failed_signins = 0, last_failed_at = NULL WHERE email = ?",
                          [hashed, target.email], who, "user set-password", target.email)

    def unlock_user(self, email: str, by: User | str = "cli") -> None:
        """Clear an account's failed sign-ins, ending a lock-out before its 15 minutes are up."""
        who = self._manager(by, "unlock an account")
        target = self._existing(email)
        self._write_users("UPDATE users SET failed_signins = 0, last_failed_at = NULL WHERE email = ?",
                          [target.email], who, "user unlock", target.email)

    def account_stamp(self, email: str) -> tuple[User, str] | None:
        """The account and the stamp of its current password (``auth.password_stamp``), for checking a cookie."""
        row = self.cursor().execute("SELECT password_hash FROM users WHERE email = ?",
                                    [auth.normalise_email(email)]).fetchone()
        found = self.user(email)
        return None if row is None or found is None else (found, auth.password_stamp(row[0]))

    def _manager(self, by: User | str, what: str) -> str:
        """Who manages accounts, as recorded in events. A User (the app) must be an admin whose account is still
        enabled, or the open-mode actor while no account exists; a string names an operator of the CLI, who holds
        the server's files and so is trusted."""
        if not isinstance(by, User):
            return by
        if by.open_mode:
            return self.actor(by).label  # refuses once accounts exist
        current = self.user(by.email)
        if current is None:
            raise PermissionDenied(f"there is no account for {by.email}", auth.RULES["signed_in"])
        auth.require(current, "manage_users", what=f"({what})", outcome="nothing was changed")
        return current.label

    def _enabled_admins(self) -> int:
        return self.cursor().execute("SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled").fetchone()[0]

    def sign_in(self, email: str, password: str, client: str = "") -> User:
        """Check a local password; lock the account out after repeated failures. The error never says which part was wrong.

        The attempt is counted first, in one statement under the write lock, and its password checked only when
        it is among the first ``auth.MAX_FAILED_SIGNINS`` since the last success: concurrent attempts cannot
        all read the same count. A success clears the count only if no lock-out began meanwhile. ``client`` names
        who is asking (the app passes a key per browser session or address): each may make at most
        ``auth.MAX_CLIENT_ATTEMPTS`` attempts in a lock-out window, over all accounts.
        """
        email = auth.normalise_email(email)
        now = _now()
        refused = auth.SignInError("e-mail or password not recognised, or the account is disabled or locked")
        too_many = auth.SignInError(f"too many failed sign-ins: try again in {auth.LOCKOUT.seconds // 60} minutes")
        if client and not self._client_attempts.allow(client, now):
            raise too_many  # not recorded: the e-mail may be anything, and the events table would grow with it
        found = self._count_attempt(email, now)
        if found is None:
            auth.verify_password(_DUMMY_HASH, password)  # same work as a real check: no timing hint
            raise refused
        ticket, stored, disabled = found
        if auth.lockout_ticket(ticket):
            self._user_event(email, "sign-in refused", f"{email}: locked out after failed sign-ins")
            raise too_many
        if disabled or not auth.verify_password(stored, password):
            self._user_event(email, "sign-in failed", email)
            raise refused
        reset = ("UPDATE users SET failed_signins = 0, last_failed_at = NULL, last_signin_at = ? "
                 "WHERE email = ? AND failed_signins - 1 < ? RETURNING email")
        if not self._write_users(reset, [now, email, auth.MAX_FAILED_SIGNINS], email, "sign-in", email):
            raise too_many  # other attempts locked the account while this one was checked
        user = self.user(email)
        assert user is not None
        return user

    def _count_attempt(self, email: str, now: datetime) -> tuple[int, str | None, bool] | None:
        """Add a sign-in attempt to the account's failure count (starting again once a lock-out has passed) in one
        statement; (the count including this attempt, password hash, disabled), or None when there is no account."""
        since = now - auth.LOCKOUT
        with self._write:
            cur = self._writer()
            try:
                row = cur.execute(
                    "UPDATE users SET "
                    "failed_signins = CASE WHEN failed_signins >= $max AND last_failed_at < $since THEN 1 "
                    "ELSE failed_signins + 1 END, "
                    "last_failed_at = CASE WHEN failed_signins >= $max AND last_failed_at >= $since "
                    "THEN last_failed_at ELSE $now END "  # a lock-out runs from its last checked failure
                    "WHERE email = $email RETURNING failed_signins, password_hash, disabled",
                    {"max": auth.MAX_FAILED_SIGNINS, "since": since, "now": now, "email": email}).fetchall()
                self._checkpoint(cur)
            finally:
                cur.close()
        return (int(row[0][0]), row[0][1], bool(row[0][2])) if row else None

    def _user_event(self, by: str, action: str, detail: str) -> None:
        """Record an account event on its own (a refused or failed sign-in)."""
        with self._write:
            cur = self._writer()
            try:
                self._event(cur, by, action, None, detail)
            finally:
                cur.close()

    def _existing(self, email: str) -> User:
        found = self.user(email)
        if found is None:
            raise CspdashError(f"there is no account for {auth.normalise_email(email)}; see `user list`")
        return found

    def _write_users(self, sql: str, params: list, by: str, action: str, detail: str) -> list:
        """Run one change to the accounts with its audit event in one transaction; the statement's rows (for
        RETURNING). A statement that changes no row records no event."""
        with self._write:
            cur = self._writer()
            try:
                with self._transaction(cur):
                    rows = cur.execute(sql, params).fetchall()
                    if "RETURNING" not in sql or rows:
                        self._event(cur, by, action, None, detail)
                self._checkpoint(cur)
            finally:
                cur.close()
        return rows

    # --- backup -------------------------------------------------------------------------------
    def backup(self, out: str | Path) -> Path:
        """Write a consistent copy of the whole database to ``out`` (a new DuckDB file)."""
        target = Path(out)
        if target.exists():
            raise CspdashError(f"{target} already exists; choose a new file name for the backup")
        target.parent.mkdir(parents=True, exist_ok=True)
        with self._write:
            cur = self._writer()
            try:
                self._checkpoint(cur)
                cur.execute("ATTACH ? AS backup_db", [str(target)])
                try:
                    cur.execute("COPY FROM DATABASE " + _db_name(cur) + " TO backup_db")
                    self._inline_originals(cur)
                finally:
                    cur.execute("DETACH backup_db")
            except BaseException as e:
                target.unlink(missing_ok=True)  # never leave half a backup behind
                target.with_name(target.name + ".wal").unlink(missing_ok=True)
                if isinstance(e, duckdb.Error) and storage_failure(e):
                    self._failed = True
                    raise StorageError(f"no backup was written: {storage_cause(e, target.parent.resolve())}") from None
                raise
            finally:
                cur.close()
        return target

    def _inline_originals(self, cur: duckdb.DuckDBPyConnection) -> None:
        """Put the originals kept beside the database into the backup's ``content`` column: a backup is one
        self-contained file, which can be copied off the machine and restored anywhere."""
        kept = cur.execute("SELECT upload_id, file_name, sha256 FROM backup_db.uploads "
                           "WHERE content IS NULL AND size_bytes > 0 ORDER BY upload_id").fetchall()
        for uid, name, sha in kept:
            path = self._original(uid, name, sha)
            cur.execute("UPDATE backup_db.uploads SET content = (SELECT content FROM read_blob(?)) WHERE upload_id = ?",
                        [str(path), uid])


_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$Vm9pZFZvaWRWb2lkVm9pZFZvaWRWb2lkVm9pZFZvaWQ"


class _Staging(Exception):
    """The direct import cannot take these files: roll back and stage them."""


def _bulk_insert(cur: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """Insert a frame's rows into ``table`` (columns by name)."""
    frame = frame.astype({c: "object" for c in ("value", "numerator", "denominator", "source_row") if c in frame})
    cur.register("_bulk_rows", frame)
    try:
        cols = ", ".join(frame.columns)
        cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _bulk_rows")
    finally:
        cur.unregister("_bulk_rows")


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort: not every file system allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


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


def damaged_error(db: Path, e: BaseException) -> CspdashError:
    """A damaged database file, in words: what DuckDB found and the ``restore`` of the newest backup, named when
    ``CSPDASH_BACKUP_DIR`` or a ``backups`` folder beside the database holds one."""
    from cspdash.backups import newest_backup  # backups imports this module

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


def _db_name(cur: duckdb.DuckDBPyConnection) -> str:
    name = cur.execute("SELECT current_database()").fetchone()[0]
    return '"' + name.replace('"', '""') + '"'


def _period_parser() -> Callable[[str, str], Period]:
    """``parse_period(label, grain=grain)``, remembered for the labels already seen (a few hundred periods recur
    across tens of thousands of stored figures)."""
    seen: dict[tuple[str, str], Period] = {}

    def period_of(label: str, grain: str) -> Period:
        p = seen.get((label, grain))
        if p is None:
            p = seen[(label, grain)] = parse_period(label, grain=grain)
        return p

    return period_of


def _area(cat: Catalogue, area: str) -> str:
    a = " ".join(area.split())
    return "" if a.casefold() in (cat.area.casefold(), cat.name.casefold(), "") else a


def _rows(payload: object) -> int:
    return payload.rows if isinstance(payload, ds.Staged) else len(payload)  # type: ignore[arg-type]


def _jsonable(d: dict) -> dict:
    for k, v in d.items():
        if isinstance(v, datetime):
            d[k] = v.isoformat(sep=" ", timespec="seconds")
        elif hasattr(v, "isoformat"):
            d[k] = v.isoformat()
    return d


def source_files(paths: Iterable[str | Path]) -> list[SourceFile]:
    """SourceFiles for paths given on the command line."""
    out = []
    for p in paths:
        path = Path(p)
        if not path.is_file():
            raise CspdashError(f"{p}: no such file")
        out.append(SourceFile.from_path(path))
    return out


class DatabaseMissing(CspdashError):
    """The database file named does not exist; the app and most commands never create one (they fail closed)."""


def require_database(db: str | Path) -> None:
    """Raise DatabaseMissing, saying which commands make one, unless the database ``db`` exists (or is in memory)."""
    if str(db) == ":memory:" or Path(db).exists():
        return
    opt = f" --db {shlex.quote(str(db))}"
    raise DatabaseMissing(
        f"there is no database at {db}: cspdash never makes one by accident. Check --db or $CSPDASH_DB; "
        f"or make an empty one with `python -m cspdash{opt} init` and add the first admin with "
        f"`python -m cspdash{opt} user add EMAIL --role admin`, or one with the demo data with "
        f"`python -m cspdash{opt} demo`")
