"""Snapshots: "freeze for the meeting on DATE" keeps exactly what was presented, in the same database (DuckDB or
PostgreSQL: the SQL is written once for both).

A snapshot stores the whole pack (values, RAG, reasons, commentary, chart points, data-as-at, the period, who froze
it and when) as written at the time; later uploads, restatements and withdrawals never change it. ``report``
renders a loaded snapshot exactly as frozen, and ``diff`` says what has changed since.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from cspdash import auth, db
from cspdash.errors import CspdashError
from cspdash.periods import Period, parse_period
from cspdash.report import PackData, SnapshotInfo, build_pack, parse_meeting_date, with_snapshot
from cspdash.status import Status
from cspdash.store import Store

SCHEMA = db.SNAPSHOT_SCHEMA  # the tables of frozen packs, made when the first pack is frozen

#: Status fields compared by ``diff``, in the order they are reported.
DIFF_FIELDS = ("period", "value", "target", "comparator", "rag", "complete", "variation", "assurance", "reason")


@dataclass(frozen=True)
class Snapshot:
    """A frozen pack and who froze it, when, for which meeting."""

    snapshot_id: int
    period: str
    meeting_date: date
    frozen_by: str
    frozen_at: str
    data_as_at: str | None
    data_version: int
    pack: PackData

    @property
    def statuses(self) -> list[Status]:
        """The statuses as presented."""
        return self.pack.statuses

    def as_dict(self) -> dict:
        """A JSON-ready summary (without the pack)."""
        return {"snapshot_id": self.snapshot_id, "period": self.period, "meeting_date": self.meeting_date.isoformat(),
                "frozen_by": self.frozen_by, "frozen_at": self.frozen_at, "data_as_at": self.data_as_at,
                "data_version": self.data_version}


def ensure_tables(store: Store) -> None:
    """Create the snapshot tables if they are missing (in one transaction; on PostgreSQL under the lock that
    migrations take, so that processes doing it at once do it once)."""
    have = store.cursor().execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() "
        "AND table_name IN ('snapshots', 'snapshot_items')").fetchone()[0]
    if have == 2:
        return  # reads need not wait for the write lock
    def make(cur: db.Cursor) -> None:
        if not isinstance(store.db, db.Database):  # PostgreSQL: two processes freezing a first pack at once
            from cspdash.pg import MIGRATION_LOCK

            cur.execute("SELECT pg_advisory_xact_lock(?)", [MIGRATION_LOCK])  # make them once
        for stmt in SCHEMA:
            cur.execute(stmt)

    with store.db.lock:
        store.db.write(make)


def freeze(store: Store, period: Period | str | None, meeting_date: date | str, user: str) -> int:
    """Freeze the pack for ``period`` (default: the latest complete quarter) for the meeting on ``meeting_date``.

    Stores exactly what the pack shows now; returns the snapshot id.
    """
    actor = store.actor(user)  # open mode, or an account allowed to freeze
    auth.require(actor, "freeze", what="the meeting pack")
    user = actor.label
    when = parse_meeting_date(meeting_date)
    if when is None:
        raise CspdashError("a snapshot needs the meeting date; give it as 2026-03-12 or 12/03/2026")
    ensure_tables(store)
    with store.db.lock:  # no upload can land between reading the figures and storing them
        pack = build_pack(store, period, when)
        version = store.data_version()
        cur = store.db.writer()  # one connection for the transaction (PostgreSQL: held from the pool)
        now = db.now()
        try:
            with store.db.transaction(cur):
                sid = int(cur.execute("SELECT nextval('snapshot_seq')").fetchone()[0])
                info = SnapshotInfo(sid, user, now.strftime("%d %b %Y %H:%M UTC"))
                frozen = with_snapshot(pack, info, when)
                cur.execute("INSERT INTO snapshots (snapshot_id, period, meeting_date, frozen_by, frozen_at, "
                            "data_as_at, data_version, pack) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            [sid, pack.period, when, user, now, pack.data_as_at, version, frozen.to_json()])
                for k, it in enumerate(pack.items):  # a few dozen rows; a cursor of either engine takes them so
                    cur.execute(
                        "INSERT INTO snapshot_items (snapshot_id, position, indicator, priority, title, value, target, "
                        "comparator, rag, variation, assurance, reason, commentary) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [sid, k, it.indicator, it.priority, it.title, it.status.value, it.status.target,
                         it.status.comparator, it.status.rag, it.status.variation, it.status.assurance,
                         it.status.reason, "\n\n".join(c.text for c in it.commentary) or None])
                db.event(cur, user, "freeze", None,
                         f"snapshot {sid}: {pack.period} for the meeting on {when.isoformat()}", now)
            store.db.checkpoint(cur)
        finally:
            cur.close()
    return sid


def list_snapshots(store: Store) -> list[dict]:
    """Every snapshot, newest first: id, period, meeting date, who froze it and when, data as at, RAG counts."""
    ensure_tables(store)
    rel = store.cursor().execute(
        """SELECT s.snapshot_id, s.period, s.meeting_date, s.frozen_by, s.frozen_at, s.data_as_at, s.data_version,
                  count(i.indicator) AS indicators,
                  count(*) FILTER (WHERE i.rag = 'green') AS green,
                  count(*) FILTER (WHERE i.rag = 'amber') AS amber,
                  count(*) FILTER (WHERE i.rag = 'red') AS red,
                  count(*) FILTER (WHERE i.rag = 'no_data') AS no_data,
                  count(*) FILTER (WHERE i.rag = 'monitor') AS monitor
           FROM snapshots s LEFT JOIN snapshot_items i USING (snapshot_id)
           GROUP BY s.snapshot_id, s.period, s.meeting_date, s.frozen_by, s.frozen_at, s.data_as_at, s.data_version
           ORDER BY s.snapshot_id DESC""")
    cols = [d[0] for d in rel.description]
    out = []
    for row in rel.fetchall():
        d = dict(zip(cols, row, strict=True))
        d["meeting_date"] = d["meeting_date"].isoformat()
        d["frozen_at"] = d["frozen_at"].isoformat(sep=" ", timespec="seconds")
        out.append(d)
    return out


def load(store: Store, snapshot_id: int) -> Snapshot:
    """The snapshot ``snapshot_id`` exactly as frozen."""
    ensure_tables(store)
    row = store.cursor().execute(
        "SELECT snapshot_id, period, meeting_date, frozen_by, frozen_at, data_as_at, data_version, pack "
        "FROM snapshots WHERE snapshot_id = ?", [int(snapshot_id)]).fetchone()
    if row is None:
        known = ", ".join(str(s["snapshot_id"]) for s in list_snapshots(store)) or "none yet"
        raise CspdashError(f"there is no snapshot {snapshot_id} (snapshots: {known}); freeze the pack first")
    sid, period, meeting, by, at, as_at, version, pack_json = row
    pack = PackData.from_json(pack_json)
    return Snapshot(sid, period, meeting, by, at.isoformat(sep=" ", timespec="seconds"), as_at, int(version), pack)


def live_statuses(store: Store, snapshot: Snapshot) -> list[Status]:
    """Today's statuses for the snapshot's quarter (to ``diff`` against it)."""
    return store.statuses(parse_period(snapshot.period, grain="quarter"))


def diff(a: Snapshot | PackData | Sequence[Status], b: Snapshot | PackData | Sequence[Status]) -> list[dict]:
    """What changed from ``a`` to ``b`` (a snapshot, a pack or statuses, e.g. ``live_statuses``).

    One record per changed field: ``indicator, field, before, after``; field ``indicator`` when an indicator is on
    one side only, and ``commentary`` when both sides carry commentary.
    """
    sa, ca = _side(a)
    sb, cb = _side(b)
    order = list(sa) + [i for i in sb if i not in sa]
    out: list[dict] = []
    for ind in order:
        before, after = sa.get(ind), sb.get(ind)
        if before is None or after is None:
            out.append({"indicator": ind, "field": "indicator", "before": "present" if before else None,
                        "after": "present" if after else None})
            continue
        for f in DIFF_FIELDS:
            x, y = getattr(before, f), getattr(after, f)
            if not _same(x, y):
                out.append({"indicator": ind, "field": f, "before": x, "after": y})
        if ca is not None and cb is not None and ca.get(ind, "") != cb.get(ind, ""):
            out.append({"indicator": ind, "field": "commentary", "before": ca.get(ind) or None,
                        "after": cb.get(ind) or None})
    return out


def _side(x: Any) -> tuple[dict[str, Status], dict[str, str] | None]:
    pack = x.pack if isinstance(x, Snapshot) else x if isinstance(x, PackData) else None
    if pack is not None:
        return ({i.indicator: i.status for i in pack.items},
                {i.indicator: "\n\n".join(c.text for c in i.commentary) for i in pack.items})
    return {s.indicator: s for s in x}, None


def _same(x: Any, y: Any) -> bool:
    if isinstance(x, float) and isinstance(y, float):
        return x == y or (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-12)
    return x == y
