"""The embedded DuckDB store: schema and migrations, atomic uploads, history, withdrawals and queries.

One process owns the file: one connection, a cursor per thread, writes serialised by a lock, an explicit
``BEGIN ... COMMIT`` around each write and ``CHECKPOINT`` after it. All values go in as bound parameters; the only
SQL built from text is table names made from validated dataset names and the catalogue's trusted measures.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from cspdash import datasets as ds
from cspdash.config import Catalogue, Dataset
from cspdash.errors import CspdashError
from cspdash.ingest import Problem, SourceFile, ValidationError, parse_return
from cspdash.periods import Period, parse_period
from cspdash.status import Observation, Rollup, Status, evaluate, figures_for, rated_grain, rollup

SCHEMA_VERSION = 1

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
}

CURRENT_OBS = """
    SELECT o.indicator, o.period, o.grain, o.area, o.value, o.numerator, o.denominator, o.upload_id
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

    def as_dict(self) -> dict:
        """A JSON-ready mapping."""
        return {"dry_run": self.dry_run, "uploads": self.uploads, "changes": [c.as_dict() for c in self.changes],
                "other_area_figures": self.other_area_figures}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Store:
    """The CSP's data: one DuckDB file, opened once per process."""

    def __init__(self, path: str | Path, catalogue: Catalogue) -> None:
        self.path = Path(path)
        self.cat = catalogue
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(str(path))
        except duckdb.Error as e:
            raise CspdashError(f"cannot open the database {path}: {ds._first_line(e)}; "
                               "is another cspdash process using it, or is it not a cspdash database?") from None
        self._write = threading.RLock()
        self._local = threading.local()
        self._migrate()

    # --- connection ---------------------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor (a DuckDB connection is not thread-safe; cursors are)."""
        cur = getattr(self._local, "cur", None)
        if cur is None:
            cur = self._con.cursor()
            self._local.cur = cur
        return cur

    def close(self) -> None:
        """Close the database."""
        self._con.close()

    def _migrate(self) -> None:
        with self._write:
            cur = self._con.cursor()
            cur.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP)")
            have = cur.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
            if have > SCHEMA_VERSION:
                raise CspdashError(f"{self.path} was written by a newer cspdash (schema {have}, this one knows "
                                   f"{SCHEMA_VERSION}); upgrade cspdash")
            for v in range(have + 1, SCHEMA_VERSION + 1):
                cur.execute("BEGIN TRANSACTION")
                try:
                    for stmt in MIGRATIONS[v]:
                        cur.execute(stmt)
                    cur.execute("INSERT INTO schema_version VALUES (?, ?)", [v, _now()])
                    cur.execute("COMMIT")
                except BaseException:
                    cur.execute("ROLLBACK")
                    raise
            for d in self.cat.datasets:
                cur.execute(ds.create_table_sql(d))
            cur.close()

    # --- reads --------------------------------------------------------------------------------
    def data_version(self) -> int:
        """A number that every committed change increases (cache key for the UI)."""
        # fetchall, not fetchone: a result left open keeps its transaction open, and that blocks CHECKPOINT.
        return int(self.cursor().execute("SELECT coalesce(max(event_id), 0) FROM events").fetchall()[0][0])

    def is_empty(self) -> bool:
        """Whether nothing has ever been uploaded."""
        return self.cursor().execute("SELECT count(*) FROM uploads").fetchall()[0][0] == 0

    def current_observations(self, indicators: Sequence[str] | None = None, area: str = "") -> dict[str, list[Observation]]:
        """The figures that count now (latest active upload per indicator, period and area), by indicator."""
        sql = f"SELECT indicator, period, grain, value, numerator, denominator FROM ({CURRENT_OBS}) WHERE area = ?"
        params: list = [area]
        if indicators is not None:
            sql += " AND list_contains(?, indicator)"
            params.append(list(indicators))
        out: dict[str, list[Observation]] = defaultdict(list)
        for iid, period, grain, value, num, den in self.cursor().execute(sql, params).fetchall():
            out[iid].append(Observation(parse_period(period, grain=grain), value, num, den))
        return out

    def statuses(self, period: Period | None = None) -> list[Status]:
        """Every indicator's status for ``period`` (default: the latest complete quarter)."""
        period = period or self.latest_complete_quarter()
        obs = self.current_observations()
        if period is None:
            period = Period.containing(datetime.now().date()).previous()
        return [evaluate(i, period.at("quarter"), figures_for(i, obs.get(i.id, ()))) for i in self.cat.indicators]

    def rollups(self, statuses: Sequence[Status]) -> list[Rollup]:
        """Each priority's roll-up of ``statuses`` by the catalogue's rule."""
        return [rollup(p.id, statuses, self.cat.rollup) for p in self.cat.priorities]

    def complete_quarters(self) -> list[Period]:
        """Quarters for which at least one indicator has a complete figure, oldest first."""
        obs = self.current_observations()
        quarters: set[Period] = set()
        for ind in self.cat.indicators:
            if rated_grain(ind) != "quarter":
                continue
            for p, f in figures_for(ind, obs.get(ind.id, ())).items():
                if f.complete and f.value is not None:
                    quarters.add(p)
        return sorted(quarters)

    def latest_complete_quarter(self) -> Period | None:
        """The latest quarter with any complete figure, or None when there is no data."""
        qs = self.complete_quarters()
        return qs[-1] if qs else None

    def history(self, indicator: str | None = None) -> list[dict]:
        """Uploads, newest first, with who, when, what and their state (optionally those touching an indicator)."""
        sql = """SELECT upload_id, kind, dataset, file_name, sha256, user_name AS user, uploaded_at, rows, state,
                        withdrawn_at, withdrawn_by, withdraw_reason, note, size_bytes
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
        """(file name, original bytes) of an upload."""
        row = next(iter(self.cursor().execute("SELECT file_name, content FROM uploads WHERE upload_id = ?",
                                              [upload_id]).fetchall()), None)
        if row is None:
            raise CspdashError(f"there is no upload {upload_id}; see `history` for the ids")
        return row[0], bytes(row[1] or b"")

    def series(self, indicator: str, area: str = "") -> list[dict]:
        """Every figure ever stored for an indicator (restatements and withdrawn ones too), with its upload."""
        rel = self.cursor().execute(
            """SELECT o.period, o.grain, o.period_start, o.value, o.numerator, o.denominator, o.upload_id,
                      u.file_name, u.user_name AS user, u.uploaded_at, u.state, o.source_row,
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
        rows = self.cursor().execute(
            f"SELECT area, period, grain, value, numerator, denominator FROM ({CURRENT_OBS}) "
            "WHERE indicator = ? AND area <> ''", [indicator]).fetchall()
        by_area: dict[str, list[Observation]] = defaultdict(list)
        for area, p, g, v, n, d in rows:
            by_area[area].append(Observation(parse_period(p, grain=g), v, n, d))
        own = self.current_observations([indicator]).get(indicator, [])
        if own:
            by_area[self.cat.area] = own
        out = []
        for area, obs in by_area.items():
            f = figures_for(ind, obs).get(rated)
            if f is not None and f.value is not None:
                out.append({"area": area, "value": f.value, "complete": f.complete, "own": area == self.cat.area})
        return sorted(out, key=lambda r: -r["value"])

    def events(self, limit: int = 200) -> list[dict]:
        """The audit trail, newest first."""
        rel = self.cursor().execute("SELECT * FROM events ORDER BY event_id DESC LIMIT ?", [limit])
        cols = [d[0] for d in rel.description]
        return [_jsonable(dict(zip(cols, r, strict=True))) for r in rel.fetchall()]

    # --- writes -------------------------------------------------------------------------------
    def import_files(self, files: Sequence[SourceFile], user: str, dataset: str | None = None,
                     dry_run: bool = False) -> ImportResult:
        """Validate every file, then store all of them in one transaction, or nothing if any has a problem.

        A file identical (same SHA-256) to an active upload of the same kind is recognised and changes nothing.
        With ``dry_run`` nothing is stored and the result previews the changes.
        """
        if not files:
            raise CspdashError("no files given to import")
        if not user:
            raise CspdashError("an import must say who made it")
        dset = self._dataset(dataset) if dataset else None
        with self._write:
            cur = self._con.cursor()
            try:
                return self._import(cur, files, user, dset, dry_run)
            finally:
                cur.close()

    def _dataset(self, name: str) -> Dataset:
        try:
            return self.cat.dataset(name)
        except StopIteration:
            known = ", ".join(d.name for d in self.cat.datasets) or "none"
            raise CspdashError(f"no dataset named {name!r} in the catalogue (declared: {known})") from None

    def _import(self, cur: duckdb.DuckDBPyConnection, files: Sequence[SourceFile], user: str,
                dset: Dataset | None, dry_run: bool) -> ImportResult:
        result = ImportResult(dry_run)
        problems: list[Problem] = []
        more = 0
        prepared: list[tuple[SourceFile, str, object]] = []  # (file, sha, parsed rows or staged table)
        seen: dict[str, str] = {}
        for n, src in enumerate(files):
            sha = src.sha256()
            dup = cur.execute("SELECT upload_id FROM uploads WHERE sha256 = ? AND state = 'active' AND kind = ? "
                              "ORDER BY upload_id LIMIT 1", [sha, "dataset" if dset else "return"]).fetchone()
            if dup or sha in seen:
                result.uploads.append({"file_name": src.display_name, "sha256": sha, "upload_id": None,
                                       "duplicate_of": dup[0] if dup else seen[sha], "rows": 0,
                                       "message": "identical to an earlier upload; nothing changed"})
                continue
            seen[sha] = src.display_name
            try:
                if dset is None:
                    prepared.append((src, sha, parse_return(src, self.cat)))
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
            for k, (src, _sha, payload) in enumerate(prepared):
                if isinstance(payload, ds.Staged):
                    for iid, p, area, v in ds.compute_measures(cur, self.cat, dset, payload.table, src.display_name):
                        new_obs.append((iid, p, _area(self.cat, area), v, None, None, None, k))
                else:
                    for r in payload:  # type: ignore[union-attr]
                        if r.value is not None or r.numerator is not None:
                            new_obs.append((r.indicator, r.period, r.area, r.value, r.numerator, r.denominator, r.row, k))
                        if r.commentary:
                            comments.append((r.indicator, r.period, r.commentary, r.row, k))
            result.changes = self._preview(new_obs)
            result.other_area_figures = sum(1 for o in new_obs if o[2])
            if dry_run:
                for src, sha, payload in prepared:
                    result.uploads.append({"file_name": src.display_name, "sha256": sha, "upload_id": None,
                                           "rows": _rows(payload), "duplicate_of": None})
                return result
            self._commit(cur, prepared, new_obs, comments, user, dset, result)
            return result
        finally:
            for _src, _sha, payload in prepared:
                if isinstance(payload, ds.Staged):
                    cur.execute(f"DROP TABLE IF EXISTS {payload.table}")

    def _commit(self, cur: duckdb.DuckDBPyConnection, prepared: list, new_obs: list, comments: list, user: str,
                dset: Dataset | None, result: ImportResult) -> None:
        now = _now()
        cur.execute("BEGIN TRANSACTION")
        try:
            ids: list[int] = []
            for src, sha, payload in prepared:
                uid = cur.execute("SELECT nextval('upload_seq')").fetchone()[0]
                ids.append(uid)
                cur.execute("INSERT INTO uploads (upload_id, kind, dataset, file_name, sha256, size_bytes, content, "
                            "user_name, uploaded_at, rows, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active')",
                            [uid, "dataset" if dset else "return", dset.name if dset else None, src.display_name, sha,
                             src.size, src.read(), user, now, _rows(payload)])
                if isinstance(payload, ds.Staged):
                    cols = ", ".join(ds.FORMATS[dset.format].table_columns)
                    cur.execute(f"INSERT INTO {ds.table_name(dset.name)} (upload_id, source_row, {cols}) "
                                f"SELECT ?, source_row, {cols} FROM {payload.table}", [uid])
                self._event(cur, user, "upload", uid, f"{src.display_name} ({_rows(payload)} rows)", now)
                result.uploads.append({"file_name": src.display_name, "sha256": sha, "upload_id": uid,
                                       "rows": _rows(payload), "duplicate_of": None})
            if new_obs:
                # Bulk insert through a registered frame: executemany inserts row by row and is ~100x slower.
                _bulk_insert(cur, "observations", pd.DataFrame(
                    [(ids[k], iid, p.label, p.grain, p.start, area, v, num, den, row)
                     for iid, p, area, v, num, den, row, k in new_obs],
                    columns=["upload_id", "indicator", "period", "grain", "period_start", "area", "value", "numerator",
                             "denominator", "source_row"]))
            if comments:
                _bulk_insert(cur, "commentary", pd.DataFrame(
                    [(ids[k], iid, p.label, p.grain, text, row) for iid, p, text, row, k in comments],
                    columns=["upload_id", "indicator", "period", "grain", "text", "source_row"]))
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        _checkpoint(cur)

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
                old, new = evaluate(ind, q, old_figs), evaluate(ind, q, new_figs)
                changes.append(Change(iid, p.label, old.value if old_figs.get(p) else None, new.value,
                                      old.rag, new.rag))
        return changes

    def withdraw(self, upload_id: int, user: str, reason: str = "") -> dict:
        """Withdraw an upload: its figures and commentary stop counting; nothing is deleted."""
        with self._write:
            cur = self._con.cursor()
            try:
                row = cur.execute("SELECT state, file_name FROM uploads WHERE upload_id = ?", [upload_id]).fetchone()
                if row is None:
                    raise CspdashError(f"there is no upload {upload_id}; see `history` for the ids")
                if row[0] == "withdrawn":
                    raise CspdashError(f"upload {upload_id} ({row[1]}) is already withdrawn")
                cur.execute("BEGIN TRANSACTION")
                try:
                    now = _now()
                    cur.execute("UPDATE uploads SET state = 'withdrawn', withdrawn_at = ?, withdrawn_by = ?, "
                                "withdraw_reason = ? WHERE upload_id = ?", [now, user, reason or None, upload_id])
                    self._event(cur, user, "withdraw", upload_id, reason or row[1], now)
                    cur.execute("COMMIT")
                except BaseException:
                    cur.execute("ROLLBACK")
                    raise
                _checkpoint(cur)
            finally:
                cur.close()
        return next(h for h in self.history() if h["upload_id"] == upload_id)

    def add_commentary(self, indicator: str, period: Period, text: str, user: str) -> int:
        """Store a chair's commentary typed in the app, as an upload of its own; returns its id."""
        if not self.cat.has_indicator(indicator):
            raise CspdashError(f"unknown indicator {indicator!r}")
        text = text.strip()
        if not text:
            raise CspdashError("the commentary is empty; type what the meeting should know")
        if len(text) > 4000:
            raise CspdashError("the commentary is longer than 4,000 characters; shorten it")
        rated = period.at(rated_grain(self.cat.indicator(indicator)))
        import hashlib

        body = text.encode("utf-8")
        with self._write:
            cur = self._con.cursor()
            try:
                cur.execute("BEGIN TRANSACTION")
                try:
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
                    cur.execute("COMMIT")
                except BaseException:
                    cur.execute("ROLLBACK")
                    raise
                _checkpoint(cur)
            finally:
                cur.close()
        return uid

    # --- backup -------------------------------------------------------------------------------
    def backup(self, out: str | Path) -> Path:
        """Write a consistent copy of the whole database to ``out`` (a new DuckDB file)."""
        target = Path(out)
        if target.exists():
            raise CspdashError(f"{target} already exists; choose a new file name for the backup")
        target.parent.mkdir(parents=True, exist_ok=True)
        with self._write:
            cur = self._con.cursor()
            try:
                _checkpoint(cur)
                cur.execute("ATTACH ? AS backup_db", [str(target)])
                try:
                    cur.execute("COPY FROM DATABASE " + _db_name(cur) + " TO backup_db")
                finally:
                    cur.execute("DETACH backup_db")
            finally:
                cur.close()
        return target


