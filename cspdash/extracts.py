"""The one loader of record-level extracts (police.uk street-level crime, the London Datastore MPS tables,
populations): every file, from the command line or spooled from a browser upload, is read once by DuckDB straight
into its dataset's table, inside the import's transaction, and checked there in SQL.

How a file is read is settled once, before DuckDB reads it: the header's cells become the stated columns (so a
malformed line costs DuckDB no more than a good one), quotes as RFC 4180 has them. Meanwhile ``scan`` reads every byte
once on another thread: the SHA-256, whether the text is UTF-8, whether anything (a backslash, a NUL) could make a
whole-file sniff settle on another dialect, and whether a line is too long or too wide; then it keeps the original.
When the scan contradicts what the load assumed, the import rolls back and loads again with what it learned
(``Known``: Windows-1252 transcoded to UTF-8 as it is copied, or the dialect settled on the whole file). When the SQL
checks find a problem the loader raises ``Refused``; the import rolls back and only then reads the file again, as
text cells, for the messages (``extract_checks.diagnose``). The wide MPS tables and populations (small, and reshaped
or compared row with row), and a file whose dialect only the whole file shows, are read as such a relation of text
cells first, checked by the same SQL, and then inserted.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import duckdb

from cspdash import db
from cspdash.config import Catalogue, Dataset
from cspdash.extract_checks import (
    CSV_OPTIONS,
    MAX_DATASET_COLUMNS,
    check_relation,
    has_months,
    map_headers,
    months_outside,
    q,
    read_relation,
    refuse_width,
    row_checks,
)
from cspdash.formats import FORMATS, table_name
from cspdash.formats import NUMERIC_COLUMNS as _NUMERIC
from cspdash.formats import first_line as _first_line
from cspdash.ingest import Collector, SourceFile, ValidationError, looks_utf16
from cspdash.periods import Period, parse_period

#: DuckDB's memory while an import loads its files into a database file. DuckDB's own default is 80% of the
#: machine's memory, and it then held 500-900 MB to load a 1,000,000-row extract (as much as its own ``read_csv``
#: into a table); capped, it writes what it has loaded to the database file, and spills to ``<db>.tmp``, instead.
IMPORT_MEMORY_LIMIT = "384MB"

T = TypeVar("T")


@contextlib.contextmanager
def memory_capped(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB's memory capped at IMPORT_MEMORY_LIMIT while the block runs (an import holds the write lock), then
    back to DuckDB's default (cspdash sets no other): the app's queries between imports are not capped."""
    con.execute("SET memory_limit = ?", [IMPORT_MEMORY_LIMIT])  # read when the block starts (tests lower it)
    try:
        yield
    finally:
        with contextlib.suppress(duckdb.Error):  # a failed disk invalidates the connection: it is opened anew
            con.execute("RESET memory_limit")


def under_memory_cap(con: duckdb.DuckDBPyConnection, work: Callable[[], T], capped: bool = True) -> T:
    """``work()`` under ``memory_capped`` (when ``capped``); work that needs more memory than the cap has rolled back
    its transaction, and is run again without the cap."""
    if capped:
        try:
            with memory_capped(con):
                return work()
        except duckdb.OutOfMemoryException:
            pass
    return work()


@dataclass(frozen=True)
class Loaded:
    """A file loaded into its dataset's table under ``upload_id`` (not yet committed) and checked."""

    upload_id: int
    rows: int
    months: tuple[Period, ...]


@dataclass
class Known:
    """What an earlier attempt at an import learned about one of its files."""

    sha: str | None = None  # its SHA-256 (an identical file is then never read again)
    transcode: bool = False  # its text is not UTF-8: copied from Windows-1252 to UTF-8 before DuckDB reads it
    whole_dialect: bool = False  # the CSV dialect is settled on the whole file, as DuckDB's sniffer sees it


