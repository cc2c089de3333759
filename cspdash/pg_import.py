"""The import of record-level files into a PostgreSQL store, in the commit order of docs/scaling.md#commit-order:

1. read and check the files and compute the measures on a compute connection (``cspdash.extract_store``: an
   in-memory DuckDB); nothing is written;
2. take each upload's id from PostgreSQL's ``upload_seq`` (an id taken and not used is only a gap);
3. write each original (``originals/<sha256>``) and each Parquet file (``<dataset>/<upload_id>.parquet``) under
   ``CSPDASH_EXTRACTS``, whole, then renamed into place;
4. one PostgreSQL transaction: the ``uploads`` rows, their figures and ``upload`` events.

A refused file stops at step 1: nothing is stored and no file is left. A failure in step 3 removes the files this
import wrote; a failure or crash after that leaves only files no row refers to. One import or withdrawal per dataset
at a time, across every process (``ExtractStore.locked``): the measures are computed over the uploads that count.
The files are read, checked and measured by the same code as on DuckDB (``extracts``, ``extract_checks``,
``measured``, ``datasets``); the messages of a refused file are the same.
"""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb

from cspdash import db, measured
from cspdash import extract_checks as checks
from cspdash import extracts as ex
from cspdash.auth import User
from cspdash.config import Dataset
from cspdash.errors import CspdashError
from cspdash.extract_store import ENV, ExtractStore
from cspdash.formats import first_line as _first_line
from cspdash.ingest import SourceFile, ValidationError
from cspdash.originals import INLINE_ORIGINAL_BYTES
from cspdash.uploads import _DRY_RUN_ID, ImportResult, Uploads


def import_dataset(up: Uploads, cur: Any, files: Sequence[SourceFile], actor: User, dset: Dataset, dry_run: bool,
                   synthetic: bool) -> ImportResult:
    """Import record-level files into a PostgreSQL store (``cur``: a writer of ``up.db``), or refuse them all."""
    store = ExtractStore.from_env()
    checks.check_files(files)  # refused by name and size before a byte is read, as on DuckDB
    known = [ex.Known() for _ in files]
    with store.locked(cur, dset.name):
        while True:  # each attempt that fails to finish has learned something new of a file: a few at most
            con = store.compute(cur, dset)
            try:
                result = _attempt(up, cur, con, store, files, actor, dset, dry_run, synthetic, known)
            except duckdb.Error as e:
                if db.storage_failure(e):
                    raise db.storage_error(e, store.root, stored=False) from None
                raise CspdashError(f"the record-level files could not be read with the extracts in {store.root}: "
                                   f"{_first_line(e)}; nothing was stored") from None
            finally:
                con.close()
            if result is not None:
                return result


def _attempt(up: Uploads, cur: Any, con: duckdb.DuckDBPyConnection, store: ExtractStore, files: Sequence[SourceFile],
             actor: User, dset: Dataset, dry_run: bool, synthetic: bool, known: list[ex.Known]) -> ImportResult | None:
    """One attempt: the result, or None to try again with what ``known`` learned."""
    result = ImportResult(dry_run)
    pool = ThreadPoolExecutor(max_workers=1)  # the scan reads every byte beside the load (no original kept yet)
    scanning = pool.submit(lambda: [None if k.sha is not None else ex.scan(src, dset) for src, k in zip(files, known,
                                                                                                          strict=True)])
    loaded: list[tuple[SourceFile, int, ex.Loaded]] = []
    failed: Exception | None = None
    seen: dict[str, str] = {}
    tmp = tempfile.TemporaryDirectory(prefix="cspdash-")
    try:
        for n, src in enumerate(files):
            if known[n].sha is not None and up._repeated(con, src, known[n].sha, "dataset", seen, result):
                continue
            try:  # loaded under an id above every stored one (the newest, as a pending upload is); stored under its own
                path = ex.readable(src, Path(tmp.name), known[n])
                loaded.append((src, n, ex.load(con, src, path, dset, up.cat, _DRY_RUN_ID + n, known[n], f"load_{n}",
                                               into=f"pending_{dset.name}")))
            except (ex.Refused, ValidationError) as e:
                failed = e
                break
        scans = scanning.result()
        failed, learned = ex.settle(con, files, scans, known, [n for _s, n, _l in loaded], failed)
        if learned:
            return None
        if failed is not None:
            raise up._problems(con, files, dset, known, Path(tmp.name), failed)
        prepared = [(src, known[n].sha or scans[n].sha, st) for src, n, st in loaded]  # type: ignore[union-attr]
        new_obs = measured.dataset_obs(con, up.cat, dset, prepared, result) if prepared else []
        up._check_owners(actor, new_obs, [], measured=True)
        result.changes = up._preview(new_obs)
        result.other_area_figures = sum(1 for o in new_obs if o[2])
        if dry_run:
            result.uploads += [{"file_name": src.display_name, "sha256": sha, "upload_id": None, "rows": st.rows,
                                "duplicate_of": None, "synthetic": synthetic,
                                **result.facts.get(src.display_name, {})} for src, sha, st in prepared]
            return result
        if prepared:
            _store(up, cur, con, store, prepared, new_obs, actor, dset, result, synthetic)
        return result
    finally:
        pool.shutdown(wait=True)
        tmp.cleanup()


def _store(up: Uploads, cur: Any, con: duckdb.DuckDBPyConnection, store: ExtractStore, prepared: list,
           new_obs: list, actor: User, dset: Dataset, result: ImportResult, synthetic: bool) -> None:
    """Steps 2 to 4: the ids, the files, then the one transaction."""
    ids = [cur.execute("SELECT nextval('upload_seq')").fetchone()[0] for _ in prepared]
    written: list[Path] = []
    try:
        for (src, sha, st), uid in zip(prepared, ids, strict=True):
            original = store.originals.folder / sha
            if not original.is_file():
                store.originals.keep(src, sha)
                written.append(original)
            written.append(store.write(con, dset, st.upload_id, uid))
    except BaseException as e:
        for path in written:  # no row refers to them, and no id is taken twice: gone, as if never written
            with contextlib.suppress(OSError):
                path.unlink()
        if isinstance(e, OSError):
            raise CspdashError(f"cannot write to {store.root} ({ENV}): {e.strerror or e}; nothing was stored. Fix: "
                               "check the free space and permissions of that folder") from None
        raise
    stored = [(src, sha, dataclasses.replace(st, upload_id=uid)) for (src, sha, st), uid in zip(prepared, ids,
                                                                                                strict=True)]
    big = {sha for src, sha, _st in prepared if src.size > INLINE_ORIGINAL_BYTES}  # small ones also in the row
    with up.db.transaction(cur):
        up._insert_uploads(cur, stored, new_obs, [], actor.label, dset, result, db.now(), big, synthetic)

