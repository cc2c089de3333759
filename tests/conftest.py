"""Shared pytest set-up: make the project root importable when pytest is run as ``.venv/bin/pytest``; the session's
PostgreSQL server (``postgres_server``, tests/pg_server.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


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