@dataclass(frozen=True)
class Scan:
    """What reading every byte of a file once found."""

    sha: str
    utf8: bool
    plain: bool  # no backslash or NUL: the stated dialect reads the file as the whole-file dialect would
    too_wide: bool  # a line longer than 1 MB or of more than MAX_DATASET_COLUMNS cells (diagnose says which)


class Refused(Exception):
    """The loader's checks found a problem with ``file`` (DuckDB's words, when it could not read it as stated): the
    import rolls back, then reads the file again to name every problem."""

    def __init__(self, file: str, reason: str = "") -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


def scan(src: SourceFile, dataset: Dataset, keep: Callable[[str], None] | None = None) -> Scan:
    """Read the file once: its SHA-256 and what the loader must know of its text; then ``keep(sha)`` (the original
    copied beside the database). For a thread beside the load: hashlib and file reads release the GIL."""
    h = hashlib.sha256()
    if src.path is None or src.suffix == ".parquet":
        h.update(src.read()) if src.path is None else _hash_file(src.path, h)
        sha = h.hexdigest()
        if keep is not None:
            keep(sha)
        return Scan(sha, True, True, False)
    utf8 = codecs.getincrementaldecoder("utf-8")()
    state = {"utf8": True, "plain": True}

    def each(chunk: bytes) -> None:
        h.update(chunk)
        if state["plain"] and (b"\\" in chunk or b"\x00" in chunk):
            state["plain"] = False
        if state["utf8"] and (not chunk.isascii() or utf8.getstate()[0]):  # ASCII is UTF-8; only other text decoded
            try:
                utf8.decode(chunk)
            except UnicodeDecodeError:
                state["utf8"] = False

    try:
        refuse_width(src.path, ".csv", FORMATS[dataset.format], src.display_name, each_chunk=each)
    except ValidationError:
        return Scan("", False, False, True)
    if state["utf8"]:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            state["utf8"] = False
    sha = h.hexdigest()
    if keep is not None:
        keep(sha)
    return Scan(sha, state["utf8"], state["plain"], False)


def _hash_file(path: Path, h: hashlib._Hash) -> None:
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)


def readable(src: SourceFile, workdir: Path, known: Known) -> Path:
    """The file as DuckDB reads it: the original on disk, or (``known.transcode``) a UTF-8 copy of its Windows-1252
    text, written chunk by chunk. Refused when the text is neither, or mixes UTF-8 with Windows-1252."""
    assert src.path is not None
    if not known.transcode:
        return src.path
    out = workdir / f"{hashlib.sha256(str(src.path).encode()).hexdigest()[:16]}-utf8.csv"
    mixed = {"utf8": False, "other": False}
    probe = codecs.getincrementaldecoder("utf-8")("surrogateescape")
    with src.path.open("rb") as f, out.open("w", encoding="utf-8", newline="") as w:
        while chunk := f.read(1 << 22):
            text = probe.decode(chunk)
            # A character beyond ASCII that is UTF-8, beside the bytes that are not: two encodings in one file.
            mixed["utf8"] = mixed["utf8"] or _BEYOND_ASCII.search(text) is not None
            try:
                w.write(chunk.decode("cp1252"))  # one byte, one character: chunks split nowhere wrong
            except UnicodeDecodeError:
                mixed["other"] = True
                break
    if mixed["utf8"] or mixed["other"]:
        raise Refused(src.display_name, "the text is neither UTF-8 nor Windows-1252 alone")
    return out


#: A character beyond ASCII, as UTF-8 decoding with ``surrogateescape`` gives it (the stray bytes are surrogates).
_BEYOND_ASCII = re.compile("[\u0080-\ud7ff\ue000-\U0010ffff]")


def header_cells(path: Path) -> list[str] | None:
    """The cells of a CSV's first line (UTF-8, quoted as RFC 4180 allows); None when it is not a readable header of
    at most MAX_DATASET_COLUMNS distinct names."""
    with path.open("rb") as f:
        head = f.read(65536)
    if b"\n" not in head or looks_utf16(head) or b"\x00" in head:
        return None
    try:
        line = head.split(b"\n", 1)[0].decode("utf-8-sig").rstrip("\r")
        cells = next(csv.reader([line], strict=True), [])
    except (UnicodeDecodeError, csv.Error):
        return None
    if not cells or len(cells) > MAX_DATASET_COLUMNS or len({c.casefold() for c in cells}) < len(cells):
        return None
    return cells


