"""Record-level extracts (police.uk street-level crime, London Datastore MPS tables) and the measures computed from them.

Files are read by DuckDB with every column as text, validated by SQL, and staged in a temporary table; measures
declared in the catalogue run over the staged rows and give monthly figures. Columns are addressed by their
header in snake_case (``Crime type`` -> ``crime_type``, ``MajorText`` -> ``major_text``).
"""

from __future__ import annotations

import codecs
import csv
import re
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import duckdb
import numpy as np

from cspdash.config import Catalogue, Dataset
from cspdash.errors import PeriodError
from cspdash.formats import FORMATS, Format, create_table_sql, measure_sql, table_name
from cspdash.formats import NUMERIC_COLUMNS as _NUMERIC
from cspdash.formats import first_line as _first_line
from cspdash.ingest import (
    MAX_DATASET_BYTES,
    Collector,
    Problem,
    SourceFile,
    ValidationError,
    check_extension,
    check_size,
    looks_utf16,
    refuse_mixed_encodings,
    refuse_utf16,
)
from cspdash.periods import Period, parse_period

DATASET_EXTENSIONS = (".csv", ".parquet")
MAX_DATASET_COLUMNS = 1000  # police.uk has 12; the MPS tables 3 + one per month. DuckDB needs ~25 MB a column to read


_REQUIRED_TEXT = {"police_uk_street": ("month", "crime_type"), "mps_borough": ("major_text", "minor_text", "borough_name"),
                  "mps_ward": ("major_text", "minor_text", "ward_code"),
                  "population": ("code", "area", "age_group", "year")}


def has_months(fmt: Format) -> bool:
    """Whether a format's records fall in months (every format but ``population``)."""
    return fmt.wide or "month" in fmt.columns


def snake(header: str) -> str:
    """``Crime type`` -> ``crime_type``; ``MajorText`` -> ``major_text``; ``LSOA code`` -> ``lsoa_code``."""
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", header.strip())
    return re.sub(r"[^0-9a-zA-Z]+", "_", s).strip("_").lower()


