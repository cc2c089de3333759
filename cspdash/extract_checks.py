"""The checks of a record-level extract in words: its header, its rows and its months, each problem with the file,
row, column, value and fix.

``cspdash.extracts`` loads a file straight into its dataset's table and checks it there in SQL; only when that finds
a problem is the file read again here, as a relation of text cells (``read_relation``), for these row-by-row
messages (``diagnose``). The wide MPS tables and populations, small files whose rows need reshaping or comparing,
are read as such a relation and checked here before they are inserted (``check_relation``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import duckdb
import numpy as np

from cspdash import ingest
from cspdash.config import Catalogue, Dataset
from cspdash.formats import FORMATS, Format
from cspdash.formats import NUMERIC_COLUMNS as _NUMERIC
from cspdash.formats import first_line as _first_line
from cspdash.ingest import Collector, Problem, SourceFile, ValidationError, refuse_mixed_encodings, refuse_utf16
from cspdash.periods import Period, parse_period

DATASET_EXTENSIONS = (".csv", ".parquet")
MAX_DATASET_COLUMNS = 1000  # police.uk has 12; the MPS tables 3 + one per month. DuckDB needs ~25 MB a column to read

_REQUIRED_TEXT = {"police_uk_street": ("month", "crime_type"), "mps_borough": ("major_text", "minor_text", "borough_name"),
                  "mps_ward": ("major_text", "minor_text", "ward_code"),
                  "population": ("code", "area", "age_group", "year")}

#: How DuckDB reads an extract: every cell as text, the header named, rows of too few cells padded.
CSV_OPTIONS = "all_varchar = true, header = true, delim = ',', quote = '\"', strict_mode = false, null_padding = true"


def check_files(files: Sequence[SourceFile]) -> None:
    """Refuse record-level files by name and size before a byte of them is read (every file's problems at once)."""
    problems: list[Problem] = []
    for src in files:
        try:
            ingest.check_extension(src, DATASET_EXTENSIONS)
            ingest.check_size(src, ingest.MAX_DATASET_BYTES)  # read now: tests scale the limit down
        except ValidationError as e:
            problems.extend(e.problems)
    if problems:
        raise ValidationError(problems)


def has_months(fmt: Format) -> bool:
    """Whether a format's records fall in months (every format but ``population``)."""
    return fmt.wide or "month" in fmt.columns


def squash(name: str) -> str:
    """A header as compared with a format's column: lower case, letters and digits only."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def q(h: str) -> str:
    """A header as a quoted SQL identifier."""
    return '"' + h.replace('"', '""') + '"'


def refuse_width(path: Path, suffix: str, fmt: Format, file: str, con: duckdb.DuckDBPyConnection | None = None,
                 each_chunk: Callable[[bytes], None] | None = None) -> None:
    """Refuse a file with a row of more than MAX_DATASET_COLUMNS cells before DuckDB sniffs it: DuckDB gives every
    row the columns of the widest one, so one row of 100,000 commas in a 100 kB file takes it a minute and gigabytes
    of memory. Counted from the Parquet schema, or the commas of each CSV line (quoted commas too: a bound)."""
    def refuse(row: int, what: str) -> NoReturn:
        raise ValidationError([Problem(file, row, None, None, what, f"upload a {fmt.description} file as downloaded")])

    limit = MAX_DATASET_COLUMNS
    if suffix == ".parquet":
        assert con is not None
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


def refuse_encoding(path: Path, file: str) -> None:
    """Raise the problem with a CSV's text the loader could not transcode: UTF-16, binary bytes, two encodings
    mixed, or neither UTF-8 nor Windows-1252 (the whole file is read: only after the loader gave up on it)."""
    with path.open("rb") as f:
        head = f.read(65536)
    refuse_utf16(head, file)
    if b"\x00" in head:
        raise ValidationError([Problem(file, None, None, None, "this is not a text file (it contains binary bytes)",
                                       "upload the CSV exactly as downloaded")])
    data = path.read_bytes()
    try:
        data.decode("utf-8")
        return
    except UnicodeDecodeError:
        pass
    refuse_mixed_encodings(data, file)
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        raise ValidationError([Problem(file, None, None, None, "the text is neither UTF-8 nor Windows-1252",
                                       "download the file again, or save it as CSV UTF-8")]) from None


def read_relation(con: duckdb.DuckDBPyConnection, path: Path, suffix: str, fmt: Format, file: str, raw: str) -> None:
    """Read a file (UTF-8 text or Parquet) into the temp table ``raw`` as text cells, the CSV dialect settled on the
    whole file; ValidationError when it cannot be read."""
    refuse_width(path, suffix, fmt, file, con)
    reader = "read_parquet(?)" if suffix == ".parquet" else f"read_csv(?, {CSV_OPTIONS}, sample_size = -1)"
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {raw} AS SELECT * FROM {reader}", [str(path)])
    except duckdb.Error as e:
        raise ValidationError([Problem(file, None, None, None, f"the file cannot be read as "
                                       f"{'Parquet' if suffix == '.parquet' else 'CSV'}: {_first_line(e)}",
                                       f"upload a {fmt.description} file as downloaded")]) from None


@dataclass(frozen=True)
class Checked:
    """A relation that passed every check: ``select`` gives its rows as stored (source_row, then the format's table
    columns); ``drops`` removes the views it reads through."""

    select: str
    months: tuple[Period, ...]
    drops: tuple[str, ...]


def check_relation(con: duckdb.DuckDBPyConnection, raw: str, dataset: Dataset, cat: Catalogue, file: str) -> Checked:
    """Check the text cells of ``raw`` against the dataset's format; ValidationError naming every problem."""
    fmt = FORMATS[dataset.format]
    name = f"{raw}_rows"
    headers = [d[0] for d in con.execute(f"SELECT * FROM {raw} LIMIT 0").description]
    probs = Collector()
    mapping, month_cols = map_headers(headers, fmt, file, probs)
    probs.raise_if_any()
    total = con.execute(f"SELECT count(*) FROM {raw}").fetchone()[0]
    if total == 0:
        probs.add(file, 2, None, None, "the file has a header but no data rows", "upload the file as downloaded")
        probs.raise_if_any()
    txt = f"{name}_txt"
    drops = (f"DROP VIEW IF EXISTS {name}", f"DROP VIEW IF EXISTS {txt}")
    sel = ", ".join(f"CAST({q(mapping[c])} AS VARCHAR) AS {c}" for c in fmt.columns)
    # A view, not a copy: the checks and the insert read the raw table through it.
    # The row in the file from the table's rowid (which starts above 2**55 inside the import's transaction).
    first = con.execute(f"SELECT min(rowid) FROM {raw}").fetchone()[0]
    con.execute(f"CREATE OR REPLACE TEMP VIEW {txt} AS SELECT rowid - {int(first)} + 2 AS source_row, {sel}"
                + (", " + ", ".join(f"CAST({q(h)} AS VARCHAR) AS {q('m' + h)}" for h in month_cols) if fmt.wide else "")
                + f" FROM {raw}")
    try:
        return _check_rows(con, name, fmt, cat, file, month_cols, probs, drops)
    except BaseException:
        for stmt in drops:
            con.execute(stmt)
        raise


def map_headers(headers: list[str], fmt: Format, file: str, probs: Collector) -> tuple[dict[str, str], list[str]]:
    """(the header of each of the format's columns, the month columns of a wide format); problems into ``probs``."""
    by_squash = {squash(h): h for h in headers}
    mapping: dict[str, str] = {}
    for c in fmt.columns:
        h = by_squash.get(squash(c))
        if h is None:
            probs.add(file, 1, c, None, f"the column {c!r} is missing",
                      f"upload a {fmt.description} file; its header has {', '.join(fmt.columns)}")
        else:
            mapping[c] = h
    month_cols = [h for h in headers if re.fullmatch(r"\d{6}", h.strip())] if fmt.wide else []
    known = {squash(c) for c in fmt.columns}
    for h in headers:
        if squash(h) not in known and h not in month_cols:
            probs.add(file, 1, h, h, "unexpected column",
                      f"is this a {fmt.description} file? Its columns are {', '.join(fmt.columns)}"
                      + (" then one per month YYYYMM" if fmt.wide else ""))
    if fmt.wide and not month_cols:
        probs.add(file, 1, None, None, "there are no month columns (YYYYMM)", "upload the table as downloaded")
    return mapping, month_cols


def row_checks(fmt: Format, numbers: bool = True) -> list[tuple[str, str, str, str]]:
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


def months_outside(cat: Catalogue, months: Sequence[Period]) -> list[int]:
    """The positions of ``months`` outside the catalogue's range of periods."""
    first, last = cat.first_period, cat.last_period
    return [k for k, m in enumerate(months) if (first and m.end < first.start) or (last and m.start > last.end)]


def _check_rows(con: duckdb.DuckDBPyConnection, name: str, fmt: Format, cat: Catalogue, file: str,
                month_cols: list[str], probs: Collector, drops: tuple[str, ...]) -> Checked:
    txt = f"{name}_txt"
    checks = row_checks(fmt)
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
        select = f"SELECT * FROM ({unions}) WHERE value IS NOT NULL"
        first_rows: list[int] = []
    else:
        # The typed rows as a view: the month check reads it and the insert reads it once more.
        cols = ", ".join(f"TRY_CAST(nullif(trim({c}), '') AS DOUBLE) AS {c}" if c in _NUMERIC
                         else f"nullif(trim({c}), '') AS {c}" for c in fmt.columns)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT source_row, {cols} FROM {txt}")
        select = f"SELECT * FROM {name}"
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
    for k in months_outside(cat, months):
        # The first row of that month (long format), or the header that names it (wide format).
        probs.add(file, 1 if fmt.wide else first_rows[k], month_cols[k] if fmt.wide else "month",
                  month_cols[k] if fmt.wide else months[k].label, "outside the catalogue's range of periods",
                  "check the file; the range is set under periods: in indicators.yaml")
    probs.raise_if_any()
    return Checked(select, tuple(sorted(set(months))), drops)


def diagnose(con: duckdb.DuckDBPyConnection, src: SourceFile, path: Path, dataset: Dataset, cat: Catalogue,
             raw: str) -> None:
    """Read a file the loader refused again, as text cells, and raise its problems in words (returns when it finds
    none: the caller then says why the loader refused it). ``path`` is the file as DuckDB reads it (UTF-8 or
    Parquet)."""
    fmt = FORMATS[dataset.format]
    if src.suffix != ".parquet" and src.path is not None:
        refuse_encoding(src.path, src.display_name)
    try:
        read_relation(con, path, src.suffix, fmt, src.display_name, raw)
        checked = check_relation(con, raw, dataset, cat, src.display_name)
        for stmt in checked.drops:
            con.execute(stmt)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {raw}")
