"""The command-line interface: a thin shell that parses arguments, calls the library and prints its answers.

Errors raised by cspdash are printed once, in words, on stderr, with a non-zero exit code. Each command imports what
it needs when it runs (``--help`` reads no catalogue; ``import`` never loads scipy, altair or streamlit:
tests/test_startup.py), so the process starts in a fraction of a second (docs/performance.md).

The commands live in modules by noun, and this module keeps the table of them (``COMMANDS``) and the boundary
(``main``), re-exporting every public name it had: ``cli_common`` (the parser, paths, store and output every command
shares), ``cli_data`` (catalogue and returns), ``cli_report`` (status, comparisons, the pack, snapshots) and
``cli_admin`` (the database and its accounts).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from cspdash.cli_admin import (  # noqa: F401  (names not used here are re-exported: tests and benchmarks use them)
    cmd_backup,
    cmd_demo,
    cmd_init,
    cmd_restore,
    cmd_user,
    read_password,
)
from cspdash.cli_common import (  # noqa: F401  (re-exported, as above)
    CREATES_DB,
    DEFAULT_CONFIG,
    DEFAULT_DB,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    acting_user,
    build_parser,
    emit,
    load_catalogue,
    open_store,
    resolve_paths,
    table,
)
from cspdash.cli_data import (  # noqa: F401  (re-exported, as above)
    cmd_history,
    cmd_import,
    cmd_indicators,
    cmd_template,
    cmd_validate_config,
    cmd_withdraw,
    indicator_records,
)
from cspdash.cli_report import (
    cmd_compare,
    cmd_freeze,
    cmd_report,
    cmd_snapshot_diff,
    cmd_snapshots,
    cmd_status,
)
from cspdash.errors import ConfigError, CspdashError

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

    from cspdash.dburl import mask
    from cspdash.store import damaged, damaged_error, storage_cause, storage_failure

    folder = Path(mask(db)).resolve().parent  # a PostgreSQL URL's password is never shown
    if isinstance(e, duckdb.Error) and damaged(e):
        return str(damaged_error(Path(db), e))
    if isinstance(e, duckdb.Error) and storage_failure(e):
        return f"the storage failed: {storage_cause(e, folder)}"
    if isinstance(e, OSError):
        return f"the storage failed: {e.strerror or e} ({e.filename or folder})"
    first = (str(e).strip().splitlines() or [""])[0]
    return (f"unexpected {type(e).__name__}: {first} (a fault in cspdash: please report it with the command that "
            "caused it; see SECURITY.md for how)")
