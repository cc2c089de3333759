"""The command-line interface: a thin shell that parses arguments, calls the library and prints its answers.

Errors raised by cspdash are printed once, in words, on stderr, with a non-zero exit code. Each command imports what
it needs when it runs (``--help`` reads no catalogue; ``import`` never loads scipy, altair or streamlit:
tests/test_startup.py), so the process starts in a fraction of a second (docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from cspdash.errors import ConfigError, CspdashError

if TYPE_CHECKING:
    from cspdash.config import Catalogue

DEFAULT_DB = "data/csp.duckdb"
DEFAULT_CONFIG = "indicators.yaml"
EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports a process stopped by SIGINT


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--db", default=default, metavar="PATH",
                        help=f"DuckDB file (default: $CSPDASH_DB or {DEFAULT_DB})")
    parser.add_argument("--config", default=default, metavar="PATH",
                        help=f"indicator catalogue (default: $CSPDASH_CONFIG or {DEFAULT_CONFIG})")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; global options are accepted before or after the command."""
    parser = argparse.ArgumentParser(prog="python -m cspdash", description="cspdash: CSP performance dashboard")
    _global_options(parser, suppress=False)
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, suppress=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    sub.add_parser("validate-config", parents=[common], help="check the catalogue; list every problem")
    p = sub.add_parser("indicators", parents=[common], help="list the catalogue's indicators")
    p.add_argument("--format", choices=("json", "table"), default="table")

    p = sub.add_parser("import", parents=[common], help="validate and store returns or record-level extracts")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--dataset", metavar="NAME", help="the files are record-level extracts of this catalogue dataset")
    p.add_argument("--user", metavar="WHO", help="who is importing (default: $CSPDASH_USER or the login name)")
    p.add_argument("--dry-run", action="store_true", help="validate and preview the changes; store nothing")
    p.add_argument("--synthetic", action="store_true",
                   help="record the upload as synthetic (invented figures): every figure it holds is labelled so")
    p.add_argument("--format", choices=("json", "table"), default="table")

    p = sub.add_parser("status", parents=[common], help="RAG status of every indicator for a quarter")
    p.add_argument("--period", metavar="P", help="the quarter, e.g. 2017/18 Q3 (default: the latest largely complete quarter)")
    p.add_argument("--priority", metavar="X", help="only this priority")
    p.add_argument("--rollup", action="store_true", help="one record per priority")
    p.add_argument("--format", choices=("json", "csv", "table"), default="table")

    p = sub.add_parser("history", parents=[common], help="uploads, restatements and withdrawals")
    p.add_argument("--indicator", metavar="ID")
    p.add_argument("--format", choices=("json", "table"), default="table")

    p = sub.add_parser("withdraw", parents=[common], help="withdraw an upload (its figures stop counting)")
    p.add_argument("upload_id", type=int, metavar="UPLOAD_ID")
    p.add_argument("--user", metavar="WHO")
    p.add_argument("--reason", default="", metavar="TEXT")

    p = sub.add_parser("template", parents=[common], help="write a subgroup's return template (CSV or XLSX)")
    p.add_argument("--subgroup", required=True, metavar="ID")
    p.add_argument("--out", required=True, metavar="FILE")
    p.add_argument("--period", metavar="P", help="the quarter to pre-fill (default: the last ended quarter)")

    p = sub.add_parser("backup", parents=[common], help="write a consistent copy of the database")
    p.add_argument("--out", required=True, metavar="FILE")
    p = sub.add_parser("restore", parents=[common], help="replace the database with a backup (the old file is kept)")
    p.add_argument("file", metavar="FILE")
    p = sub.add_parser("report", parents=[common], help="write the meeting pack (.pdf) or scorecard (.xlsx)")
    p.add_argument("--period", metavar="P", help="the quarter (default: the latest largely complete quarter)")
    p.add_argument("--out", required=True, metavar="FILE", help="pack.pdf or scorecard.xlsx (chosen by extension)")
    p.add_argument("--meeting-date", metavar="DATE", help="the meeting date for the cover, e.g. 2026-03-12")
    p.add_argument("--snapshot", type=int, metavar="ID", help="render a frozen snapshot instead of today's figures")

    p = sub.add_parser("freeze", parents=[common], help="freeze the pack as presented to a meeting (a snapshot)")
    p.add_argument("--meeting-date", required=True, metavar="DATE")
    p.add_argument("--period", metavar="P", help="the quarter (default: the latest largely complete quarter)")
    p.add_argument("--user", metavar="WHO")

    p = sub.add_parser("snapshots", parents=[common], help="list frozen snapshots")
    p.add_argument("--format", choices=("json", "table"), default="table")

    p = sub.add_parser("snapshot-diff", parents=[common],
                       help="what changed between a snapshot and today, or between two snapshots")
    p.add_argument("snapshot", type=int, metavar="ID")
    p.add_argument("--against", type=int, metavar="ID2", help="another snapshot (default: today's figures)")
    p.add_argument("--format", choices=("json", "table"), default="table")

    p = sub.add_parser("user", parents=[common], help="manage accounts (whoever runs this has the server's files)")
    usub = p.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    u = usub.add_parser("add", parents=[common], help="create an account")
    u.add_argument("email", metavar="EMAIL")
    u.add_argument("--role", required=True, choices=("admin", "chair", "viewer", "meeting"))
    u.add_argument("--subgroup", action="append", default=[], metavar="ID", help="a chair's subgroup (repeatable)")
    pw = u.add_mutually_exclusive_group()
    pw.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    pw.add_argument("--no-password", action="store_true",
                    help="no local password: the account signs in through the identity provider (OIDC)")
    u = usub.add_parser("list", parents=[common], help="list accounts")
    u.add_argument("--format", choices=("json", "table"), default="table")
    u = usub.add_parser("disable", parents=[common], help="disable an account")
    u.add_argument("email", metavar="EMAIL")
    u = usub.add_parser("enable", parents=[common], help="re-enable a disabled account")
    u.add_argument("email", metavar="EMAIL")
    u = usub.add_parser("unlock", parents=[common], help="clear an account's failed sign-ins (ends a lock-out)")
    u.add_argument("email", metavar="EMAIL")
    u = usub.add_parser("set-password", parents=[common], help="set an account's password (also ends a lock-out)")
    u.add_argument("email", metavar="EMAIL")
    u.add_argument("--password-stdin", action="store_true", help="read the password from standard input")

    p = sub.add_parser("compare", parents=[common],
                       help="an indicator's rate per resident in every area against the benchmark (docs/compare.md)")
    p.add_argument("indicator", metavar="ID")
    p.add_argument("--period", metavar="P", help="the quarter (default: the latest largely complete quarter)")
    p.add_argument("--format", choices=("json", "table"), default="table")

    sub.add_parser("init", parents=[common], help="create an empty database with the schema (no data, no accounts)")

    p = sub.add_parser("demo", parents=[common], help="load the demo data (real London data + labelled synthetic)")
    p.add_argument("--if-empty", action="store_true", help="only when the database has no uploads yet")
    return parser


