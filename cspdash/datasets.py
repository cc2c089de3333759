"""Record-level extracts (police.uk street-level crime, London Datastore MPS tables) and the measures computed from them.

Files are read by DuckDB with every column as text, validated by SQL, and staged in a temporary table; measures
declared in the catalogue run over the staged rows and give monthly figures. Columns are addressed by their
header in snake_case (``Crime type`` -> ``crime_type``, ``MajorText`` -> ``major_text``).
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from cspdash.config import Catalogue, Dataset, Indicator
from cspdash.errors import PeriodError
from cspdash.ingest import (
    MAX_DATASET_BYTES,
    Collector,
    Problem,
    SourceFile,
    ValidationError,
    check_extension,
    check_size,
)
from cspdash.periods import Period, parse_period

DATASET_EXTENSIONS = (".csv", ".parquet")


@dataclass(frozen=True)
class Format:
    """A built-in record-level format."""

    name: str
    columns: tuple[str, ...]  # snake_case columns, in order (for wide formats: the id columns)
    wide: bool  # one column per month YYYYMM, unpivoted on load
    description: str

    @property
    def table_columns(self) -> tuple[str, ...]:
        """The columns of the stored table (upload_id and row come first)."""
        return (*self.columns, "month", "value") if self.wide else self.columns


FORMATS: dict[str, Format] = {
    "police_uk_street": Format(
        "police_uk_street",
        ("crime_id", "month", "reported_by", "falls_within", "longitude", "latitude", "location", "lsoa_code",
         "lsoa_name", "crime_type", "last_outcome_category", "context"),
        False, "police.uk street-level crime (one row per crime or ASB incident; Month is YYYY-MM)"),
    "mps_borough": Format("mps_borough", ("major_text", "minor_text", "borough_name"), True,
                          "London Datastore MPS recorded crime by borough (one column per month YYYYMM)"),
    "mps_ward": Format("mps_ward", ("major_text", "minor_text", "ward_name", "ward_code", "lookup_borough_name"), True,
                       "London Datastore MPS recorded crime by ward (one column per month YYYYMM)"),
}
_NUMERIC = {"longitude", "latitude", "value"}
_REQUIRED_TEXT = {"police_uk_street": ("month", "crime_type"), "mps_borough": ("major_text", "minor_text", "borough_name"),
                  "mps_ward": ("major_text", "minor_text", "ward_code")}


def snake(header: str) -> str:
    """``Crime type`` -> ``crime_type``; ``MajorText`` -> ``major_text``; ``LSOA code`` -> ``lsoa_code``."""
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", header.strip())
    return re.sub(r"[^0-9a-zA-Z]+", "_", s).strip("_").lower()


def _squash(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def table_name(dataset: str) -> str:
    """The stored table of a dataset (names are validated lower-case identifiers)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", dataset):
        raise ValueError(f"bad dataset name {dataset!r}")
    return f"ds_{dataset}"


def create_table_sql(dataset: Dataset, temp: bool = False, name: str | None = None) -> str:
    """DDL of a dataset's table; text columns, numbers as DOUBLE, value as BIGINT."""
    fmt = FORMATS[dataset.format]
    cols = ["upload_id INTEGER", "source_row BIGINT"] if not temp else ["source_row BIGINT"]
    for c in fmt.table_columns:
        cols.append(f"{c} {'BIGINT' if c == 'value' else 'DOUBLE' if c in _NUMERIC else 'VARCHAR'}")
    return f"CREATE {'TEMP ' if temp else ''}TABLE IF NOT EXISTS {name or table_name(dataset.name)} ({', '.join(cols)})"


# ------------------------------------------------------------------------------------------------
# Measures: compile check and evaluation
# ------------------------------------------------------------------------------------------------

def _single_select(con: duckdb.DuckDBPyConnection, sql: str) -> str | None:
    """None if ``sql`` is exactly one SELECT statement, else what it is."""
    try:
        stmts = con.extract_statements(sql)
    except duckdb.Error as e:
        return f"does not parse: {_first_line(e)}"
    if len(stmts) != 1:
        return f"must be a single expression or query, found {len(stmts)} statements"
    if stmts[0].type != duckdb.StatementType.SELECT:
        return f"must be a query (SELECT), not {stmts[0].type.name}"
    return None


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0][:300]