def load(con: duckdb.DuckDBPyConnection, src: SourceFile, path: Path, dataset: Dataset, cat: Catalogue,
         upload_id: int, known: Known, name: str, *, into: str | None = None) -> Loaded:
    """Load ``path`` (the file as DuckDB reads it: ``readable``) into ``ds_<dataset>`` (or the table ``into``) under
    ``upload_id`` inside the caller's open transaction, and check it there. Raises Refused (for ``diagnose``) or, for
    the wide tables and populations, ValidationError naming the problems; the caller rolls back either way."""
    fmt = FORMATS[dataset.format]
    table = into or table_name(dataset.name)
    if fmt.wide or not has_months(fmt) or known.whole_dialect:
        return _load_relation(con, src, path, dataset, cat, upload_id, name, table)
    file = src.display_name
    parquet = src.suffix == ".parquet"
    reader, params = "read_csv(?, " + CSV_OPTIONS + ", escape = '\"', max_line_size = 1048576, columns = ?)", None
    try:
        if parquet:
            headers = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()]
            reader = "read_parquet(?)"
        else:
            headers = header_cells(path)  # type: ignore[assignment]
            if headers is None:
                raise Refused(file, "the header cannot be read")
            params = dict.fromkeys(headers, "VARCHAR")
    except duckdb.Error as e:
        raise _refused(file, e) from None
    probs = Collector()
    mapping, _ = map_headers(headers, fmt, file, probs)
    if probs or len(headers) > MAX_DATASET_COLUMNS:
        raise Refused(file, "the header does not name the format's columns")
    # Text cells as stored: trimmed, and NULL when empty; only a cell that needs it is trimmed (trimming every cell
    # cost a fifth of the load; trimming afterwards read every cell a second time). Numbers are cast strictly: a
    # cell that is not one fails the insert, and diagnose names it.
    sel = ", ".join(f"CAST(nullif(trim(CAST({q(mapping[c])} AS VARCHAR)), '') AS DOUBLE)" if c in _NUMERIC
                    else _trimmed(f"CAST({q(mapping[c])} AS VARCHAR)" if parquet else q(mapping[c]))
                    for c in fmt.columns)
    try:
        con.execute(f"INSERT INTO {table} (upload_id, source_row, {', '.join(fmt.columns)}) "
                    f"SELECT ?, NULL, {sel} FROM {reader}",
                    [upload_id, str(path)] + ([params] if params is not None else []))
    except duckdb.Error as e:
        raise _refused(file, e) from None
    # The row checks on the stored cells, in one pass over the few columns they read, grouped by month: the checks
    # of other cells count per row, the month's own once per month (a regular expression over a million cells).
    checks = row_checks(fmt, numbers=False)
    per_row = [cond for c, cond, _m, _f in checks if c != "month"]
    per_month = [cond for c, cond, _m, _f in checks if c == "month"]
    total, *bad, months = con.execute(
        "SELECT sum(n)" + "".join(f", sum(b{k})" for k in range(len(per_row)))
        + "".join(f", sum(n) FILTER (WHERE {c})" for c in per_month) + ", list(month) FROM ("
        + "SELECT month, count(*) AS n" + "".join(f", count(*) FILTER (WHERE {c}) AS b{k}" for k, c in enumerate(per_row))
        + f" FROM {table} WHERE upload_id = ? GROUP BY month)", [upload_id]).fetchone()
    if not total or any(bad):
        raise Refused(file, "a row has a problem")
    found = sorted(parse_period(m, grain="month") for m in months)
    if months_outside(cat, found):
        raise Refused(file, "a month is outside the catalogue's range")
    return Loaded(upload_id, total, tuple(found))


