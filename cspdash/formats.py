"""The built-in record-level formats (columns, areas, slices), their tables' DDL and the SQL of catalogue measures.

Below the catalogue: ``cspdash.config`` checks every measure against these formats when it loads (``check_measures``),
and ``cspdash.datasets`` reads extracts into these tables. It needs only the catalogue's types (for annotations), so
it imports nothing of cspdash at run time (tests/test_architecture.py keeps the import graph acyclic).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

    from cspdash.config import Catalogue, Dataset, Indicator

#: police.uk places a record by its LSOA: the borough is the LSOA name without its " 043A" ending (string slicing:
#: a whole-name regex took twice as long); records with no LSOA are "No location".
POLICE_UK_AREA = ("coalesce(nullif(CASE WHEN regexp_full_match(right(lsoa_name, 5), ' [0-9]{3}[A-Z]') "
                  "THEN left(lsoa_name, -5) ELSE '' END, ''), 'No location')")


@dataclass(frozen=True)
class Format:
    """A built-in record-level format.

    A dataset is the union of its active uploads. ``force`` and ``month`` name a *slice*: a new upload replaces only
    the slices it contains (police.uk: one force's month), and ``record_id`` (police.uk's Crime ID) is counted once
    however many uploads hold it. ``area`` is the SQL giving a record's area, to say how many rows of a file fall in
    the partnership's own area.
    """

    name: str
    columns: tuple[str, ...]  # snake_case columns, in order (for wide formats: the id columns)
    wide: bool  # one column per month YYYYMM, unpivoted on load
    description: str
    area: str = "''"
    area_columns: tuple[str, ...] = ()  # the columns ``area`` reads (few distinct values: counted per value)
    force: str | None = None  # the column naming the police force that reported the record
    record_id: str | None = None  # the column identifying one record across files

    @property
    def table_columns(self) -> tuple[str, ...]:
        """The columns of the stored table (upload_id and row come first)."""
        return (*self.columns, "month", "value") if self.wide else self.columns


FORMATS: dict[str, Format] = {
    "police_uk_street": Format(
        "police_uk_street",
        ("crime_id", "month", "reported_by", "falls_within", "longitude", "latitude", "location", "lsoa_code",
         "lsoa_name", "crime_type", "last_outcome_category", "context"),
        False, "police.uk street-level crime (one row per crime or ASB incident; Month is YYYY-MM)",
        POLICE_UK_AREA, ("lsoa_name",), "reported_by", "crime_id"),
    "mps_borough": Format("mps_borough", ("major_text", "minor_text", "borough_name"), True,
                          "London Datastore MPS recorded crime by borough (one column per month YYYYMM)",
                          "borough_name", ("borough_name",)),
    "mps_ward": Format("mps_ward", ("major_text", "minor_text", "ward_name", "ward_code", "lookup_borough_name"), True,
                       "London Datastore MPS recorded crime by ward (one column per month YYYYMM)",
                       "lookup_borough_name", ("lookup_borough_name",)),
    # Denominators, not records: no month, so no measure reads it; docs/compare.md says how it is used.
    "population": Format("population", ("code", "area", "age_group", "year", "population"), False,
                         "population by area (code, area, age_group, year, population; ONS mid-year figures)",
                         "area", ("area",)),
}
NUMERIC_COLUMNS = {"longitude", "latitude", "value", "population"}


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
        cols.append(f"{c} {'BIGINT' if c == 'value' else 'DOUBLE' if c in NUMERIC_COLUMNS else 'VARCHAR'}")
    return f"CREATE {'TEMP ' if temp else ''}TABLE IF NOT EXISTS {name or table_name(dataset.name)} ({', '.join(cols)})"


# ------------------------------------------------------------------------------------------------
# Measures: compile check
# ------------------------------------------------------------------------------------------------

def _single_select(con: duckdb.DuckDBPyConnection, sql: str) -> str | None:
    """None if ``sql`` is exactly one SELECT statement, else what it is."""
    import duckdb  # only when a catalogue with measures is loaded: importing cspdash.config stays light

    try:
        stmts = con.extract_statements(sql)
    except duckdb.Error as e:
        return f"does not parse: {first_line(e)}"
    if len(stmts) != 1:
        return f"must be a single expression or query, found {len(stmts)} statements"
    if stmts[0].type != duckdb.StatementType.SELECT:
        return f"must be a query (SELECT), not {stmts[0].type.name}"
    return None


def first_line(e: Exception) -> str:
    """The first line of an error's message, at most 300 characters."""
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
    import duckdb  # only when a catalogue with measures is loaded: importing cspdash.config stays light

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
                problems.append(f"{where}: does not compile against dataset {m.dataset!r}: {first_line(e)}; "
                                f"columns available: {cols_hint}")
                continue
            if m.query and not {"period", "value"} <= set(cols):
                problems.append(f"{where}.query: must return columns period, value[, area]; it returns {', '.join(cols)}")
    finally:
        con.close()
    return problems
