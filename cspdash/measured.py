"""The figures record-level data gives: the catalogue's measures over a dataset's records as they count with an
import's files (or after a withdrawal), what each file holds, and the rows of figures inserted in bulk."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import duckdb

from cspdash import datasets as ds
from cspdash.config import Catalogue, Dataset
from cspdash.extracts import Loaded
from cspdash.periods import Period

if TYPE_CHECKING:
    from cspdash.uploads import ImportResult


def dataset_obs(cur: duckdb.DuckDBPyConnection, cat: Catalogue, dset: Dataset, prepared: list,
                result: ImportResult) -> list[tuple]:
    """The dataset's figures for every month the prepared files hold, computed over the union of its active
    uploads and these files (each force's month from the newest upload holding it, each record once); a month's
    figures are stored with the last of the files holding it. Notes what each file holds in ``result``."""
    staged: list[Loaded] = [payload for _src, _sha, payload in prepared]
    names = ", ".join(src.display_name for src, _sha, _payload in prepared)
    months = sorted({m for st in staged for m in st.months})
    last = {m: max(k for k, st in enumerate(staged) if m in st.months) for m in months}
    for src, _sha, payload in prepared:
        result.facts[src.display_name] = _file_facts(cur, cat, dset, src.display_name, payload, result)
    if not ds.has_months(ds.FORMATS[dset.format]):
        return []  # a population: denominators, from which no measure is computed
    obs = measure_months(cur, cat, dset, months, [st.upload_id for st in staged], names, result)
    return [(iid, p, area, v, None, None, None, last.get(p, len(staged) - 1)) for iid, p, area, v in obs]

def measure_months(cur: duckdb.DuckDBPyConnection, cat: Catalogue, dset: Dataset, months: Sequence[Period],
                   pending: Sequence[int], file: str, result: ImportResult | None = None) -> list[tuple]:
    """(indicator, month, area, value) of the dataset's measures over its records in ``months`` as they count
    with the ``pending`` uploads (loaded, not yet committed) added. The partnership's own figures for a month
    are held back while no record of that month was reported by its police force (``partnership.police_force``):
    a neighbouring force's few records would otherwise be rated as the whole month."""
    # The repeated records (a crime listed twice) are worked out once: a measure reads the records twice.
    repeated = f"repeated_{dset.name}"
    superseded = ds.has_superseded_slices(cur, dset, months, pending)
    found = ds.repeated_records_sql(dset, months, pending, superseded)
    if found is not None:
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {repeated} AS {found}")
    try:
        source = ds.effective_sql(dset, months, pending, repeated if found is not None else None, superseded)
        obs = [(iid, p, _area(cat, a), v)
               for iid, p, a, v in ds.compute_measures(cur, cat, dset, source, file)]
    finally:
        with contextlib.suppress(duckdb.TransactionException):  # after a failure the rollback drops it
            cur.execute(f"DROP TABLE IF EXISTS {repeated}")
    with_force = ds.months_with_force(cur, dset, months, pending, cat.police_force)
    if with_force is None:
        return obs
    held = sorted({p for _iid, p, a, _v in obs if not a and p.label not in with_force})
    if held and result is not None:
        result.warnings.append(
            f"The figures of {cat.area} for {', '.join(p.label for p in held)} are left out until "
            f"{cat.police_force}'s file for {'that month' if len(held) == 1 else 'those months'} is loaded: "
            f"the records loaded so far come only from other forces.")
    return [o for o in obs if o[2] or o[1] not in held]

def _file_facts(cur: duckdb.DuckDBPyConnection, cat: Catalogue, dset: Dataset, name: str, loaded: Loaded,
                result: ImportResult) -> dict:
    """``rows_in_area`` and ``forces`` of one record-level file, with a warning when its force is not the one
    that polices the partnership's area."""
    facts = ds.file_facts(cur, cat, dset, loaded.upload_id)
    own = cat.police_force.casefold()
    out = {"rows_in_area": facts.rows_in_area, "forces": list(facts.forces)}
    if ds.FORMATS[dset.format].force and not any(f.casefold() == own for f in facts.forces):
        result.warnings.append(
            f"{name}: reported by {', '.join(facts.forces) or 'no force'}, not {cat.police_force}, which "
            f"polices {cat.area}; {facts.rows_in_area:,} of its {facts.rows:,} rows fall in {cat.area}.")
    return out

def recent_months(cat: Catalogue, at: datetime) -> frozenset[Period]:
    """The months of police data still provisional when loaded at ``at``: the month of ``at`` and the
    ``partnership.provisional_months`` - 1 months before it (none when that is 0)."""
    this = Period.containing(at.date(), "month")
    return frozenset(this.shift(-k) for k in range(cat.provisional_months))


def insert_rows(cur: duckdb.DuckDBPyConnection, table: str, rows: tuple[Sequence[str], Sequence[tuple]]) -> None:
    """Insert ``rows`` = (column names, row tuples) into ``table`` in one statement: each column is bound as one list,
    cast to the column's type and unnested (executemany inserts row by row and is ~100x slower; no pandas needed)."""
    columns, values = rows
    if not values:
        return
    types = dict(cur.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?",
                             [table]).fetchall())
    cols = ", ".join(columns)
    unnested = ", ".join(f"unnest(?::{types[c]}[])" for c in columns)
    cur.execute(f"INSERT INTO {table} ({cols}) SELECT {unnested}", [list(col) for col in zip(*values, strict=True)])


def _area(cat: Catalogue, area: str) -> str:
    a = " ".join(area.split())
    return "" if a.casefold() in (cat.area.casefold(), cat.name.casefold(), "") else a