def _squash(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


# ------------------------------------------------------------------------------------------------
# Measures: compile check and evaluation
# ------------------------------------------------------------------------------------------------

def compute_measures(con: duckdb.DuckDBPyConnection, cat: Catalogue, dataset: Dataset, source: str,
                     file: str) -> list[tuple[str, Period, str, float]]:
    """(indicator, month, area, value) for every measure over ``dataset``, whose rows are the query ``source``
    (``effective_sql``: the union of the dataset's uploads)."""
    out: list[tuple[str, Period, str, float]] = []
    con.execute(f"CREATE OR REPLACE TEMP VIEW {dataset.name} AS {source}")
    try:
        for ind in cat.indicators:
            if ind.measure is None or ind.measure.dataset != dataset.name:
                continue
            try:
                rel = con.execute(measure_sql(ind, dataset.name))
                cols = [d[0] for d in rel.description]
                rows = rel.fetchall()
            except duckdb.Error as e:
                raise ValidationError([Problem(file, None, None, None,
                                               f"the measure of {ind.id} failed on this file: {_first_line(e)}",
                                               "ask the CSP analyst to check the measure in indicators.yaml")]) from None
            ip, iv, ia = cols.index("period"), cols.index("value"), cols.index("area") if "area" in cols else None
            for r in rows:
                if r[iv] is None:
                    continue
                try:
                    p = parse_period(str(r[ip]), grain="month") if r[ip] is not None else None
                except PeriodError:
                    p = None
                if p is None:
                    raise ValidationError([Problem(file, None, "period", str(r[ip]),
                                                   f"the measure of {ind.id} returned a period that cannot be read",
                                                   "ask the CSP analyst to check the measure's query")])
                area = "" if ia is None or r[ia] is None else str(r[ia])
                out.append((ind.id, p, area, float(r[iv])))
    finally:
        con.execute(f"DROP VIEW IF EXISTS {dataset.name}")
    return out


# ------------------------------------------------------------------------------------------------
# The dataset as the union of its uploads
# ------------------------------------------------------------------------------------------------

#: Pending files (staged, not yet given an upload id) rank after every stored upload, in the order given.
_PENDING_ID = 1 << 40


def _month_list(months: Sequence[Period]) -> str:
    """``'2015-01', '2015-02'``: months as SQL literals (labels are checked to be YYYY-MM; never user text)."""
    labels = sorted({m.label for m in months})
    for label in labels:
        if not re.fullmatch(r"\d{4}-\d{2}", label):
            raise ValueError(f"not a month label: {label!r}")
    return ", ".join(f"'{label}'" for label in labels) or "NULL"


def _pool_sql(dataset: Dataset, months: Sequence[Period], pending: Sequence[Staged]) -> str:
    """Every record of ``months`` in the dataset's active uploads and the ``pending`` files, with ``upload_id`` (pending
    files rank after every stored upload, in order), ``rid`` (unique within an upload: the row in the file, or for a
    file read once the table's rowid) and ``slice_force``."""
    fmt = FORMATS[dataset.format]
    cols = ", ".join(fmt.table_columns)
    stored = [int(p.stored_as) for p in pending if p.stored_as is not None]
    parts = [f"SELECT CAST(upload_id AS BIGINT) AS upload_id, coalesce(source_row, rowid) AS rid, source_row, {cols} "
             f"FROM {table_name(dataset.name)} WHERE month IN ({_month_list(months)}) AND (upload_id IN (SELECT "
             f"upload_id FROM uploads WHERE state = 'active' AND kind = 'dataset' AND dataset = '{dataset.name}')"
             + (f" OR upload_id IN ({', '.join(map(str, stored))})" if stored else "") + ")"]
    for k, p in enumerate(pending):
        if p.stored_as is None:
            parts.append(f"SELECT CAST({_PENDING_ID + k} AS BIGINT), source_row, source_row, {cols} FROM {p.table}")
    force = f"coalesce({fmt.force}, '')" if fmt.force else "''"
    return f"SELECT *, {force} AS slice_force FROM ({' UNION ALL '.join(parts)})"


def _newest_slices_sql(pool: str, superseded: bool = True) -> str:
    """The records of ``pool`` in the newest upload holding their (force, month) slice (all of them when no slice is
    held by two uploads: ``superseded`` False)."""
    if not superseded:
        return pool
    return (f"SELECT pool.* FROM ({pool}) AS pool JOIN (SELECT slice_force, month, max(upload_id) AS upload_id "
            f"FROM ({pool}) GROUP BY ALL) AS newest USING (slice_force, month, upload_id)")


def has_superseded_slices(con: duckdb.DuckDBPyConnection, dataset: Dataset, months: Sequence[Period],
                          pending: Sequence[Staged] = ()) -> bool:
    """Whether any (force, month) slice of ``months`` is held by more than one upload (a few narrow columns read:
    when none is, the newest-slice join can be skipped)."""
    return bool(con.execute(f"SELECT EXISTS (SELECT 1 FROM ({_pool_sql(dataset, months, pending)}) "
                            "GROUP BY slice_force, month HAVING count(DISTINCT upload_id) > 1)").fetchone()[0])


def repeated_records_sql(dataset: Dataset, months: Sequence[Period], pending: Sequence[Staged] = (),
                         superseded: bool = True) -> str | None:
    """The (upload_id, rid) of every record that repeats an earlier-counted record id (kept: the newest upload's, first
    in its file); None for a format without record ids. Few rows: worked out once, then left out by a join. The
    ids held more than once are found by a hash aggregate first, so only their rows are sorted."""
    fmt = FORMATS[dataset.format]
    if fmt.record_id is None:
        return None
    rid, counted = fmt.record_id, _newest_slices_sql(_pool_sql(dataset, months, pending), superseded)
    return (f"SELECT upload_id, rid FROM ({counted}) WHERE {rid} IN (SELECT {rid} FROM ({counted}) "
            f"WHERE {rid} IS NOT NULL GROUP BY 1 HAVING count(*) > 1) "
            f"QUALIFY row_number() OVER (PARTITION BY {rid} ORDER BY upload_id DESC, rid) > 1")


def effective_sql(dataset: Dataset, months: Sequence[Period], pending: Sequence[Staged] = (),
                  repeated: str | None = None, superseded: bool = True) -> str:
    """The query of a dataset's records in ``months`` as they count now: the rows of its active uploads plus the
    ``pending`` files of an import (newest last); each (force, month) slice from the newest upload holding it, and
    each record id once (from the newest upload). Columns: upload_id, source_row and the format's columns.

    ``repeated`` names a table holding ``repeated_records_sql``'s rows (worked out once by the caller); without it
    they are worked out inside the query. ``superseded`` False (from ``has_superseded_slices``) skips the newest-slice
    join. Only validated identifiers, integers and month labels are written into the text (a view takes no
    parameters).
    """
    cols = ", ".join(FORMATS[dataset.format].table_columns)
    drop = repeated or repeated_records_sql(dataset, months, pending, superseded)
    counted = _newest_slices_sql(_pool_sql(dataset, months, pending), superseded)
    if drop is not None:
        counted = f"SELECT * FROM ({counted}) AS c ANTI JOIN ({drop if repeated is None else f'SELECT * FROM {drop}'}) " \
                  f"AS r USING (upload_id, rid)"
    return f"SELECT upload_id, source_row, {cols} FROM ({counted})"


def months_with_force(con: duckdb.DuckDBPyConnection, dataset: Dataset, months: Sequence[Period],
                      pending: Sequence[Staged], force: str) -> set[str] | None:
    """The ``months`` for which an active upload or a ``pending`` file holds records reported by ``force`` (ignoring
    case); None when the format does not say which force reported a record (every month counts)."""
    if FORMATS[dataset.format].force is None:
        return None
    rows = con.execute(f"SELECT DISTINCT month FROM ({_pool_sql(dataset, months, pending)}) "
                       "WHERE lower(trim(slice_force)) = lower(trim(?))", [force]).fetchall()
    return {r[0] for r in rows}


@dataclass(frozen=True)
class FileFacts:
    """What a record-level file holds: rows, how many fall in the partnership's area, the forces reporting them."""

    rows: int
    rows_in_area: int
    forces: tuple[str, ...]


def file_facts(con: duckdb.DuckDBPyConnection, cat: Catalogue, dataset: Dataset, staged: Staged) -> FileFacts:
    """The rows of a staged file, those in the partnership's own area (by the format's area), and its forces."""
    fmt = FORMATS[dataset.format]
    force = fmt.force or "CAST(NULL AS VARCHAR)"
    area = f"lower(regexp_replace(trim(CAST(({fmt.area}) AS VARCHAR)), '\\s+', ' ', 'g'))"
    # Counted per distinct area column and force first (a few thousand LSOAs in a million records), then the area
    # expression runs on those values only.
    keys = ", ".join((*fmt.area_columns, f"{force} AS force"))
    rows, inside, names = con.execute(
        f"SELECT coalesce(sum(n), 0), coalesce(sum(n) FILTER (WHERE {area} IN (lower(?), lower(?))), 0), "
        f"list(DISTINCT force) FILTER (WHERE force IS NOT NULL) FROM (SELECT {keys}, count(*) AS n "
        f"FROM {staged.table} GROUP BY ALL)",
        [" ".join(cat.area.split()), " ".join(cat.name.split())]).fetchone()
    return FileFacts(int(rows), int(inside), tuple(sorted(names or ())))


# ------------------------------------------------------------------------------------------------
# Staging a file
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Staged:
    """A validated file: ``table`` (a temporary table or view) holds its rows in the dataset's columns."""

    table: str
    rows: int
    months: tuple[Period, ...]
    drops: tuple[str, ...] = ()  # what unstage() drops, in order: the view(s), then the tables beneath
    stored_as: int | None = None  # loaded straight into ds_<dataset> under this upload id (load_direct), uncommitted


def unstage(con: duckdb.DuckDBPyConnection, staged: Staged) -> None:
    """Drop the temporary tables and views a staged file is held in."""
    for stmt in staged.drops or (f"DROP TABLE IF EXISTS {staged.table}",):
        con.execute(stmt)


def _csv_path(src: SourceFile, workdir: Path) -> Path:
    """A UTF-8 file DuckDB can read: the original when it already is, else a transcoded copy."""
    path = src.path
    if path is None:
        path = workdir / "upload.csv"
        path.write_bytes(src.data or b"")
    with path.open("rb") as f:
        head = f.read(65536)
    refuse_utf16(head, src.display_name)
    if b"\x00" in head:
        raise ValidationError([Problem(src.display_name, None, None, None,
                                       "this is not a text file (it contains binary bytes)",
                                       "upload the CSV exactly as downloaded")])
    if _is_utf8(path):
        return path
    out = workdir / "upload-utf8.csv"
    data = path.read_bytes()
    refuse_mixed_encodings(data, src.display_name)
    try:
        out.write_text(data.decode("cp1252"), encoding="utf-8")
    except UnicodeDecodeError:
        raise ValidationError([Problem(src.display_name, None, None, None, "the text is neither UTF-8 nor Windows-1252",
                                       "download the file again, or save it as CSV UTF-8")]) from None
    return out


def _check_width(con: duckdb.DuckDBPyConnection, path: Path, suffix: str, fmt: Format, file: str,
                 each_chunk: Callable[[bytes], None] | None = None) -> None:
    """Refuse a file with a row of more than MAX_DATASET_COLUMNS cells before DuckDB reads it: DuckDB gives every
    row the columns of the widest one, so one row of 100,000 commas in a 100 kB file takes it a minute and gigabytes
    of memory. Counted from the Parquet schema, or the commas of each CSV line (quoted commas too: a bound)."""
    def refuse(row: int, what: str) -> NoReturn:
        raise ValidationError([Problem(file, row, None, None, what, f"upload a {fmt.description} file as downloaded")])

    limit = MAX_DATASET_COLUMNS
    if suffix == ".parquet":
        try:
            width = len(con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall())
        except duckdb.Error as e:
            refuse(1, f"the file cannot be read as Parquet: {_first_line(e)}")
        if width > limit:
            refuse(1, f"the file has {width:,} columns, more than the {limit:,} a record-level file may have")
        return
    line_no, carry = 0, b""
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            if each_chunk is not None:
                each_chunk(chunk)
            data = carry + chunk
            # Where the lines end, found by numpy: splitting a 250 MB extract into Python lines took a third of
            # a second. Only a line of at least `limit` bytes can hold `limit` commas, so only those are counted.
            ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
            carry = data[ends[-1] + 1:] if len(ends) else data
            if len(carry) > 1 << 20:
                refuse(line_no + len(ends) + 1, "the line is longer than 1 MB")
            starts = np.concatenate(([0], ends[:-1] + 1))
            long = np.flatnonzero(ends - starts > 1 << 20)  # DuckDB refuses them too, but as "CSV Error on Line: 1"
            if len(long):
                refuse(line_no + int(long[0]) + 1, "the line is longer than 1 MB")
            for k in np.flatnonzero(ends - starts >= limit):
                if data.count(b",", int(starts[k]), int(ends[k])) >= limit:
                    refuse(line_no + int(k) + 1,
                           f"the line has more than {limit:,} cells; a record-level file has at most {limit:,} columns")
            line_no += len(ends)
    if carry.count(b",") >= limit:
        refuse(line_no + 1, f"the line has more than {limit:,} cells; a record-level file has at most {limit:,} columns")


def _is_utf8(path: Path) -> bool:
    dec = codecs.getincrementaldecoder("utf-8")()
    buf = bytearray(1 << 22)
    view = memoryview(buf)
    try:
        with path.open("rb") as f:
            while n := f.readinto(buf):
                chunk = view[:n]
                # Pure ASCII (most extracts, all of police.uk) is valid UTF-8: isascii() scans ~50x faster than
                # decoding. Only when no multi-byte character is left open from the chunk before.
                if not (buf.isascii() if n == len(buf) else chunk.tobytes().isascii()) or dec.getstate()[0]:
                    dec.decode(chunk)
            dec.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def stage(con: duckdb.DuckDBPyConnection, src: SourceFile, dataset: Dataset, cat: Catalogue, name: str,
          limit: int = MAX_DATASET_BYTES) -> Staged:
    """Read, validate and stage one record-level file in the temp table ``name``; raise ValidationError if bad."""
    check_extension(src, DATASET_EXTENSIONS)
    check_size(src, limit)
    fmt = FORMATS[dataset.format]
    file = src.display_name
    with tempfile.TemporaryDirectory(prefix="cspdash-") as tmp:
        work = Path(tmp)
        if src.suffix == ".parquet":
            path = src.path or (work / "upload.parquet")
            if src.path is None:
                path.write_bytes(src.data or b"")
            reader = "read_parquet(?)"
        else:
            path = _csv_path(src, work)
            reader = ("read_csv(?, all_varchar = true, header = true, delim = ',', quote = '\"', "
                      "strict_mode = false, null_padding = true, sample_size = -1)")
        raw = f"raw_{name}"
        _check_width(con, path, src.suffix, fmt, file)
        try:
            if src.suffix == ".parquet" or not _read_csv_beside_sniff(con, raw, path):
                con.execute(f"CREATE OR REPLACE TEMP TABLE {raw} AS SELECT * FROM {reader}", [str(path)])
        except duckdb.Error as e:
            raise ValidationError([Problem(file, None, None, None, f"the file cannot be read as "
                                           f"{'Parquet' if src.suffix == '.parquet' else 'CSV'}: {_first_line(e)}",
                                           f"upload a {fmt.description} file as downloaded")]) from None
    # Long formats are staged as a view of the raw table, wide ones (unpivoted) as a table of their own.
    drops = (f"DROP {'TABLE' if fmt.wide else 'VIEW'} IF EXISTS {name}", f"DROP VIEW IF EXISTS {name}_txt",
             f"DROP TABLE IF EXISTS {raw}")
    try:
        staged = _validate_and_load(con, raw, name, fmt, dataset, cat, file)
    except BaseException:
        for stmt in drops:
            con.execute(stmt)
        raise
    # The rows stay in the one table read from the file; what is staged is a view over it (an extract is read
    # once and written once: into ds_<dataset> when the import commits). unstage() drops them all.
    return Staged(staged.table, staged.rows, staged.months, drops)


# --- the direct load: a large, plain police.uk-shaped CSV read once, straight into its table -------------------------

def readable_once(src: SourceFile, dataset: Dataset) -> bool:
    """Whether load_direct may try the file: a CSV on disk of a long (one row per record) format."""
    fmt = FORMATS[dataset.format]
    return src.path is not None and src.suffix == ".csv" and not fmt.wide and has_months(fmt)


def scan_plain(src: SourceFile, dataset: Dataset, each_chunk: Callable[[bytes], None]) -> bool:
    """Read a CSV once, passing every chunk to ``each_chunk`` (the SHA-256), and say whether load_direct's reading
    of it stands: UTF-8 text (a byte-order mark allowed) with no NUL or backslash, and no line of more than 1,000
    cells or 1 MB. Cells quoted as RFC 4180 allows (``"a, b"``, ``""`` inside a quoted cell, ``""`` for an empty
    cell) are read by load_direct's stated dialect as stage()'s whole-file dialect check reads them: a backslash
    is what could make that check settle on another escape character. An empty cell, quoted or not, is read as
    NULL, as stage() stores it. (Cells with spaces at either end, which stage() trims, and a quoted line break,
    which DuckDB's parallel reader refuses, are dealt with by load_direct.)"""
    plain = True
    utf8 = codecs.getincrementaldecoder("utf-8")()

    def both(chunk: bytes) -> None:
        nonlocal plain
        each_chunk(chunk)
        if not plain:
            return
        if b"\\" in chunk or b"\x00" in chunk:
            plain = False
        elif not chunk.isascii() or utf8.getstate()[0]:  # ASCII is UTF-8; only other text is decoded
            try:
                utf8.decode(chunk)
            except UnicodeDecodeError:
                plain = False

    assert src.path is not None
    try:
        _check_width(None, src.path, ".csv", FORMATS[dataset.format], src.display_name, both)  # type: ignore[arg-type]
        utf8.decode(b"", final=True)
    except (ValidationError, UnicodeDecodeError):
        return False
    return plain


def _header_line(path: Path) -> list[str] | None:
    """The cells of a CSV's first line when it is a plain header (UTF-8, plain names, each quoted or not)."""
    with path.open("rb") as f:
        head = f.read(65536)
    if b"\n" not in head or looks_utf16(head):
        return None
    try:
        line = head.split(b"\n", 1)[0].decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError:
        return None
    try:
        cells = next(csv.reader([line], strict=True), [])  # RFC 4180's reading: a name may be quoted
    except csv.Error:
        return None
    if not all(re.fullmatch(r"[A-Za-z0-9 _().-]+", c) for c in cells) or len({c.casefold() for c in cells}) < len(cells):
        return None
    return cells


def load_direct(con: duckdb.DuckDBPyConnection, src: SourceFile, dataset: Dataset, cat: Catalogue, upload_id: int,
                name: str) -> Staged | None:
    """Load a large record-level CSV straight into ``ds_<dataset>`` under ``upload_id``, inside the caller's open
    transaction, and check it there; None (the caller rolls back and stages the file instead) when the file is not
    plainly valid. The caller has checked readable_once(), and runs scan_plain() on the file meanwhile, rolling back
    when it says no.

    stage() reads a file into a temporary table, checks it and the commit copies it into ``ds_<dataset>``: the
    extract is written twice. Here it is read once, as DuckDB's own ``read_csv`` into a table is (the floor of
    docs/performance.md). Only a file that stage() would accept whole is loaded so: a plain header naming every
    column, numbers that cast, every row's required text and month valid and in range, and what scan_plain()
    checks. The columns are stated, not sniffed, so a malformed line costs DuckDB no more than a good one (it is
    cut to the stated columns, and scan_plain() refuses it). Anything else gets None, and stage() then gives its
    problems in words, with their rows. The records' ``source_row`` is left empty: they are stored in file order
    (DuckDB keeps insertion order), so a record's row in the file is its position in its upload plus one.
    """
    fmt = FORMATS[dataset.format]
    assert src.path is not None and readable_once(src, dataset)
    headers = _header_line(src.path)
    if headers is None:
        return None
    probs = Collector()
    mapping, _ = _map_headers(headers, fmt, src.display_name, probs)
    if probs:
        return None
    # The cells as read: scan_plain() makes sure they need no trimming (trimming them here cost a fifth of the
    # load). Numbers are cast strictly: a cell that is not one fails the insert (and stage() then names it).
    sel = ", ".join(f"CAST({_q(mapping[c])} AS DOUBLE)" if c in _NUMERIC else _q(mapping[c]) for c in fmt.columns)
    table = table_name(dataset.name)
    try:
        con.execute(f"INSERT INTO {table} (upload_id, source_row, {', '.join(fmt.columns)}) "
                    f"SELECT ?, NULL, {sel} FROM read_csv(?, {_CSV_OPTIONS}, escape = '\"', "
                    "max_line_size = 1048576, columns = ?)",
                    [upload_id, str(src.path), dict.fromkeys(headers, "VARCHAR")])
    except duckdb.Error:
        return None
    view = f"direct_{name}"
    drop = f"DROP VIEW IF EXISTS {view}"
    con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT source_row, {', '.join(fmt.columns)} FROM {table} "
                f"WHERE upload_id = {int(upload_id)}")
    # One pass: the row checks, cells that stage() would have trimmed (spaces at either end; the file is ASCII),
    # and the months.
    padded = " OR ".join(f"{c} LIKE ' %' OR {c} LIKE '% '" for c in fmt.columns if c not in _NUMERIC)
    checks = [cond for _c, cond, _m, _f in _row_checks(fmt, numbers=False)] + [padded]
    *found, months = con.execute("SELECT count(*)" + "".join(f", count(*) FILTER (WHERE {c})" for c in checks)
                                 + f", list(DISTINCT month) FROM {view}").fetchone()
    months = sorted(parse_period(m, grain="month") for m in months) if found[0] and not any(found[1:]) else None
    if months is None or _months_outside(cat, months):
        con.execute(drop)
        return None
    return Staged(view, found[0], tuple(months), (drop,), upload_id)


