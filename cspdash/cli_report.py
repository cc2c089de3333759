"""The commands that report: ``status``, ``compare``, ``report`` (the meeting pack) and the snapshots (``freeze``,
``snapshots``, ``snapshot-diff``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from cspdash.cli_common import (
    EXIT_OK,
    acting_user,
    emit,
    open_store,
    table,
)
from cspdash.errors import CspdashError


def cmd_status(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    from cspdash.periods import parse_period

    store = open_store(args)
    try:
        period = parse_period(args.period, grain="quarter") if args.period else store.latest_complete_quarter()
        if period is None:
            raise CspdashError("the database has no figures yet; import a return first (or run `demo`)")
        statuses = store.statuses(period)
        if args.priority:
            if args.priority not in {p.id for p in store.cat.priorities}:
                raise CspdashError(f"no priority {args.priority!r}; expected one of "
                                   f"{'|'.join(p.id for p in store.cat.priorities)}")
            statuses = [s for s in statuses if s.priority == args.priority]
        if args.rollup:
            records = [dict(r.as_dict(), period=period.label) for r in store.rollups(statuses)
                       if not args.priority or r.priority == args.priority]
            cols = ["priority", "period", "overall", "green", "amber", "red", "no_data", "monitor", "reason"]
        else:
            records = [s.as_dict() for s in statuses]
            cols = ["indicator", "priority", "period", "value", "lower", "upper", "target", "comparator", "rag",
                    "amber_reason", "complete", "variation", "assurance", "reason"]
    finally:
        store.close()
    emit(records, cols, args.format, out)
    return EXIT_OK


def cmd_report(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    from cspdash import report, snapshots
    from cspdash.periods import parse_period

    store = open_store(args)
    try:
        if args.snapshot is not None and args.period:
            raise CspdashError("give --period or --snapshot, not both: a snapshot has its own quarter")
        source = (snapshots.load(store, args.snapshot) if args.snapshot is not None
                  else parse_period(args.period, grain="quarter") if args.period else None)
        path = report.write_pack(store, args.out, source, args.meeting_date)
    finally:
        store.close()
    out(f"wrote {path}")
    return EXIT_OK


def cmd_freeze(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    from cspdash import snapshots
    from cspdash.periods import parse_period

    store = open_store(args)
    try:
        period = parse_period(args.period, grain="quarter") if args.period else None
        sid = snapshots.freeze(store, period, args.meeting_date, acting_user(args, store))
        snap = snapshots.load(store, sid)
    finally:
        store.close()
    out(f"froze snapshot {sid}: {snap.period} for the meeting on {snap.meeting_date}")
    return EXIT_OK


def cmd_snapshots(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    from cspdash import snapshots

    store = open_store(args)
    try:
        records = snapshots.list_snapshots(store)
    finally:
        store.close()
    emit(records, ["snapshot_id", "period", "meeting_date", "frozen_by", "frozen_at", "green", "amber", "red",
                   "no_data", "monitor"], args.format, out)
    return EXIT_OK


def cmd_snapshot_diff(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    from cspdash import snapshots

    store = open_store(args)
    try:
        a = snapshots.load(store, args.snapshot)
        b = snapshots.load(store, args.against) if args.against is not None else snapshots.live_statuses(store, a)
        records = snapshots.diff(a, b)
    finally:
        store.close()
    if args.format == "table" and not records:
        out("no changes")
    else:
        emit(records, ["indicator", "field", "before", "after"], args.format, out)
    return EXIT_OK


def cmd_compare(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    """JSON: the array of compared areas on stdout, the note of areas left out on stderr. Table: both on stdout."""
    from cspdash.compare import compare_areas, rate_text, sentence
    from cspdash.periods import parse_period

    store = open_store(args)
    try:
        period = parse_period(args.period, grain="quarter") if args.period else store.latest_complete_quarter()
        if period is None:
            raise CspdashError("the database has no figures yet; import a return first (or run `demo`)")
        c = compare_areas(store, args.indicator, period)
    finally:
        store.close()
    if args.format == "json":
        out(json.dumps(c.records(), indent=2))
        if c.note:
            print(f"note: {c.note}", file=sys.stderr)
        return EXIT_OK
    records = [{"area": r.area + (" (this partnership)" if r.own else " (similar)" if r.similar else ""),
                "value": f"{r.value:,.0f}", "population": f"{r.population:,.0f}", "rate": rate_text(r.rate),
                "95% interval": f"{rate_text(r.lower)} to {rate_text(r.upper)}", "comparison": r.comparison}
               for r in c.rows]
    out(f"{args.indicator} {c.period}: rate per {c.per:,.0f} residents ({c.age_group.replace('_', ' ')}, "
        f"mid-{c.year}); benchmark {rate_text(c.benchmark)}"
        + (f"; most-similar group {rate_text(c.similar_rate)}" if c.similar_rate is not None else ""))
    out(table(records, ["area", "value", "population", "rate", "95% interval", "comparison"], width=60))
    out(sentence(c))
    if c.note:
        out(f"note: {c.note}")
    return EXIT_OK