def measure_sql(ind: Indicator, view: str) -> str:
    """The SQL giving ``period, area, value`` per month for an aggregate measure, or the declared query."""
    m = ind.measure
    assert m is not None
    if m.query:
        return f"SELECT * FROM ({m.query}) AS q"
    area = f"CAST(({m.area}) AS VARCHAR)" if m.area else "CAST('' AS VARCHAR)"
    where = f"WHERE ({m.where})" if m.where else ""
    # Every month (and area) present in the file gets a figure: no matching rows counts as 0.
    return (
        f"WITH keys AS (SELECT DISTINCT month AS period, {area} AS area FROM {view}), "
        f"agg AS (SELECT month AS period, {area} AS area, ({m.aggregate}) AS value FROM {view} {where} GROUP BY ALL) "
        f"SELECT keys.period, keys.area, coalesce(agg.value, 0) AS value FROM keys "
        f"LEFT JOIN agg ON keys.period = agg.period AND keys.area = agg.area"
    )


def check_measures(cat: Catalogue) -> list[str]:
    """Compile every measure against an empty table of its dataset; one problem string per bad measure."""
    problems: list[str] = []
    measured = [i for i in cat.indicators if i.measure is not None]
    if not measured:
        return problems
    con = duckdb.connect(":memory:")
    try:
        for ds in cat.datasets:
            con.execute(create_table_sql(ds, name=ds.name))
        for ind in measured:
            m = ind.measure
            where = f"indicators[{ind.id}].measure"
            for part, text in (("aggregate", m.aggregate), ("where", m.where), ("area", m.area)):
                if text is None:
                    continue
                bad = _single_select(con, f"SELECT {text} FROM {m.dataset}")
                if bad:
                    problems.append(f"{where}.{part}: {bad}; write one SQL expression over {m.dataset}'s columns")
            if m.query:
                bad = _single_select(con, m.query)
                if bad:
                    problems.append(f"{where}.query: {bad}")
                    continue
            if not any(ds.name == m.dataset for ds in cat.datasets):
                continue
            try:
                cols = [d[0] for d in con.execute(f"DESCRIBE {measure_sql(ind, m.dataset)}").fetchall()]
            except duckdb.Error as e:
                cols_hint = ", ".join(FORMATS[cat.dataset(m.dataset).format].table_columns)
                problems.append(f"{where}: does not compile against dataset {m.dataset!r}: {_first_line(e)}; "
                                f"columns available: {cols_hint}")
                continue
            if m.query and not {"period", "value"} <= set(cols):
                problems.append(f"{where}.query: must return columns period, value[, area]; it returns {', '.join(cols)}")
    finally:
        con.close()
    return problems


def compute_measures(con: duckdb.DuckDBPyConnection, cat: Catalogue, dataset: Dataset, staged: str,
                     file: str) -> list[tuple[str, Period, str, float]]:
    """(indicator, month, area, value) for every measure over ``dataset`` from the staged rows."""
    out: list[tuple[str, Period, str, float]] = []
    con.execute(f"CREATE OR REPLACE TEMP VIEW {dataset.name} AS SELECT * FROM {staged}")
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
# Staging a file
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Staged:
    """A validated file in a temporary table."""

    table: str
    rows: int
    months: tuple[Period, ...]


def _csv_path(src: SourceFile, workdir: Path) -> Path:
    """A UTF-8 file DuckDB can read: the original when it already is, else a transcoded copy."""
    path = src.path
    if path is None:
        path = workdir / "upload.csv"
        path.write_bytes(src.data or b"")
    with path.open("rb") as f:
        head = f.read(65536)
    if b"\x00" in head:
        raise ValidationError([Problem(src.display_name, None, None, None,
                                       "this is not a text file (it contains binary bytes)",
                                       "upload the CSV exactly as downloaded")])
    if _is_utf8(path):
        return path
    out = workdir / "upload-utf8.csv"
    try:
        out.write_text(path.read_bytes().decode("cp1252"), encoding="utf-8")
    except UnicodeDecodeError:
        raise ValidationError([Problem(src.display_name, None, None, None, "the text is neither UTF-8 nor Windows-1252",
                                       "download the file again, or save it as CSV UTF-8")]) from None
    return out