_CSV_OPTIONS = "all_varchar = true, header = true, delim = ',', quote = '\"', strict_mode = false, null_padding = true"


def _read_csv_beside_sniff(con: duckdb.DuckDBPyConnection, raw: str, path: Path) -> bool:
    """Read the CSV into ``raw`` as ``read_csv(..., sample_size = -1)`` would, faster; False when it could not tell.

    ``sample_size = -1`` makes DuckDB settle the dialect on the whole file (so an unclosed quote or a backslash
    escape in row 900,000 is seen), which costs a pass over the file on one core before the parallel read starts.
    Here that whole-file sniff runs on its own cursor beside a read that settles the dialect on the first rows.
    When both find the same dialect the rows are the same; otherwise (or on any error) the caller does the
    reference read, which also gives the reference error message.
    """
    def sniff(cur: duckdb.DuckDBPyConnection, extra: str) -> tuple:
        try:
            return cur.execute(f"SELECT * EXCLUDE (UserArguments, Prompt) FROM sniff_csv(?, {_CSV_OPTIONS}{extra})",
                               [str(path)]).fetchone()
        finally:
            cur.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        whole = pool.submit(sniff, con.cursor(), ", sample_size = -1")
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {raw} AS SELECT * FROM read_csv(?, {_CSV_OPTIONS})", [str(path)])
            read = True
        except duckdb.Error:
            read = False
        try:
            same = read and whole.result() == sniff(con.cursor(), "")
        except duckdb.Error:
            same = False
    if not same:
        con.execute(f"DROP TABLE IF EXISTS {raw}")
    return same


