"""Record-level extracts (police.uk street-level crime, London Datastore MPS tables) as datasets: each dataset the
union of its active uploads, and the measures computed from it. ``cspdash.extracts`` loads the files into their
tables; columns are addressed by their header in snake_case (``Crime type`` -> ``crime_type``, ``MajorText`` ->
``major_text``).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from cspdash.config import Catalogue, Dataset
from cspdash.errors import PeriodError
from cspdash.extract_checks import DATASET_EXTENSIONS, MAX_DATASET_COLUMNS, has_months  # noqa: F401  (read by callers)
from cspdash.formats import FORMATS, create_table_sql, measure_sql, table_name  # noqa: F401  (read by db, backups)
from cspdash.formats import first_line as _first_line
from cspdash.ingest import Problem, ValidationError
from cspdash.periods import Period, parse_period


def snake(header: str) -> str:
    """``Crime type`` -> ``crime_type``; ``MajorText`` -> ``major_text``; ``LSOA code`` -> ``lsoa_code``."""
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", header.strip())
    return re.sub(r"[^0-9a-zA-Z]+", "_", s).strip("_").lower()


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
            except duckdb.OutOfMemoryException:
                raise  # not the measure's fault (an import under its memory cap tries again without it)
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
        with contextlib.suppress(duckdb.TransactionException):  # after a failure the rollback drops it
            con.execute(f"DROP VIEW IF EXISTS {dataset.name}")
    return out


# ------------------------------------------------------------------------------------------------
# The dataset as the union of its uploads
# ------------------------------------------------------------------------------------------------

def _month_list(months: Sequence[Period]) -> str:
    """``'2015-01', '2015-02'``: months as SQL literals (labels are checked to be YYYY-MM; never user text)."""
    labels = sorted({m.label for m in months})
    for label in labels:
        if not re.fullmatch(r"\d{4}-\d{2}", label):
            raise ValueError(f"not a month label: {label!r}")
    return ", ".join(f"'{label}'" for label in labels) or "NULL"


def _pool_sql(dataset: Dataset, months: Sequence[Period], pending: Sequence[int]) -> str:
    """Every record of ``months`` in the dataset's active uploads and the ``pending`` uploads of an import (loaded into
    the table under ids above every stored upload's, not yet committed), with ``upload_id``, ``rid`` (unique within an
    upload: the row in the file, or for a file loaded in order the table's rowid) and ``slice_force``."""
    fmt = FORMATS[dataset.format]
    cols = ", ".join(fmt.table_columns)
    ids = ", ".join(str(int(uid)) for uid in pending)
    pool = (f"SELECT CAST(upload_id AS BIGINT) AS upload_id, coalesce(source_row, rowid) AS rid, source_row, {cols} "
            f"FROM {table_name(dataset.name)} WHERE month IN ({_month_list(months)}) AND (upload_id IN (SELECT "
            f"upload_id FROM uploads WHERE state = 'active' AND kind = 'dataset' AND dataset = '{dataset.name}')"
            + (f" OR upload_id IN ({ids})" if ids else "") + ")")
    force = f"coalesce({fmt.force}, '')" if fmt.force else "''"
    return f"SELECT *, {force} AS slice_force FROM ({pool})"


def _newest_slices_sql(pool: str, superseded: bool = True) -> str:
    """The records of ``pool`` in the newest upload holding their (force, month) slice (all of them when no slice is
    held by two uploads: ``superseded`` False)."""
    if not superseded:
        return pool
    return (f"SELECT pool.* FROM ({pool}) AS pool JOIN (SELECT slice_force, month, max(upload_id) AS upload_id "
            f"FROM ({pool}) GROUP BY ALL) AS newest USING (slice_force, month, upload_id)")


def has_superseded_slices(con: duckdb.DuckDBPyConnection, dataset: Dataset, months: Sequence[Period],
                          pending: Sequence[int] = ()) -> bool:
    """Whether any (force, month) slice of ``months`` is held by more than one upload (a few narrow columns read:
    when none is, the newest-slice join can be skipped)."""
    return bool(con.execute(f"SELECT EXISTS (SELECT 1 FROM ({_pool_sql(dataset, months, pending)}) "
                            "GROUP BY slice_force, month HAVING count(DISTINCT upload_id) > 1)").fetchone()[0])


def repeated_records_sql(dataset: Dataset, months: Sequence[Period], pending: Sequence[int] = (),
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


def effective_sql(dataset: Dataset, months: Sequence[Period], pending: Sequence[int] = (),
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
                      pending: Sequence[int], force: str) -> set[str] | None:
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


def file_facts(con: duckdb.DuckDBPyConnection, cat: Catalogue, dataset: Dataset, upload_id: int) -> FileFacts:
    """The rows of a loaded file (the records of ``upload_id``), those in the partnership's own area (by the
    format's area), and its forces."""
    fmt = FORMATS[dataset.format]
    force = fmt.force or "CAST(NULL AS VARCHAR)"
    area = f"lower(regexp_replace(trim(CAST(({fmt.area}) AS VARCHAR)), '\\s+', ' ', 'g'))"
    # Counted per distinct area column and force first (a few thousand LSOAs in a million records), then the area
    # expression runs on those values only.
    keys = ", ".join((*fmt.area_columns, f"{force} AS force"))
    rows, inside, names = con.execute(
        f"SELECT coalesce(sum(n), 0), coalesce(sum(n) FILTER (WHERE {area} IN (lower(?), lower(?))), 0), "
        f"list(DISTINCT force) FILTER (WHERE force IS NOT NULL) FROM (SELECT {keys}, count(*) AS n "
        f"FROM {table_name(dataset.name)} WHERE upload_id = ? GROUP BY ALL)",
        [" ".join(cat.area.split()), " ".join(cat.name.split()), upload_id]).fetchone()
    return FileFacts(int(rows), int(inside), tuple(sorted(names or ())))