def _is_utf8(path: Path) -> bool:
    import codecs

    dec = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
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
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {raw} AS SELECT * FROM {reader}", [str(path)])
        except duckdb.Error as e:
            raise ValidationError([Problem(file, None, None, None, f"the file cannot be read as "
                                           f"{'Parquet' if src.suffix == '.parquet' else 'CSV'}: {_first_line(e)}",
                                           f"upload a {fmt.description} file as downloaded")]) from None
    try:
        return _validate_and_load(con, raw, name, fmt, dataset, cat, file)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {raw}")


def _validate_and_load(con: duckdb.DuckDBPyConnection, raw: str, name: str, fmt: Format, dataset: Dataset,
                       cat: Catalogue, file: str) -> Staged:
    headers = [d[0] for d in con.execute(f"SELECT * FROM {raw} LIMIT 0").description]
    by_squash = {_squash(h): h for h in headers}
    probs = Collector()
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
    probs.raise_if_any()
    total = con.execute(f"SELECT count(*) FROM {raw}").fetchone()[0]
    if total == 0:
        probs.add(file, 2, None, None, "the file has a header but no data rows", "upload the file as downloaded")
        probs.raise_if_any()

    def q(h: str) -> str:
        return '"' + h.replace('"', '""') + '"'

    sel = ", ".join(f"CAST({q(mapping[c])} AS VARCHAR) AS {c}" for c in fmt.columns)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name}_txt AS SELECT rowid + 2 AS source_row, {sel}"
                + (", " + ", ".join(f"CAST({q(h)} AS VARCHAR) AS {q('m' + h)}" for h in month_cols) if fmt.wide else "")
                + f" FROM {raw}")
    try:
        return _check_rows(con, name, fmt, dataset, cat, file, month_cols, probs)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {name}_txt")


def _check_rows(con: duckdb.DuckDBPyConnection, name: str, fmt: Format, dataset: Dataset, cat: Catalogue,
                file: str, month_cols: list[str], probs: Collector) -> Staged:
    txt = f"{name}_txt"
    checks: list[tuple[str, str, str, str]] = []  # (column, condition that marks a bad row, message, fix)
    for c in _REQUIRED_TEXT[fmt.name]:
        if c == "month":
            continue
        checks.append((c, f"coalesce(trim({c}), '') = ''", "the cell is empty", "fill it in or remove the row"))
    if fmt.name == "police_uk_street":
        checks.append(("month", r"NOT regexp_full_match(coalesce(trim(month), ''), '\d{4}-(0[1-9]|1[0-2])')",
                       "not a month in the form YYYY-MM", "police.uk months look like 2015-01"))
        for c in ("longitude", "latitude"):
            checks.append((c, f"trim({c}) <> '' AND TRY_CAST(trim({c}) AS DOUBLE) IS NULL", "not a number",
                           "leave it empty or give decimal degrees such as -0.0235"))
    for col, cond, msg, fix in checks:
        for row, val in con.execute(f"SELECT source_row, {col} FROM {txt} WHERE {cond} ORDER BY source_row "
                                    f"LIMIT {probs.limit}").fetchall():
            probs.add(file, row, col, val if val is not None else "", msg, fix)
        extra = con.execute(f"SELECT count(*) FROM {txt} WHERE {cond}").fetchone()[0] - probs.limit
        probs.more += max(0, extra)
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
        con.execute(create_table_sql(dataset, temp=True, name=name))
        cols = ", ".join(f"TRY_CAST(nullif(trim({c}), '') AS DOUBLE)" if c in _NUMERIC else f"nullif(trim({c}), '')"
                         for c in fmt.columns)
        con.execute(f"INSERT INTO {name} SELECT source_row, {cols} FROM {txt}")
        found = con.execute(f"SELECT month, min(source_row) FROM {name} GROUP BY month ORDER BY 1").fetchall()
        months = [parse_period(m, grain="month") for m, _ in found]
        first_rows = [row for _, row in found]
    first, last = cat.first_period, cat.last_period
    for k, m in enumerate(months):
        if (first and m.end < first.start) or (last and m.start > last.end):
            # The first row of that month (long format), or the header that names it (wide format).
            probs.add(file, 1 if fmt.wide else first_rows[k], month_cols[k] if fmt.wide else "month",
                      month_cols[k] if fmt.wide else m.label, "outside the catalogue's range of periods",
                      "check the file; the range is set under periods: in indicators.yaml")
    if probs:
        con.execute(f"DROP TABLE IF EXISTS {name}")
        probs.raise_if_any()
    rows = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
    return Staged(name, rows, tuple(sorted(set(months))))
