"""The tests' own PostgreSQL server (tests/pg_server.py, the ``postgres_server`` fixture): it runs, unprivileged,
takes a --db URL as cspdash reads it (cspdash.dburl), and a row goes in and comes back through psycopg's pool with
bound parameters; without the binaries the fixture fails (never skips) and says to run ``make postgresql``."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from pg_server import UNPRIVILEGED
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from cspdash.dburl import PostgresTarget, parse_db

TESTS = Path(__file__).resolve().parent
HOSTILE = "O'Brien'); DROP TABLE t; --"


@pytest.fixture
def target(postgres_server) -> PostgresTarget:
    """A new, empty database of the session's server, as --db would name it."""
    parsed = parse_db(postgres_server.new_database())
    assert isinstance(parsed, PostgresTarget)
    return parsed


def test_a_row_goes_in_and_comes_back_through_the_pool_with_bound_parameters(target):
    with ConnectionPool(kwargs={**target.connect_args(), "row_factory": dict_row}, min_size=1, max_size=2,
                        open=True) as pool:
        with pool.connection() as con:  # one transaction, committed when the block ends
            con.execute("CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, who text NOT NULL, "
                        "n integer NOT NULL)")
            ids = [con.execute("INSERT INTO t (who, n) VALUES (%s, %s) RETURNING id", (who, n)).fetchone()["id"]
                   for who, n in ((HOSTILE, 3), ("second", 4))]
        with pool.connection() as con:
            rows = con.execute("SELECT id, who, n FROM t WHERE who = %s OR n = %s ORDER BY id", (HOSTILE, 4)).fetchall()
    assert ids == [1, 2]
    assert rows == [{"id": 1, "who": HOSTILE, "n": 3}, {"id": 2, "who": "second", "n": 4}]


def test_a_failed_transaction_leaves_nothing(target):
    with psycopg.connect(**target.connect_args()) as con:
        con.execute("CREATE TABLE t (n integer PRIMARY KEY)")
    with pytest.raises(psycopg.errors.UniqueViolation), psycopg.connect(**target.connect_args()) as con:
        con.execute("INSERT INTO t VALUES (%s)", (1,))
        con.execute("INSERT INTO t VALUES (%s)", (1,))
    with psycopg.connect(**target.connect_args()) as con:
        assert con.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_the_server_wants_the_password(postgres_server, target):
    wrong = {**target.connect_args(), "password": "not-the-password"}
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(**wrong).close()


def test_the_server_runs_unprivileged(postgres_server, target):
    with psycopg.connect(**target.connect_args()) as con:
        pid = con.execute("SELECT pg_backend_pid()").fetchone()[0]
        data = Path(con.execute("SHOW data_directory").fetchone()[0])
        runs_as = os.stat(f"/proc/{pid}").st_uid  # while connected: the backend process ends with its connection
    assert runs_as == (pwd.getpwnam(UNPRIVILEGED).pw_uid if os.geteuid() == 0 else os.geteuid())
    assert runs_as != 0  # PostgreSQL refuses root: as root, the server runs as nobody
    assert data.is_relative_to(postgres_server.folder)


def test_each_test_gets_its_own_database(postgres_server):
    first, second = parse_db(postgres_server.new_database()), parse_db(postgres_server.new_database())
    assert first.dbname != second.dbname
    with psycopg.connect(**first.connect_args()) as con:
        con.execute("CREATE TABLE only_here (n integer)")
    with psycopg.connect(**second.connect_args()) as con:
        assert con.execute("SELECT to_regclass('only_here')").fetchone() == (None,)


def test_without_the_binaries_the_fixture_fails_and_says_make_postgresql(tmp_path):
    (tmp_path / "no_postgres.py").write_text("import pg_server\npg_server.DEBIAN_BINARIES = '/nonexistent/*/bin'\n",
                                            encoding="utf-8")
    (tmp_path / "test_needs_postgres.py").write_text(
        "from conftest import postgres_server  # noqa: F401\n\n\ndef test_it(postgres_server):\n    pass\n",
        encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(TESTS)]), PATH="/usr/bin:/bin")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no_postgres", "-p", "no:cacheprovider",
                           "-p", "no:xdist", "test_needs_postgres.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "1 error" in out and "skipped" not in out
    assert "run `make postgresql`" in out
