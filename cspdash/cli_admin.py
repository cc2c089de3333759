"""The commands that look after the database and its accounts: ``init``, ``demo``, ``backup``, ``restore`` and
``user``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from cspdash.cli_common import (
    EXIT_OK,
    emit,
    load_catalogue,
    open_store,
    resolve_paths,
)
from cspdash.errors import CspdashError


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


def cmd_backup(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    store = open_store(args)  # a DuckDB file, or PostgreSQL with $CSPDASH_EXTRACTS (Store.backup, docs/scaling.md)
    try:
        path = store.backup(args.out)
    finally:
        store.close()
    out(f"backup written to {path}")
    return EXIT_OK


def cmd_restore(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    from cspdash.dburl import PostgresTarget, parse_db

    db, config = resolve_paths(args)
    target = parse_db(db)
    cat = load_catalogue(config)
    if isinstance(target, PostgresTarget):
        from cspdash.backups_pg import extracts_folder, restore_pg
        from cspdash.pg import PostgresDatabase

        database = PostgresDatabase(target)
        try:
            schema = restore_pg(args.file, database, extracts_folder(), cat)
        finally:
            database.close()
        out(f"restored {args.file} to {target.masked()}" + (
            f"; the previous tables are kept in the schema {schema} (DROP SCHEMA {schema} CASCADE when no longer "
            "needed)" if schema else ""))
        return EXIT_OK
    from cspdash.backups import restore

    kept = restore(args.file, target.path, cat)
    out(f"restored {args.file} to {target.path}" + (f"; the previous database is kept as {kept}" if kept else ""))
    return EXIT_OK


def cmd_init(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    from cspdash.dburl import PostgresTarget, parse_db

    target = parse_db(resolve_paths(args)[0])
    if isinstance(target, PostgresTarget):  # the database is made by its server's administrator; init makes the tables
        from cspdash.pg import has_schema

        if has_schema(target):
            raise CspdashError(f"{target.masked()} already holds a cspdash database; init only makes a new, empty "
                               "one (nothing was changed)")
        db, opt = target.masked(), "URL"
    else:
        db = opt = target.path
        if db != ":memory:" and os.path.exists(db):
            raise CspdashError(f"{db} already exists; init only makes a new, empty database (nothing was changed)")
    open_store(args).close()
    out(f"created an empty database at {db}; add the first admin with "
        f"`python -m cspdash --db {opt} user add EMAIL --role admin`")
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
