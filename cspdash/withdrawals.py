"""Withdrawals: an upload stops counting (nothing is deleted), and a dataset's figures for its months are computed
again over the uploads that still count."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import duckdb

from cspdash import auth, db, extract_store, measured
from cspdash import datasets as ds
from cspdash.auth import User
from cspdash.config import Catalogue
from cspdash.errors import CspdashError
from cspdash.figures import dataset_of
from cspdash.periods import parse_period

if TYPE_CHECKING:
    from cspdash.uploads import Uploads


def withdraw(up: Uploads, upload_id: int, user: User | str | None, reason: str = "") -> dict:
    """Withdraw an upload: its figures and commentary stop counting; nothing is deleted."""
    actor = up.accounts.actor(user)
    user = actor.label
    with up.db.lock:
        cur = up.db.writer()
        try:
            row = cur.execute("SELECT state, file_name, kind FROM uploads WHERE upload_id = ?", [upload_id]).fetchone()
            if row is None:
                raise CspdashError(f"there is no upload {upload_id}; see `history` for the ids")
            if row[0] == "withdrawn":
                raise CspdashError(f"upload {upload_id} ({row[1]}) is already withdrawn")
            auth.require(actor, "import_dataset" if row[2] == "dataset" else "withdraw",
                         [] if row[2] == "dataset" else up.upload_owners(upload_id),
                         what=f"upload {upload_id} ({row[1]})")
            with up.db.transaction(cur):
                now = db.now()
                cur.execute("UPDATE uploads SET state = 'withdrawn', withdrawn_at = ?, withdrawn_by = ?, "
                            "withdraw_reason = ? WHERE upload_id = ?", [now, user, reason or None, upload_id])
                if row[2] == "dataset" and isinstance(up.db, db.Database):
                    _recompute_after_withdrawal(cur, up.cat, upload_id)
                elif row[2] == "dataset":  # PostgreSQL: the records are Parquet files (cspdash.extract_store)
                    _recompute_from_extracts(cur, up.cat, upload_id)
                db.event(cur, user, "withdraw", upload_id, reason or row[1], now)
            up.db.checkpoint(cur)
        finally:
            cur.close()
    return next(h for h in up.figures.history() if h["upload_id"] == upload_id)

def _recompute_from_extracts(cur: Any, cat: Catalogue, upload_id: int) -> None:
    """``_recompute_after_withdrawal`` on a PostgreSQL store: the records read from the dataset's Parquet files (the
    withdrawn upload's too, for its months) on a compute connection, under the dataset's lock until the commit."""
    name = cur.execute("SELECT dataset FROM uploads WHERE upload_id = ?", [upload_id]).fetchone()[0]
    dset = dataset_of(cat, name)
    if not ds.has_months(ds.FORMATS[dset.format]):
        return  # a population: no figures were computed from it
    extract_store.lock_in_transaction(cur, dset.name)
    con = extract_store.ExtractStore.from_env(outcome="nothing was changed").compute(cur, dset, also=[upload_id])
    try:
        _recompute_after_withdrawal(cur, cat, upload_id, con)
    finally:
        con.close()


def _recompute_after_withdrawal(cur: Any, cat: Catalogue, upload_id: int,
                                records: duckdb.DuckDBPyConnection | None = None) -> None:
    """Inside a withdrawal's transaction: the dataset's figures for the withdrawn upload's months, computed again
    over the uploads that still count, replace the figures of the newest upload now holding each month (the
    withdrawn upload's own figures stop counting with it). The records and uploads are read through ``records``
    (a compute connection, on PostgreSQL), else through ``cur``."""
    name = cur.execute("SELECT dataset FROM uploads WHERE upload_id = ?", [upload_id]).fetchone()[0]
    dset = dataset_of(cat, name)
    if not ds.has_months(ds.FORMATS[dset.format]):
        return  # a population: no figures were computed from it
    con = cur if records is None else records
    table = ds.table_name(dset.name)
    months = [parse_period(m, grain="month") for (m,) in con.execute(
        f"SELECT DISTINCT month FROM {table} WHERE upload_id = ?", [upload_id]).fetchall()]
    if not months:
        return
    holders = dict(con.execute(
        f"SELECT month, max(upload_id) FROM {table} WHERE list_contains(?, month) AND upload_id IN "
        "(SELECT upload_id FROM uploads WHERE state = 'active' AND kind = 'dataset' AND dataset = ?) GROUP BY month",
        [[m.label for m in months], dset.name]).fetchall())
    computed = [i.id for i in cat.indicators if i.measure is not None and i.measure.dataset == dset.name]
    for month, holder in holders.items():
        cur.execute("DELETE FROM observations WHERE upload_id = ? AND period = ? AND grain = 'month' AND "
                    + ("list_contains(?, indicator)" if records is None else "indicator = ANY(?)"),
                    [holder, month, computed])
    obs = measured.measure_months(con, cat, dset, months, (), f"the {dset.name} dataset")
    loaded = dict(con.execute("SELECT upload_id, uploaded_at FROM uploads WHERE list_contains(?, upload_id)",
                              [sorted(set(holders.values()))]).fetchall())
    recent = {uid: measured.recent_months(cat, at) for uid, at in loaded.items()}  # as when the holder was loaded
    rows = [(holders[p.label], iid, p.label, p.grain, p.start, area, v, None, None, None, p in recent[holders[p.label]])
            for iid, p, area, v in obs if p.label in holders]
    if rows:
        measured.insert_rows(cur, "observations", (
            ["upload_id", "indicator", "period", "grain", "period_start", "area", "value", "numerator",
             "denominator", "source_row", "provisional"], rows))