def _bulk_insert(cur: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """Insert a frame's rows into ``table`` (columns by name)."""
    frame = frame.astype({c: "object" for c in ("value", "numerator", "denominator", "source_row") if c in frame})
    cur.register("_bulk_rows", frame)
    try:
        cols = ", ".join(frame.columns)
        cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _bulk_rows")
    finally:
        cur.unregister("_bulk_rows")


def _checkpoint(cur: duckdb.DuckDBPyConnection) -> None:
    """Fold the write-ahead log into the database file, when no other transaction is open.

    Best effort: the commit is already durable in the WAL, and a reader on another cursor (another session of the
    app, or a result not yet fetched) makes CHECKPOINT fail; that must not turn a committed write into an error.
    DuckDB checkpoints by itself later.
    """
    with contextlib.suppress(duckdb.TransactionException):
        cur.execute("CHECKPOINT")


def _db_name(cur: duckdb.DuckDBPyConnection) -> str:
    name = cur.execute("SELECT current_database()").fetchone()[0]
    return '"' + name.replace('"', '""') + '"'


def restore(backup: str | Path, db: str | Path) -> Path | None:
    """Replace the database file ``db`` with ``backup`` (checked first); the old file is kept beside it."""
    src, dst = Path(backup), Path(db)
    if not src.is_file():
        raise CspdashError(f"{src} does not exist")
    try:
        con = duckdb.connect(str(src), read_only=True)
        try:
            version = con.execute("SELECT max(version) FROM schema_version").fetchone()[0]
            con.execute("SELECT count(*) FROM uploads").fetchone()
        finally:
            con.close()
    except duckdb.Error:
        raise CspdashError(f"{src} is not a cspdash backup (no cspdash tables in it)") from None
    if version is None or version > SCHEMA_VERSION:
        raise CspdashError(f"{src} has schema version {version}; this cspdash reads up to {SCHEMA_VERSION}")
    kept = None
    if dst.exists():
        kept = dst.with_name(f"{dst.name}.before-restore-{datetime.now():%Y%m%d-%H%M%S}")
        dst.rename(kept)
        wal = dst.with_name(dst.name + ".wal")
        if wal.exists():
            wal.rename(kept.with_name(kept.name + ".wal"))
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    return kept


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