def resolve_paths(args: argparse.Namespace) -> tuple[str, str]:
    """(db, config) from the options, then the environment, then the defaults."""
    db = getattr(args, "db", None) or os.environ.get("CSPDASH_DB") or DEFAULT_DB
    config = getattr(args, "config", None) or os.environ.get("CSPDASH_CONFIG") or DEFAULT_CONFIG
    return db, config


def load_catalogue(path: str) -> Catalogue:
    """``cspdash.config.load_catalogue``, imported once a command needs the catalogue (YAML and DuckDB with it)."""
    from cspdash import config

    return config.load_catalogue(path)


def cmd_validate_config(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    _, config = resolve_paths(args)
    cat = load_catalogue(config)
    out(f"{config}: OK - {len(cat.priorities)} priorities, {len(cat.subgroups)} subgroups, "
        f"{len(cat.indicators)} indicators, {len(cat.datasets)} datasets")
    return EXIT_OK


def indicator_records(cat: Catalogue) -> list[dict[str, Any]]:
    """One record per indicator, as ``indicators --format json`` prints them."""
    return [
        {"id": i.id, "priority": i.priority, "title": i.title, "direction": i.direction, "frequency": i.frequency,
         "unit": i.unit, "owner": i.owner, "owner_name": cat.subgroup(i.owner).name, "target_type": i.target.type,
         "target_value": i.target.value, "tolerance": i.target.tolerance, "baseline": i.target.baseline,
         "paired_with": i.paired_with, "small_numbers": i.small_numbers, "rationale": i.rationale,
         "definition": i.definition, "dataset": i.measure.dataset if i.measure else None,
         "target_source": i.target.source or None,
         "target_agreed": ({"by": i.target.agreed_by or None,
                            "date": i.target.agreed_on.isoformat() if i.target.agreed_on else None}
                           if i.target.agreed_by or i.target.agreed_on else None),
         "baseline_figures": {p.label: v for p, v in i.target.baseline_figures} or None}
        for i in cat.indicators
    ]


def cmd_indicators(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    _, config = resolve_paths(args)
    records = indicator_records(load_catalogue(config))
    if args.format == "json":
        out(json.dumps(records, indent=2))
    else:
        out(table(records, ["id", "priority", "owner", "direction", "frequency", "unit", "target_type", "title"]))
    return EXIT_OK


def table(records: Sequence[dict[str, Any]], columns: Sequence[str], width: int = 60) -> str:
    """Plain fixed-width text table; long cells are cut to ``width`` characters."""
    def cell(v: Any) -> str:
        s = "" if v is None else str(v)
        return s if len(s) <= width else s[: width - 1] + "…"

    rows = [[cell(r.get(c)) for c in columns] for r in records]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


#: The commands that may make a new database; every other command refuses a missing one (``store.require_database``).
CREATES_DB = ("init", "demo")


def open_store(args: argparse.Namespace):
    """The catalogue and the store named by the options; only ``init`` and ``demo`` make a missing database."""
    from cspdash.dburl import duckdb_path
    from cspdash.store import Store, require_database

    db, config = resolve_paths(args)
    db = duckdb_path(db)  # a URL other than a path is refused before anything is opened or created
    cat = load_catalogue(config)
    if args.command not in CREATES_DB:
        require_database(db)
    return Store(db, cat)


def read_password(args: argparse.Namespace) -> str:
    """A new password from standard input (--password-stdin) or typed twice at a prompt; never echoed or logged."""
    import getpass

    if getattr(args, "password_stdin", False):
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CspdashError("no terminal to ask for the password: pipe it in with --password-stdin")
    first = getpass.getpass("New password: ")
    if first != getpass.getpass("Repeat it: "):
        raise CspdashError("the two passwords differ; nothing was changed")
    return first


def cmd_user(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    by = f"{os.environ.get('CSPDASH_USER') or 'cli'} (cli)"
    store = open_store(args)
    try:
        if args.user_command == "add":
            password = None if args.no_password else read_password(args)
            u = store.add_user(args.email, args.role, args.subgroup, password, by)
            out(f"added {u.email} as {u.role}{' of ' + ', '.join(u.subgroups) if u.subgroups else ''}")
        elif args.user_command == "list":
            emit(store.list_users(), ["email", "role", "subgroups", "disabled", "local_password", "last_signin_at"],
                 args.format, out)
        elif args.user_command == "disable":
            store.disable_user(args.email, by)
            out(f"disabled {args.email}")
        elif args.user_command == "enable":
            store.enable_user(args.email, by)
            out(f"re-enabled {args.email}")
        elif args.user_command == "unlock":
            store.unlock_user(args.email, by)
            out(f"unlocked {args.email}")
        else:
            store.set_password(args.email, read_password(args), by)
            out(f"password set for {args.email}")
    finally:
        store.close()
    return EXIT_OK


def acting_user(args: argparse.Namespace, store) -> str | None:
    """Who runs the command: --user, then $CSPDASH_USER; before any account exists, the login name will do."""
    import getpass

    given = getattr(args, "user", None) or os.environ.get("CSPDASH_USER")
    if given or store.has_accounts():
        return given
    return f"{getpass.getuser()} (cli)"


def cmd_import(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    from cspdash.ingest import ValidationError
    from cspdash.store import source_files

    store = open_store(args)
    try:
        result = store.import_files(source_files(args.files), acting_user(args, store), args.dataset, args.dry_run,
                                    synthetic=args.synthetic)
    except ValidationError as e:
        print(f"import refused: {e}", file=sys.stderr)
        return EXIT_PROBLEMS
    finally:
        store.close()
    if args.format == "json":
        out(json.dumps(result.as_dict(), indent=2, default=str))
        return EXIT_OK
    verb = "would import" if result.dry_run else "imported"
    for u in result.uploads:
        if u.get("duplicate_of"):
            out(f"{u['file_name']}: identical to upload {u['duplicate_of']}; nothing changed")
        else:
            ident = f" as upload {u['upload_id']}" if u["upload_id"] else ""
            ident += " (marked synthetic)" if u.get("synthetic") else ""
            inside = f", {u['rows_in_area']} in {store.cat.area}" if "rows_in_area" in u else ""
            out(f"{u['file_name']}: {verb} {u['rows']} rows{inside}{ident} (sha256 {u['sha256'][:12]}...)")
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if result.changes:
        out(table([c.as_dict() for c in result.changes],
                  ["indicator", "period", "old_value", "new_value", "old_rag", "new_rag"]))
    if result.other_area_figures:
        out(f"plus {result.other_area_figures} figures for other areas (comparators)")
    if result.dry_run:
        out("dry run: nothing was stored")
    return EXIT_OK


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


def emit(records: list[dict[str, Any]], cols: list[str], fmt: str, out: Callable[[str], None]) -> None:
    """Print records as JSON (all fields), CSV or a table (``cols``)."""
    if fmt == "json":
        out(json.dumps(records, indent=2, default=str))
    elif fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(records)
        out(buf.getvalue().rstrip("\n"))
    else:
        out(table(records, cols, width=90))


def cmd_history(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    store = open_store(args)
    try:
        if args.indicator and not store.cat.has_indicator(args.indicator):
            raise CspdashError(f"unknown indicator {args.indicator!r}; see `indicators` for the ids")
        records = store.history(args.indicator)
    finally:
        store.close()
    emit(records, ["upload_id", "kind", "file_name", "user", "uploaded_at", "rows", "state", "sha256"],
         args.format, out)
    return EXIT_OK


def cmd_withdraw(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    store = open_store(args)
    try:
        h = store.withdraw(args.upload_id, acting_user(args, store), args.reason)
    finally:
        store.close()
    out(f"upload {h['upload_id']} ({h['file_name']}) withdrawn by {h['withdrawn_by']}; its figures no longer count")
    return EXIT_OK


def cmd_template(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    from cspdash.templates import write_template

    _, config = resolve_paths(args)
    cat = load_catalogue(config)
    path = write_template(cat, args.subgroup, args.out, args.period)
    out(f"wrote {path}")
    return EXIT_OK


def cmd_backup(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    store = open_store(args)
    try:
        path = store.backup(args.out)
    finally:
        store.close()
    out(f"backup written to {path}")
    return EXIT_OK


def cmd_restore(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    from cspdash.backups import restore
    from cspdash.dburl import duckdb_path

    db, config = resolve_paths(args)
    db = duckdb_path(db)
    kept = restore(args.file, db, load_catalogue(config))
    out(f"restored {args.file} to {db}" + (f"; the previous database is kept as {kept}" if kept else ""))
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


def cmd_init(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    from cspdash.dburl import duckdb_path

    db = duckdb_path(resolve_paths(args)[0])
    if db != ":memory:" and os.path.exists(db):
        raise CspdashError(f"{db} already exists; init only makes a new, empty database (nothing was changed)")
    open_store(args).close()
    out(f"created an empty database at {db}; add the first admin with "
        f"`python -m cspdash --db {db} user add EMAIL --role admin`")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    from cspdash.demo import load_demo

    store = open_store(args)
    try:
        if args.if_empty and not store.is_empty():
            out(f"{store.path} already has data; demo not loaded")
            return EXIT_OK
        for line in load_demo(store):
            out(line)
    finally:
        store.close()
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace, Callable[[str], None]], int]] = {
    "validate-config": cmd_validate_config,
    "indicators": cmd_indicators,
    "import": cmd_import,
    "status": cmd_status,
    "history": cmd_history,
    "withdraw": cmd_withdraw,
    "template": cmd_template,
    "backup": cmd_backup,
    "restore": cmd_restore,
    "init": cmd_init,
    "demo": cmd_demo,
    "user": cmd_user,
    "report": cmd_report,
    "freeze": cmd_freeze,
    "snapshots": cmd_snapshots,
    "snapshot-diff": cmd_snapshot_diff,
    "compare": cmd_compare,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code. Every error ends here as one message on stderr, never a traceback."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args, print)
    except ConfigError as e:
        print(str(e), file=sys.stderr)
        return EXIT_PROBLEMS
    except CspdashError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_PROBLEMS
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:  # the boundary: a failure nobody foresaw is still one line in words
        print(f"error: {unexpected(e, resolve_paths(args)[0])}", file=sys.stderr)
        return EXIT_PROBLEMS


def unexpected(e: Exception, db: str) -> str:
    """An exception cspdash did not raise on purpose, in one line: the disk or database file's failure in words
    (``store.storage_cause``), anything else by its type and first line, with where to report it."""
    from pathlib import Path

    import duckdb

    from cspdash.store import damaged, damaged_error, storage_cause, storage_failure

    folder = Path(db).resolve().parent
    if isinstance(e, duckdb.Error) and damaged(e):
        return str(damaged_error(Path(db), e))
    if isinstance(e, duckdb.Error) and storage_failure(e):
        return f"the storage failed: {storage_cause(e, folder)}"
    if isinstance(e, OSError):
        return f"the storage failed: {e.strerror or e} ({e.filename or folder})"
    first = (str(e).strip().splitlines() or [""])[0]
    return (f"unexpected {type(e).__name__}: {first} (a fault in cspdash: please report it with the command that "
            "caused it; see SECURITY.md for how)")