def _trimmed(cell: str) -> str:
    """A text cell as stored: without spaces at either end, NULL when empty (trimmed only when it needs it)."""
    return f"CASE WHEN {cell} = '' OR {cell} LIKE ' %' OR {cell} LIKE '% ' THEN nullif(trim({cell}), '') ELSE {cell} END"


def _refused(file: str, e: duckdb.Error) -> Exception:
    """DuckDB's refusal to read a file as stated; a failure of the disk, or DuckDB out of memory (under the import's
    cap: ``Uploads`` tries again without it), is raised as itself."""
    return e if db.storage_failure(e) or isinstance(e, duckdb.OutOfMemoryException) else Refused(file, _first_line(e))


def _load_relation(con: duckdb.DuckDBPyConnection, src: SourceFile, path: Path, dataset: Dataset, cat: Catalogue,
                   upload_id: int, name: str, table: str) -> Loaded:
    """A wide MPS table, a population, or a file whose dialect only the whole file shows (a backslash escape far
    beyond DuckDB's sample): read as a relation of text cells with the dialect settled on the whole file, checked,
    then inserted with each record's row."""
    fmt, raw = FORMATS[dataset.format], f"raw_{name}"
    try:
        read_relation(con, path, src.suffix, fmt, src.display_name, raw)
        checked = check_relation(con, raw, dataset, cat, src.display_name)
        try:
            cols = ", ".join(fmt.table_columns)
            con.execute(f"INSERT INTO {table} (upload_id, source_row, {cols}) "
                        f"SELECT ?, * FROM ({checked.select})", [upload_id])
            rows = con.execute(f"SELECT count(*) FROM {table} WHERE upload_id = ?",
                               [upload_id]).fetchone()[0]
        finally:
            with contextlib.suppress(duckdb.Error):  # after a failed insert the caller's rollback drops them
                for stmt in checked.drops:
                    con.execute(stmt)
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute(f"DROP TABLE IF EXISTS {raw}")
    return Loaded(upload_id, rows, checked.months)


def settle(cur: db.Cursor, files: Sequence[SourceFile], scans: list[Scan | None], known: list[Known],
           loaded: Sequence[int], failed: Exception | None) -> tuple[Exception | None, bool]:
    """After an attempt's load (``loaded``: the indexes of the files it loaded; ``failed``: what stopped it) and the
    scan beside it (``scans``, None for a file already known): (what fails the import, whether the attempt learned
    something and must be tried again). A file too wide to read fails it; what the scans found that the load
    assumed otherwise, or a file identical to another or to an active upload (the SHA-256s then noted in
    ``known``), is learned."""
    if failed is not None:
        return failed, _learn(scans, known)
    shas = [s.sha if s is not None else known[n].sha for n, s in enumerate(scans)]
    wide = [s is not None and s.too_wide for s in scans]
    if any(wide):
        return Refused(files[wide.index(True)].display_name), False
    if _learn(scans, known) or _repeats(cur, [shas[n] for n in loaded]):
        for n, sha in enumerate(shas):
            known[n].sha = sha
        return None, True
    return None, False


def _learn(scans: list[Scan | None], known: list[Known]) -> bool:
    """Note in ``known`` what the scans found that the load assumed otherwise; whether anything was new."""
    learned = False
    for k, found in zip(known, scans, strict=True):
        if found is None or found.too_wide:
            continue
        if not found.utf8 and not k.transcode:
            k.transcode = learned = True
        if not found.plain and not k.whole_dialect:
            k.whole_dialect = learned = True
    return learned


def _repeats(cur: db.Cursor, shas: list[str | None]) -> bool:
    """Whether two of the files are identical, or one is identical to an active upload of a dataset."""
    return len(set(shas)) < len(shas) or bool(cur.execute(
        "SELECT count(*) FROM uploads WHERE sha256 = ANY(?) AND state = 'active' AND kind = 'dataset'",
        [shas]).fetchone()[0])
