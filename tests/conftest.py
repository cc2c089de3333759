"""Shared pytest set-up: make the project root importable when pytest is run as ``.venv/bin/pytest``; hand the
costliest test files out first when the files run side by side (``make test``: pytest-xdist, ``--dist loadfile``);
the session's PostgreSQL server (``postgres_server``, tests/pg_server.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: The test files that take a worker longest, costliest first (summed ``--durations`` of a serial run on 8 Dec 2026,
#: and of earlier runs for the files it did not reach; docs/performance.md). pytest-xdist hands out whole files in
#: collection order (``--no-loadscope-reorder`` in pyproject.toml; its own order, by number of tests, would leave the
#: browser and PDF files, which have few tests, to the end, where one of them keeps a worker busy for minutes while
#: the other has nothing left to do). Only the order of the run depends on this list: a file missing from it runs
#: after these, browser files (``e2e``) first.
COSTLY_FIRST = (
    "test_e2e_axe.py",
    "test_cli_data.py",
    "test_e2e_meeting.py",
    "test_cli_report.py",
    "test_report.py",
    "test_pages_packs.py",
    "test_bounded_input.py",
    "test_lockout.py",
    "test_e2e_oidc.py",
    "test_auth_store.py",
    "test_e2e_auth.py",
    "test_e2e.py",
    "test_pages.py",
    "test_pages_auth.py",
    "test_fail_closed.py",
    "test_e2e_extract.py",
    "test_e2e_first_visit.py",
    "test_ingest.py",
    "test_reliability_concurrency.py",
    "test_reliability_backup.py",
    "test_reliability_crash.py",
)


def pytest_collection_modifyitems(config, items) -> None:
    """Run the files in COSTLY_FIRST order, then the other files with a browser test (``e2e``), then the rest; each
    file's tests keep their order (the sort is stable and its key is the file's)."""
    rank = {name: k for k, name in enumerate(COSTLY_FIRST)}
    file_rank: dict[Path, int] = {}
    for item in items:
        default = len(rank) + (0 if item.get_closest_marker("e2e") else 1)
        file_rank[item.path] = min(file_rank.get(item.path, default), rank.get(item.path.name, default))
    items.sort(key=lambda item: file_rank[item.path])


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server for this session (tests/pg_server.py): fails, never skips, when it is not installed."""
    from pg_server import PostgresMissing, find_binaries, running_server

    try:
        find_binaries()
    except PostgresMissing as e:
        pytest.fail(str(e), pytrace=False)
    with running_server() as server:
        yield server


@pytest.fixture(params=["duckdb", "postgresql"])
def engine_db(request, tmp_path) -> str:
    """A fresh, empty database location for each engine: a DuckDB file's path (not yet made), or the URL of a new
    database on the session's PostgreSQL server (``postgres_server``), as ``--db`` and ``Store`` take them."""
    if request.param == "duckdb":
        return str(tmp_path / "csp.duckdb")
    return request.getfixturevalue("postgres_server").new_database()