def _validate_and_load(con: duckdb.DuckDBPyConnection, raw: str, name: str, fmt: Format, dataset: Dataset,
                       cat: Catalogue, file: str) -> Staged:
    headers = [d[0] for d in con.execute(f"SELECT * FROM {raw} LIMIT 0").description]
    probs = Collector()
    mapping, month_cols = _map_headers(headers, fmt, file, probs)
    probs.raise_if_any()
    total = con.execute(f"SELECT count(*) FROM {raw}").fetchone()[0]
    if total == 0:
        probs.add(file, 2, None, None, "the file has a header but no data rows", "upload the file as downloaded")
        probs.raise_if_any()

    sel = ", ".join(f"CAST({_q(mapping[c])} AS VARCHAR) AS {c}" for c in fmt.columns)
    # A view, not a copy: the checks and the load read the raw table through it.
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name}_txt AS SELECT rowid + 2 AS source_row, {sel}"
                + (", " + ", ".join(f"CAST({_q(h)} AS VARCHAR) AS {_q('m' + h)}" for h in month_cols) if fmt.wide else "")
                + f" FROM {raw}")
    return _check_rows(con, name, fmt, dataset, cat, file, month_cols, probs, total)


def _q(h: str) -> str:
    """A header as a quoted SQL identifier."""
    return '"' + h.replace('"', '""') + '"'


