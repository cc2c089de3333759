"""Uploads: the import pipeline (validate every file, then store all of them in one transaction, or nothing; a
record-level file loaded by ``cspdash.extracts``, its figures from ``cspdash.measured``), the preview of what an
import changes, withdrawals (``cspdash.withdrawals``) and typed commentary."""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from cspdash import auth, db, ingest, measured, withdrawals
from cspdash import datasets as ds
from cspdash import extract_checks as checks
from cspdash import extracts as ex
from cspdash.accounts import Accounts
from cspdash.auth import PermissionDenied, User
from cspdash.config import Catalogue, Dataset
from cspdash.errors import CspdashError, StorageError
from cspdash.figures import Figures, dataset_of
from cspdash.ingest import Problem, SourceFile, ValidationError, parse_return
from cspdash.measured import insert_rows as _bulk_insert  # a name of its own here: tests/test_reliability_concurrency.py
from cspdash.originals import Originals
from cspdash.periods import Period
from cspdash.status import Observation, evaluate, figures_for, rated_grain


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


class Uploads:
    """Writes of uploads to one database: imports, withdrawals and typed commentary."""

    #: The import of record-level files on PostgreSQL (set by the store: ``cspdash.pg_import.import_dataset``).
    dataset_import: Callable[..., ImportResult] | None = None

    def __init__(self, database: db.Engine, cat: Catalogue, originals: Originals, figures: Figures,
                 accounts: Accounts) -> None:
        self.db = database
        self.cat = cat
        self.originals = originals
        self.figures = figures
        self.accounts = accounts

    def import_files(self, files: Sequence[SourceFile], user: User | str | None, dataset: str | None = None,
                     dry_run: bool = False, synthetic: bool = False) -> ImportResult:
        """Validate every file, then store all of them in one transaction, or nothing if any has a problem.

        A file identical (same SHA-256) to an active upload of the same kind is recognised and changes nothing.
        With ``dry_run`` nothing is stored and the result previews the changes. With ``synthetic`` the uploads are
        recorded as invented figures, and every figure they hold is labelled so.
        """
        if not files:
            raise CspdashError("no files given to import")
        actor = self.accounts.actor(user)
        dset = dataset_of(self.cat, dataset) if dataset else None
        if dset is not None:
            auth.require(actor, "import_dataset", what=f"the {dset.name} dataset (it feeds several subgroups' figures)",
                         outcome="nothing was stored")
        with self.db.lock, contextlib.ExitStack() as spooled:
            if dset is not None:  # a browser upload (bytes) is spooled to a file: it takes the path of a file on disk
                files = [spooled.enter_context(src.on_disk()) if src.size <= ingest.MAX_DATASET_BYTES else src
                         for src in files]
            cur = self.db.writer()
            try:
                with self._one_import_at_a_time(cur):
                    return self._import(cur, files, actor, dset, dry_run, synthetic)
            except duckdb.Error as e:
                if db.storage_failure(e):  # the disk filled while the files were read or checked
                    raise self.db.storage_error(e, stored=False) from None
                raise
            finally:
                cur.close()

    @contextlib.contextmanager
    def _one_import_at_a_time(self, cur: db.Cursor) -> Iterator[None]:
        """One import at a time, so an identical file is recognised: the write lock (DuckDB), an advisory lock (PG)."""
        locked = not isinstance(self.db, db.Database) and cur.execute("SELECT pg_advisory_lock(?)", [IMPORT_LOCK])
        try:
            yield
        finally:
            if locked:
                with contextlib.suppress(Exception):  # a lost connection has released it already
                    cur.execute("SELECT pg_advisory_unlock(?)", [IMPORT_LOCK])

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

    def _import(self, cur: duckdb.DuckDBPyConnection, files: Sequence[SourceFile], actor: User,
                dset: Dataset | None, dry_run: bool, synthetic: bool = False) -> ImportResult:
        if dset is not None:
            return self._import_dataset(cur, files, actor, dset, dry_run, synthetic)
        result = ImportResult(dry_run)
        problems: list[Problem] = []
        more = 0
        prepared: list[tuple[SourceFile, str, list]] = []  # (file, sha, parsed rows)
        seen: dict[str, str] = {}
        for src in files:
            try:  # refused by name and size before a byte is read (hashing reads the whole file)
                ingest.check_extension(src, ingest.RETURN_EXTENSIONS)
                ingest.check_size(src, ingest.MAX_RETURN_BYTES)
            except ValidationError as e:
                problems.extend(e.problems)
                continue
            sha = src.sha256()
            if self._repeated(cur, src, sha, "return", seen, result):
                continue
            try:
                prepared.append((src, sha, parse_return(src, self.cat)))
            except ValidationError as e:
                problems.extend(e.problems)
                more += e.more
        if problems:
            raise ValidationError(problems, more)
        new_obs: list[tuple[str, Period, str, float | None, float | None, float | None, int | None, int]] = []
        comments: list[tuple[str, Period, str, int | None, int]] = []
        for k, (_src, _sha, payload) in enumerate(prepared):
            for r in payload:
                if r.value is not None or r.numerator is not None:
                    new_obs.append((r.indicator, r.period, r.area, r.value, r.numerator, r.denominator, r.row, k))
                if r.commentary:
                    comments.append((r.indicator, r.period, r.commentary, r.row, k))
        self._check_owners(actor, new_obs, comments)
        result.changes = self._preview(new_obs)
        result.other_area_figures = sum(1 for o in new_obs if o[2])
        if dry_run:
            for src, sha, payload in prepared:
                result.uploads.append({"file_name": src.display_name, "sha256": sha, "upload_id": None,
                                       "rows": _rows(payload), "duplicate_of": None, "synthetic": synthetic})
            return result
        self._commit(cur, prepared, new_obs, comments, actor.label, None, result, synthetic=synthetic)
        self.db.checkpoint(cur)
        return result

    @staticmethod
    def _repeated(cur: duckdb.DuckDBPyConnection, src: SourceFile, sha: str, kind: str, seen: dict[str, str],
                  result: ImportResult) -> bool:
        """Whether the file is identical to an active upload of its kind or to an earlier file of this import (then
        noted in ``result``: it changes nothing); else it is noted in ``seen``."""
        dup = cur.execute("SELECT upload_id FROM uploads WHERE sha256 = ? AND state = 'active' AND kind = ? "
                          "ORDER BY upload_id LIMIT 1", [sha, kind]).fetchone()
        if not dup and sha not in seen:
            seen[sha] = src.display_name
            return False
        result.uploads.append({"file_name": src.display_name, "sha256": sha, "upload_id": None,
                               "duplicate_of": dup[0] if dup else seen[sha], "rows": 0,
                               "message": "identical to an earlier upload; nothing changed"})
        return True

    def _import_dataset(self, cur: duckdb.DuckDBPyConnection, files: Sequence[SourceFile], actor: User,
                        dset: Dataset, dry_run: bool, synthetic: bool) -> ImportResult:
        """Load record-level files with the one loader (``cspdash.extracts``): each read once by DuckDB into its
        table inside the import's transaction while another thread hashes it and keeps its original. An attempt
        that learns something the load assumed wrongly (Windows-1252 text, a dialect only the whole file shows, a
        file identical to an earlier upload) rolls back and tries again knowing it; a file with a problem is read
        again, after the rollback, to name every problem. A ``dry_run`` loads the same way, keeps no original, and
        rolls back. On a PostgreSQL store, ``dataset_import`` does it instead (Parquet files: ``cspdash.pg_import``)."""
        if not isinstance(self.db, db.Database):
            if self.dataset_import is None:
                raise CspdashError("this store cannot import record-level files; nothing was stored")
            return self.dataset_import(self, cur, files, actor, dset, dry_run, synthetic)
        checks.check_files(files)
        known = [ex.Known() for _ in files]
        kept: list[Path] = []  # originals this import put in place; removed again unless it commits
        had_folder = self.originals.folder is not None and self.originals.folder.is_dir()
        committed = False

        def attempts() -> ImportResult:
            nonlocal committed
            while True:  # each attempt that fails to finish has learned something new of a file: a few at most
                result, committed = self._load_dataset(cur, files, actor, dset, dry_run, synthetic, known, kept)
                if result is not None:
                    return result

        try:  # memory capped while the files load (unless the database is in memory: no file to spill to)
            return ex.under_memory_cap(cur, attempts, capped=self.originals.folder is not None)
        finally:
            if not committed:  # a refused, failed or dry-run import keeps no original
                for path in kept:
                    path.unlink(missing_ok=True)
                if not had_folder and self.originals.folder is not None:
                    with contextlib.suppress(OSError):
                        self.originals.folder.rmdir()

    def _load_dataset(self, cur: duckdb.DuckDBPyConnection, files: Sequence[SourceFile], actor: User,
                      dset: Dataset, dry_run: bool, synthetic: bool, known: list[ex.Known],
                      kept: list[Path]) -> tuple[ImportResult | None, bool]:
        """One attempt at ``_import_dataset``: (the result, or None to try again; whether it committed)."""
        def scan_and_keep(n: int) -> ex.Scan | None:  # beside the load: reads every byte of the file
            src = files[n]

            def keep(sha: str) -> None:
                if not dry_run and self.originals.kept_outside(src) and not (self.originals.folder / sha).is_file():
                    self.originals.keep(src, sha)
                    kept.append(self.originals.folder / sha)
            if known[n].sha is not None:
                keep(known[n].sha)
                return None
            return ex.scan(src, dset, keep)

        result = ImportResult(dry_run)
        pool = ThreadPoolExecutor(max_workers=1)
        scanning = pool.submit(lambda: [scan_and_keep(n) for n in range(len(files))])
        loaded: list[tuple[SourceFile, int, ex.Loaded]] = []
        failed: Exception | None = None
        seen: dict[str, str] = {}
        tmp = tempfile.TemporaryDirectory(prefix="cspdash-")
        # Opened here, not by db.transaction: the files are loaded inside it while the scan reads them, and it is
        # either committed by _commit (begun=True) or rolled back below.
        db.begin(cur)
        try:
            for n, src in enumerate(files):
                if known[n].sha is not None and self._repeated(cur, src, known[n].sha, "dataset", seen, result):
                    continue
                # A dry run's rows are rolled back: they take no id from the sequence (which no rollback restores).
                uid = _DRY_RUN_ID + n if dry_run else cur.execute("SELECT nextval('upload_seq')").fetchone()[0]
                try:
                    path = ex.readable(src, Path(tmp.name), known[n])
                    loaded.append((src, n, ex.load(cur, src, path, dset, self.cat, uid, known[n], f"load_{n}")))
                except (ex.Refused, ValidationError) as e:
                    failed = e
                    break
            scans = scanning.result()
            failed, learned = ex.settle(cur, files, scans, known, [n for _s, n, _l in loaded], failed)
            if failed is not None or learned:
                db.rollback(cur)
                if learned:
                    return None, False
                raise self._problems(cur, files, dset, known, Path(tmp.name), failed)
            prepared = [(src, known[n].sha or scans[n].sha, st) for src, n, st in loaded]  # type: ignore[union-attr]
            new_obs = measured.dataset_obs(cur, self.cat, dset, prepared, result) if prepared else []
            self._check_owners(actor, new_obs, [], measured=True)
            result.changes = self._preview(new_obs)
            result.other_area_figures = sum(1 for o in new_obs if o[2])
            if dry_run:
                db.rollback(cur)
                result.uploads += [{"file_name": src.display_name, "sha256": sha, "upload_id": None, "rows": st.rows,
                                    "duplicate_of": None, "synthetic": synthetic,
                                    **result.facts.get(src.display_name, {})} for src, sha, st in prepared]
                return result, False
            if not prepared:  # every file was identical to an earlier upload
                db.rollback(cur)
                return result, False
            try:
                self._commit(cur, prepared, new_obs, [], actor.label, dset, result, begun=True, synthetic=synthetic)
            except StorageError as e:
                if e.stored:  # DuckDB's own checkpoint at the commit failed: the upload is stored, with its originals
                    kept.clear()
                raise
            self.db.checkpoint(cur)
            return result, True
        except BaseException as e:
            with contextlib.suppress(duckdb.Error):  # rolled back already when _commit raised
                db.rollback(cur)
            if isinstance(e, duckdb.Error) and db.storage_failure(e):
                raise self.db.storage_error(e, stored=False) from None
            raise
        finally:
            pool.shutdown(wait=True)
            tmp.cleanup()

    def _problems(self, cur: duckdb.DuckDBPyConnection, files: Sequence[SourceFile], dset: Dataset,
                  known: list[ex.Known], workdir: Path, failed: Exception) -> ValidationError:
        """After the rollback: every file read again as text cells, for its problems in words (each file's, in
        order); when none is found, what the loader could not read in ``failed``."""
        problems: list[Problem] = []
        more = 0
        for n, src in enumerate(files):
            try:
                try:
                    path = ex.readable(src, workdir, known[n])
                except ex.Refused:
                    path = src.path  # type: ignore[assignment]  # diagnose names the encoding's problem
                checks.diagnose(cur, src, path, dset, self.cat, f"check_{n}")
            except ValidationError as e:
                problems.extend(e.problems)
                more += e.more
        if problems:
            return ValidationError(problems, more)
        if isinstance(failed, ValidationError):
            return failed
        file = failed.file if isinstance(failed, ex.Refused) else files[0].display_name
        reason = failed.reason if isinstance(failed, ex.Refused) else str(failed)
        what = "Parquet" if file.lower().endswith(".parquet") else "CSV"
        return ValidationError([Problem(file, None, None, None, f"the file cannot be read as {what}: {reason}",
                                        f"upload a {ds.FORMATS[dset.format].description} file as downloaded")])

    def _commit(self, cur: duckdb.DuckDBPyConnection, prepared: list, new_obs: list, comments: list, user: str,
                dset: Dataset | None, result: ImportResult, begun: bool = False, synthetic: bool = False) -> None:
        """Store the prepared files in one transaction (already open when ``begun``); the caller checkpoints. A
        record-level dataset's months are police data: those still recent now are stored as provisional."""
        now = db.now()
        # Large originals are copied to their files (written whole, then renamed) while the records are inserted,
        # and the commit waits for them: it only ever refers to a complete file. A failed commit leaves an
        # unreferenced file, which a later identical upload reuses.
        outside = [(src, sha) for src, sha, _ in prepared if self.originals.kept_outside(src)]
        pool = ThreadPoolExecutor(max_workers=1)
        copying = pool.submit(lambda: [self.originals.keep(src, sha) for src, sha in outside])
        on_disk = {sha for _, sha in outside}
        try:
            with self.db.transaction(cur, begun):
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
            loaded = isinstance(payload, ex.Loaded)  # its records are in the dataset's table already
            uid = payload.upload_id if loaded else cur.execute("SELECT nextval('upload_seq')").fetchone()[0]
            ids.append(uid)
            cur.execute("INSERT INTO uploads (upload_id, kind, dataset, file_name, sha256, size_bytes, content, "
                        "user_name, uploaded_at, rows, state, synthetic) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?)",
                        [uid, "dataset" if dset else "return", dset.name if dset else None, src.display_name, sha,
                         src.size, None if sha in on_disk else src.read(), user, now, _rows(payload), synthetic])
            db.event(cur, user, "upload", uid, f"{src.display_name} ({_rows(payload)} rows)", now)
            result.uploads.append({"file_name": src.display_name, "sha256": sha, "upload_id": uid,
                                   "rows": _rows(payload), "duplicate_of": None, "synthetic": synthetic,
                                   **result.facts.get(src.display_name, {})})
        if new_obs:
            recent = measured.recent_months(self.cat, now) if dset is not None else frozenset()
            _bulk_insert(cur, "observations", (
                ["upload_id", "indicator", "period", "grain", "period_start", "area", "value", "numerator",
                 "denominator", "source_row", "provisional"],
                [(ids[k], iid, p.label, p.grain, p.start, area, v, num, den, row, p in recent)
                 for iid, p, area, v, num, den, row, k in new_obs]))
        if comments:
            _bulk_insert(cur, "commentary", (
                ["upload_id", "indicator", "period", "grain", "text", "source_row"],
                [(ids[k], iid, p.label, p.grain, text, row) for iid, p, text, row, k in comments]))

    def _preview(self, new_obs: list) -> list[Change]:
        """Old and new value and RAG of every home-area rated period the new figures touch."""
        affected: dict[str, set[Period]] = defaultdict(set)
        for iid, p, area, *_ in new_obs:
            if not area:
                affected[iid].add(p.at(rated_grain(self.cat.indicator(iid))))
        if not affected:
            return []
        current = self.figures.current_observations(list(affected))
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
        """Withdraw an upload: its figures and commentary stop counting; nothing is deleted (``withdrawals``)."""
        return withdrawals.withdraw(self, upload_id, user, reason)

    def add_commentary(self, indicator: str, period: Period, text: str, user: User | str | None) -> int:
        """Store a chair's commentary typed in the app, as an upload of its own; returns its id."""
        actor = self.accounts.actor(user)
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
        body = text.encode("utf-8")
        with self.db.lock:
            cur = self.db.writer()
            try:
                with self.db.transaction(cur):
                    now = db.now()
                    uid = cur.execute("SELECT nextval('upload_seq')").fetchone()[0]
                    cur.execute("INSERT INTO uploads (upload_id, kind, file_name, sha256, size_bytes, content, "
                                "user_name, uploaded_at, rows, state, note) VALUES "
                                "(?, 'commentary', ?, ?, ?, ?, ?, ?, 1, 'active', ?)",
                                [uid, "(typed in the app)", hashlib.sha256(body).hexdigest(), len(body), body, user, now,
                                 f"commentary on {indicator} {rated.label}"])
                    cur.execute("INSERT INTO commentary VALUES (?, ?, ?, ?, ?, NULL)",
                                [uid, indicator, rated.label, rated.grain, text])
                    db.event(cur, user, "commentary", uid, f"{indicator} {rated.label}", now)
                self.db.checkpoint(cur)
            finally:
                cur.close()
        return uid

    def upload_owners(self, upload_id: int) -> list[str]:
        """The subgroups owning the indicators an upload holds figures or commentary for."""
        ids = self.db.cursor().execute("SELECT indicator FROM observations WHERE upload_id = ? UNION "
                                    "SELECT indicator FROM commentary WHERE upload_id = ?", [upload_id, upload_id]).fetchall()
        return sorted({self.cat.indicator(i).owner for (i,) in ids if self.cat.has_indicator(i)})


IMPORT_LOCK = 0x63737075  # "cspu": the key of PostgreSQL's advisory lock held by an import

#: The upload id a dry run's records are loaded under before it rolls back: above any the sequence gives (and within
#: the table's INTEGER upload_id).
_DRY_RUN_ID = 2_000_000_000


def _rows(payload: object) -> int:
    return payload.rows if isinstance(payload, ex.Loaded) else len(payload)  # type: ignore[arg-type]
