"""Record-level extracts of a PostgreSQL store: immutable Parquet files under ``CSPDASH_EXTRACTS``, and the in-memory
DuckDB (the *compute connection*) that reads them for the measures (docs/scaling.md#record-level-extracts).

Layout (a contract): ``$CSPDASH_EXTRACTS/<dataset>/<upload_id>.parquet``, one file per upload, written once by
DuckDB under a temporary name, fsynced and renamed into place, never rewritten; the original files beside them,
content-addressed, as ``$CSPDASH_EXTRACTS/originals/<sha256>``. An upload's state (active or withdrawn) is its row
in PostgreSQL's ``uploads``; nothing here is ever deleted by the store.

On the compute connection ``ds_<dataset>`` is a view over the Parquet files of the dataset's uploads and a table of
the rows an import has loaded and not yet stored (``pending_<dataset>``), and ``uploads`` holds PostgreSQL's rows of
the dataset uploads; so the SQL of ``cspdash.datasets`` and ``cspdash.measured`` runs on it unchanged. A file loaded
in order keeps its row order in the Parquet file's ``rid`` column, which the view gives as ``rowid`` (the table's
own row id on DuckDB).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from cspdash import measured
from cspdash.config import Dataset
from cspdash.errors import CspdashError
from cspdash.formats import FORMATS, create_table_sql, table_name
from cspdash.formats import first_line as _first_line
from cspdash.originals import Originals, fsync_dir

ENV = "CSPDASH_EXTRACTS"
ORIGINALS_DIR = "originals"
#: The first key of the PostgreSQL advisory lock held while a dataset's extracts are imported or withdrawn (the
#: second is the dataset's name hashed): one writer per dataset across every process, as DuckDB's file lock was.
EXTRACT_LOCK = 0x63737065  # "cspe"
#: The columns of PostgreSQL's ``uploads`` the dataset SQL reads, copied to the compute connection.
UPLOAD_COLUMNS = (("upload_id", "INTEGER"), ("kind", "VARCHAR"), ("dataset", "VARCHAR"), ("sha256", "VARCHAR"),
                  ("state", "VARCHAR"), ("uploaded_at", "TIMESTAMP"))


class ExtractStore:
    """The extracts folder of a PostgreSQL store."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.originals = Originals(None, root / ORIGINALS_DIR)  # as Originals.shared() finds them

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, outcome: str = "nothing was stored") -> ExtractStore:
        """The folder named by ``CSPDASH_EXTRACTS``; refused in words (ending with ``outcome``) when it is unset or
        not a folder."""
        value = (os.environ if env is None else env).get(ENV, "").strip()
        if not value:
            raise CspdashError(f"a PostgreSQL store keeps record-level extracts as Parquet files in the folder named "
                               f"by {ENV}, which is not set; {outcome}. Fix: set {ENV} to a folder every app "
                               "replica and command can read and write (shared storage), then try again")
        root = Path(value).expanduser().resolve()
        if root.exists() and not root.is_dir():
            raise CspdashError(f"{ENV}={value} is not a folder; {outcome}. Fix: set {ENV} to a folder")
        return cls(root)

    def path(self, dataset: str, upload_id: int) -> Path:
        """The Parquet file of an upload's records."""
        table_name(dataset)  # a validated identifier: it names a folder
        return self.root / dataset / f"{int(upload_id)}.parquet"

    def write(self, con: duckdb.DuckDBPyConnection, dset: Dataset, pending: int, upload_id: int) -> Path:
        """Write the rows loaded under ``pending`` in ``pending_<dataset>`` as the upload's Parquet file (under a
        temporary name, fsynced, renamed into place); refused when the file exists (it is never rewritten)."""
        target = self.path(dset.name, upload_id)
        if target.exists():
            raise CspdashError(f"the extract {target} exists already, and is never rewritten; nothing was stored. "
                               "Fix: see whether another cspdash store uses the same folder")
        tmp = target.parent / f".{upload_id}.{os.getpid()}.{threading.get_ident()}.part"
        cols = ", ".join(FORMATS[dset.format].table_columns)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            con.execute(f"COPY (SELECT CAST(? AS INTEGER) AS upload_id, source_row, {cols}, rowid AS rid "
                        f"FROM pending_{dset.name} WHERE upload_id = ? ORDER BY rowid) "
                        f"TO {_literal(tmp)} (FORMAT parquet)", [upload_id, pending])
            with tmp.open("rb+") as f:
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except (OSError, duckdb.Error) as e:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise CspdashError(f"cannot write the extract {target}: {_first_line(e)}; nothing was stored. Fix: check "
                               f"the free space and permissions of {self.root} ({ENV})") from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(target.parent)
        return target

    def compute(self, cur: Any, dset: Dataset, also: Sequence[int] = ()) -> duckdb.DuckDBPyConnection:
        """A new in-memory DuckDB for ``dset``: ``uploads`` (the dataset uploads of PostgreSQL's ``uploads``, read
        through ``cur``), ``pending_<dataset>`` (empty) and the view ``ds_<dataset>`` over it and the Parquet files of
        the dataset's active uploads and of ``also``. A file missing for one of them is refused (fail closed)."""
        names = ", ".join(n for n, _t in UPLOAD_COLUMNS)
        rows = cur.execute(f"SELECT {names} FROM uploads WHERE kind = 'dataset' ORDER BY upload_id").fetchall()
        con = duckdb.connect(":memory:")
        try:
            con.execute(f"CREATE TABLE uploads ({', '.join(f'{n} {t}' for n, t in UPLOAD_COLUMNS)})")
            measured.insert_rows(con, "uploads", ([n for n, _t in UPLOAD_COLUMNS], [tuple(r) for r in rows]))
            pending = f"pending_{dset.name}"
            con.execute(create_table_sql(dset, name=pending))
            cols = ", ".join(("upload_id", "source_row", *FORMATS[dset.format].table_columns))
            counted = [r for r in rows if r[2] == dset.name and (r[4] == "active" or r[0] in also)]
            files = [self._existing(dset, r[0]) for r in counted]
            view = f"SELECT {cols}, rowid FROM {pending}"
            if files:
                view = (f"SELECT {cols}, rid AS rowid FROM read_parquet([{', '.join(map(_literal, files))}]) "
                        f"UNION ALL {view}")
            con.execute(f"CREATE VIEW {table_name(dset.name)} AS {view}")
        except BaseException:
            con.close()
            raise
        return con

    def _existing(self, dset: Dataset, upload_id: int) -> Path:
        path = self.path(dset.name, upload_id)
        if not path.is_file():
            raise CspdashError(f"the extract of upload {upload_id} ({dset.name}) is missing: it was written as {path}; "
                               "nothing was changed. Fix: copy that file back from the storage's backups, or "
                               f"check that {ENV} names the folder every replica shares")
        return path

    @contextlib.contextmanager
    def locked(self, cur: Any, dataset: str) -> Iterator[None]:
        """Hold the dataset's advisory lock on ``cur``'s connection (a PostgreSQL writer) while the body runs."""
        cur.execute("SELECT pg_advisory_lock(?, hashtext(?))", [EXTRACT_LOCK, dataset])
        try:
            yield
        finally:  # a connection that failed releases its locks as it closes: the body's error is the one raised
            with contextlib.suppress(Exception):
                cur.execute("SELECT pg_advisory_unlock(?, hashtext(?))", [EXTRACT_LOCK, dataset])


def lock_in_transaction(cur: Any, dataset: str) -> None:
    """Take the dataset's advisory lock until the end of ``cur``'s open transaction (a withdrawal)."""
    cur.execute("SELECT pg_advisory_xact_lock(?, hashtext(?))", [EXTRACT_LOCK, dataset])



def _literal(path: Path) -> str:
    """A path as a SQL string literal: DuckDB's COPY and a view take no parameters for files (the path is the
    configured folder, a validated dataset name and an integer)."""
    return "'" + str(path).replace("'", "''") + "'"