def _map_headers(headers: list[str], fmt: Format, file: str, probs: Collector) -> tuple[dict[str, str], list[str]]:
    """(the header of each of the format's columns, the month columns of a wide format); problems into ``probs``."""
    by_squash = {_squash(h): h for h in headers}
    mapping: dict[str, str] = {}
    for c in fmt.columns:
        h = by_squash.get(_squash(c))
        if h is None:
            probs.add(file, 1, c, None, f"the column {c!r} is missing",
                      f"upload a {fmt.description} file; its header has {', '.join(fmt.columns)}")
        else:
            mapping[c] = h
    month_cols = [h for h in headers if re.fullmatch(r"\d{6}", h.strip())] if fmt.wide else []
    known = {_squash(c) for c in fmt.columns}
    for h in headers:
        if _squash(h) not in known and h not in month_cols:
            probs.add(file, 1, h, h, "unexpected column",
                      f"is this a {fmt.description} file? Its columns are {', '.join(fmt.columns)}"
                      + (" then one per month YYYYMM" if fmt.wide else ""))
    if fmt.wide and not month_cols:
        probs.add(file, 1, None, None, "there are no month columns (YYYYMM)", "upload the table as downloaded")
    return mapping, month_cols


def _row_checks(fmt: Format, numbers: bool = True) -> list[tuple[str, str, str, str]]:
    """(column, condition that marks a bad row, message, fix) of each check of a long format's text rows; without
    the number checks when the numbers were already cast strictly."""
    checks = []
    for c in _REQUIRED_TEXT[fmt.name]:
        if c == "month":
            continue
        checks.append((c, f"coalesce(trim({c}), '') = ''", "the cell is empty", "fill it in or remove the row"))
    if fmt.name == "police_uk_street":
        checks.append(("month", r"NOT regexp_full_match(coalesce(trim(month), ''), '\d{4}-(0[1-9]|1[0-2])')",
                       "not a month in the form YYYY-MM", "police.uk months look like 2015-01"))
        for c in ("longitude", "latitude") if numbers else ():
            checks.append((c, f"trim({c}) <> '' AND TRY_CAST(trim({c}) AS DOUBLE) IS NULL", "not a number",
                           "leave it empty or give decimal degrees such as -0.0235"))
    if fmt.name == "population":
        checks.append(("year", r"NOT regexp_full_match(coalesce(trim(year), ''), '(19|20)\d{2}')",
                       "not a year", "give the mid-year as four digits, e.g. 2019 for mid-2019"))
        checks.append(("population", r"NOT regexp_full_match(coalesce(trim(population), ''), '[0-9]+(\.[0-9]+)?')",
                       "not a number of residents", "give a number of 0 or more, without commas"))
    return checks


