"""What every command of the command line shares: the argument parser, the paths from options and environment, the
catalogue and the store they name, who is acting, and the output as JSON, CSV or a table.

Nothing heavy at module level: each command imports what it needs when it runs (tests/test_startup.py).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cspdash.config import Catalogue


DEFAULT_DB = "data/csp.duckdb"
DEFAULT_CONFIG = "indicators.yaml"
EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports a process stopped by SIGINT


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--db", default=default, metavar="PATH",
                        help=f"DuckDB file, or postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME (default: $CSPDASH_DB "
                        f"or {DEFAULT_DB})")
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
    """The store named by the options (a DuckDB file or a PostgreSQL database) with the catalogue; only ``init`` and
    ``demo`` make a missing database (PostgreSQL: its tables, in a database that exists)."""
    from cspdash.dburl import parse_db
    from cspdash.store import Store, require_database

    db, config = resolve_paths(args)
    target = parse_db(db)  # any other URL is refused before anything is opened or created
    cat = load_catalogue(config)
    if args.command not in CREATES_DB:
        require_database(target)
    return Store(target, cat)


def acting_user(args: argparse.Namespace, store) -> str | None:
    """Who runs the command: --user, then $CSPDASH_USER; before any account exists, the login name will do."""
    import getpass

    given = getattr(args, "user", None) or os.environ.get("CSPDASH_USER")
    if given or store.has_accounts():
        return given
    return f"{getpass.getuser()} (cli)"


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