def _months_outside(cat: Catalogue, months: Sequence[Period]) -> list[int]:
    """The positions of ``months`` outside the catalogue's range of periods."""
    first, last = cat.first_period, cat.last_period
    return [k for k, m in enumerate(months) if (first and m.end < first.start) or (last and m.start > last.end)]


def _check_rows(con: duckdb.DuckDBPyConnection, name: str, fmt: Format, dataset: Dataset, cat: Catalogue,
                file: str, month_cols: list[str], probs: Collector, total: int) -> Staged:
    txt = f"{name}_txt"
    checks = _row_checks(fmt)
    # One pass counts the bad rows of every check; only a check that found some reads them again to list them.
    counts = con.execute("SELECT " + ", ".join(f"count(*) FILTER (WHERE {cond})" for _c, cond, _m, _f in checks)
                         + f" FROM {txt}").fetchone() if checks else ()
    for (col, cond, msg, fix), bad in zip(checks, counts, strict=True):
        if not bad:
            continue
        for row, val in con.execute(f"SELECT source_row, {col} FROM {txt} WHERE {cond} ORDER BY source_row "
                                    f"LIMIT {probs.limit}").fetchall():
            probs.add(file, row, col, val if val is not None else "", msg, fix)
        probs.more += max(0, bad - probs.limit)
    for h in month_cols:
        qh = '"m' + h + '"'
        # Digits only: TRY_CAST('3.5' AS BIGINT) rounds to 4 rather than failing.
        cond = (f"trim(coalesce({qh}, '')) <> '' AND (NOT regexp_full_match(trim({qh}), '[0-9]+') "
                f"OR TRY_CAST(trim({qh}) AS BIGINT) IS NULL)")
        for row, val in con.execute(f"SELECT source_row, {qh} FROM {txt} WHERE {cond} ORDER BY source_row LIMIT 50"
                                    ).fetchall():
            probs.add(file, row, h, val, "not a whole number of offences", "give a count of 0 or more")
    if fmt.wide:
        # A repeated category row (two downloads pasted together) would be counted twice.
        ids = ", ".join(fmt.columns)
        for row, first, key in con.execute(
                f"SELECT source_row, min(source_row) OVER (PARTITION BY {ids}) AS first, "
                f"concat_ws(' / ', {ids}) FROM {txt} QUALIFY source_row <> first ORDER BY source_row LIMIT 50"
        ).fetchall():
            probs.add(file, row, None, key, f"duplicate row: the same {', '.join(fmt.columns)} as row {first}",
                      "keep one row per category and area; do not combine two downloads in one file")
    probs.raise_if_any()

    if fmt.wide:
        months = [parse_period(h, grain="month") for h in month_cols]
        ids = ", ".join(fmt.columns)
        unions = " UNION ALL ".join(
            f"SELECT source_row, {ids}, '{m.label}' AS month, TRY_CAST(trim(\"m{h}\") AS BIGINT) AS value FROM {txt}"
            for h, m in zip(month_cols, months, strict=True))
        con.execute(f"{create_table_sql(dataset, temp=True, name=name)}")
        con.execute(f"INSERT INTO {name} SELECT * FROM ({unions}) WHERE value IS NOT NULL")
    else:
        # The typed rows as a view: the measures read a few of its columns and the commit inserts it, so
        # materialising it here would copy the whole extract once more (time, and memory).
        cols = ", ".join(f"TRY_CAST(nullif(trim({c}), '') AS DOUBLE) AS {c}" if c in _NUMERIC
                         else f"nullif(trim({c}), '') AS {c}" for c in fmt.columns)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT source_row, {cols} FROM {txt}")
        found = con.execute(f"SELECT month, min(source_row) FROM {name} GROUP BY month ORDER BY 1").fetchall() \
            if has_months(fmt) else []
        months = [parse_period(m, grain="month") for m, _ in found]
        first_rows = [row for _, row in found]
        if fmt.name == "population":
            # One figure per area, age group and year: two would leave the rate undefined.
            for row, first, key in con.execute(
                    f"SELECT source_row, min(source_row) OVER (PARTITION BY lower(code), lower(age_group), year) "
                    f"AS first, concat_ws(' / ', code, age_group, year) FROM {name} QUALIFY source_row <> first "
                    f"ORDER BY source_row LIMIT 50").fetchall():
                probs.add(file, row, None, key, f"duplicate row: the same code, age_group and year as row {first}",
                          "keep one population per area, age group and year")
    for k in _months_outside(cat, months):
        # The first row of that month (long format), or the header that names it (wide format).
        probs.add(file, 1 if fmt.wide else first_rows[k], month_cols[k] if fmt.wide else "month",
                  month_cols[k] if fmt.wide else months[k].label, "outside the catalogue's range of periods",
                  "check the file; the range is set under periods: in indicators.yaml")
    if probs:
        probs.raise_if_any()  # stage() drops the staged table or view
    rows = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] if fmt.wide else total
    return Staged(name, rows, tuple(sorted(set(months))))
