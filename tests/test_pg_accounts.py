"""The engine seam (``db.Engine``): the migrations and the accounts module on both engines, DuckDB (a real file) and
PostgreSQL (the tests' own server, tests/pg_server.py); and on PostgreSQL the sign-in counter counted atomically by
several processes at once, which DuckDB (one process per file) cannot be asked to do."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from cspdash import auth, db
from cspdash.accounts import Accounts
from cspdash.auth import PermissionDenied, SignInError, User
from cspdash.config import load_catalogue
from cspdash.dburl import PostgresTarget, parse_db
from cspdash.errors import CspdashError
from cspdash.pg import PostgresDatabase, ddl, translate

ROOT = Path(__file__).resolve().parents[1]
CAT = load_catalogue(ROOT / "indicators.yaml")
PASSWORD = "correct horse battery staple"
WRONG = "not the right passphrase"


@pytest.mark.parametrize(("duckdb_sql", "psycopg_sql"), [
    ("SELECT 1", "SELECT 1"),
    ("SELECT * FROM users WHERE email = ?", "SELECT * FROM users WHERE email = %s"),
    ("INSERT INTO t VALUES (?, ?, ?)", "INSERT INTO t VALUES (%s, %s, %s)"),
    ("UPDATE users SET n = CASE WHEN n >= $max THEN 1 END WHERE email = $email",
     "UPDATE users SET n = CASE WHEN n >= %(max)s THEN 1 END WHERE email = %(email)s"),
    ("SELECT count(*) FROM users WHERE role = 'admin?' AND email = ?",
     "SELECT count(*) FROM users WHERE role = 'admin?' AND email = %s"),  # a ? in a string is no placeholder
    ("SELECT 'it''s ? $x' || ?", "SELECT 'it''s ? $x' || %s"),
    ("SELECT \"odd?name\" FROM t WHERE a = ?", "SELECT \"odd?name\" FROM t WHERE a = %s"),
    ("SELECT a % 2, '50%' FROM t WHERE b = ?", "SELECT a %% 2, '50%%' FROM t WHERE b = %s"),
    ("SELECT a -- who's asking?\nFROM t WHERE b = ?", "SELECT a -- who's asking?\nFROM t WHERE b = %s"),
])
def test_translate(duckdb_sql, psycopg_sql):
    assert translate(duckdb_sql) == psycopg_sql


@pytest.mark.parametrize(("duckdb_ddl", "postgres_ddl"), [
    ("subgroups VARCHAR[] NOT NULL", "subgroups TEXT[] NOT NULL"),
    ("content BLOB,", "content BYTEA,"),
    ("value DOUBLE,\n numerator DOUBLE", "value DOUBLE PRECISION,\n numerator DOUBLE PRECISION"),
    ("value DOUBLE PRECISION", "value DOUBLE PRECISION"),
    ("email VARCHAR PRIMARY KEY", "email VARCHAR PRIMARY KEY"),
    ("size_bytes BIGINT NOT NULL", "size_bytes BIGINT NOT NULL"),
])
def test_ddl(duckdb_ddl, postgres_ddl):
    assert ddl(duckdb_ddl) == postgres_ddl


@pytest.fixture
def pg_target(postgres_server) -> PostgresTarget:
    target = parse_db(postgres_server.new_database())
    assert isinstance(target, PostgresTarget)
    return target


@pytest.fixture(params=["duckdb", "postgresql"])
def engine(request, tmp_path):
    """An opened, migrated engine of each kind on a new database."""
    if request.param == "duckdb":
        e = db.Database(tmp_path / "csp.duckdb")
    else:
        e = PostgresDatabase(request.getfixturevalue("pg_target"))
    e.open(CAT)
    yield e
    e.close()


@pytest.fixture
def accounts(engine) -> Accounts:
    a = Accounts(engine, CAT)
    a.add_user("admin@example.org", "admin", password=PASSWORD)
    a.add_user("Chair-A@Example.org", "chair", ["asb"], password=PASSWORD)
    return a


def test_the_migrations_make_every_table_once(engine):
    cur = engine.cursor()
    assert [r[0] for r in cur.execute("SELECT version FROM schema_version ORDER BY version").fetchall()] == \
        list(range(1, db.SCHEMA_VERSION + 1))
    engine.open(CAT)  # again: nothing to apply
    assert cur.execute("SELECT count(*) FROM schema_version").fetchone()[0] == db.SCHEMA_VERSION
    for table in ("uploads", "observations", "commentary", "events", "users"):
        assert cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
    assert [cur.execute("SELECT nextval('upload_seq')").fetchone()[0] for _ in range(2)] == [1, 2]


def test_accounts_are_stored_and_read_back(accounts, engine):
    assert accounts.has_accounts()
    assert accounts.user("chair-a@example.org") == User("chair-a@example.org", "chair", ("asb",), False)
    assert accounts.user("ADMIN@example.org") == User("admin@example.org", "admin", (), False)
    assert accounts.user("nobody@example.org") is None
    listed = accounts.list_users()
    assert [(u["email"], u["role"], list(u["subgroups"]), u["local_password"], u["locked"]) for u in listed] == [
        ("admin@example.org", "admin", [], True, False), ("chair-a@example.org", "chair", ["asb"], True, False)]
    assert datetime.fromisoformat(listed[0]["created_at"]) <= db.now()  # ISO text, as on either engine
    with pytest.raises(CspdashError, match="already has an account"):
        accounts.add_user("chair-a@example.org", "viewer")
    events = engine.cursor().execute("SELECT action, detail FROM events ORDER BY event_id").fetchall()
    assert [tuple(e) for e in events] == [("user add", "admin@example.org as admin"),
                                          ("user add", "chair-a@example.org as chair of asb")]
    assert engine.data_version() == 0  # account changes do not empty the app's caches


def test_disable_enable_and_the_last_admin(accounts):
    accounts.disable_user("chair-a@example.org")
    assert accounts.user("chair-a@example.org").disabled
    with pytest.raises(SignInError):
        accounts.sign_in("chair-a@example.org", PASSWORD)
    accounts.enable_user("chair-a@example.org")
    assert accounts.sign_in("chair-a@example.org", PASSWORD).email == "chair-a@example.org"
    with pytest.raises(CspdashError, match="last enabled admin"):
        accounts.disable_user("admin@example.org")
    with pytest.raises(PermissionDenied):
        accounts.add_user("x@example.org", "viewer", by=User("chair-a@example.org", "chair", ("asb",)))


def test_sign_in_locks_out_after_the_failures_and_unlock_ends_it(accounts, engine):
    user = accounts.sign_in("admin@example.org", PASSWORD)
    assert user.role == "admin"
    for _ in range(auth.MAX_FAILED_SIGNINS):
        with pytest.raises(SignInError, match="not recognised"):
            accounts.sign_in("admin@example.org", WRONG)
    with pytest.raises(SignInError, match="too many failed sign-ins"):
        accounts.sign_in("admin@example.org", PASSWORD)  # the right password, but locked out
    assert [u["locked"] for u in accounts.list_users() if u["email"] == "admin@example.org"] == [True]
    accounts.unlock_user("admin@example.org")
    assert accounts.sign_in("admin@example.org", PASSWORD).email == "admin@example.org"
    row = engine.cursor().execute("SELECT failed_signins, last_failed_at, last_signin_at FROM users WHERE email = ?",
                                  ["admin@example.org"]).fetchone()
    assert row[0] == 0 and row[1] is None and isinstance(row[2], datetime)


def test_set_password(accounts):
    accounts.set_password("chair-a@example.org", "a brand new passphrase")
    with pytest.raises(SignInError):
        accounts.sign_in("chair-a@example.org", PASSWORD)
    assert accounts.sign_in("chair-a@example.org", "a brand new passphrase").role == "chair"


def test_a_failed_write_stores_nothing(engine):
    def half(cur):
        cur.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", [1, db.now(), "x", "upload", None, "first"])
        cur.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", [1, db.now(), "x", "upload", None, "same id"])

    with pytest.raises(Exception, match=r"(?i)primary key|unique|duplicate"):
        engine.write(half)
    assert engine.cursor().execute("SELECT count(*) FROM events").fetchone()[0] == 0
    assert engine.data_version() == 0


# --- PostgreSQL only: several processes on one database ---------------------------------------------------------------

#: One process's share of the race: N wrong sign-ins on one account, through its own pool.
WORKER = """
import os, sys
from pathlib import Path
from cspdash.accounts import Accounts
from cspdash.auth import SignInError
from cspdash.config import load_catalogue
from cspdash.dburl import parse_db
from cspdash.pg import PostgresDatabase
e = PostgresDatabase(parse_db(os.environ["CSPDASH_DB"]))
e.open(load_catalogue(Path(sys.argv[1])))
a = Accounts(e, load_catalogue(Path(sys.argv[1])))
sys.stdin.readline()  # every process starts counting together
for _ in range(int(sys.argv[2])):
    try:
        a.sign_in("admin@example.org", "wrong")
    except SignInError:
        pass
e.close()
"""


def test_the_sign_in_counter_is_atomic_across_processes(pg_target, postgres_server):
    url = postgres_server.url(pg_target.dbname)
    first = PostgresDatabase(pg_target)
    first.open(CAT)
    Accounts(first, CAT).add_user("admin@example.org", "admin", password=PASSWORD)
    processes, each = 4, 12
    env = dict(os.environ, CSPDASH_DB=url, PYTHONPATH=str(ROOT))
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(ROOT / "indicators.yaml"), str(each)], env=env,
                                stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(processes)]
    for w in workers:
        w.stdin.write("go\n")
        w.stdin.flush()
    for w in workers:
        _, err = w.communicate(timeout=120)
        assert w.returncode == 0, err
    cur = first.cursor()
    assert cur.execute("SELECT failed_signins FROM users WHERE email = ?", ["admin@example.org"]).fetchone()[0] == \
        processes * each  # no increment lost
    checked = cur.execute("SELECT count(*) FROM events WHERE action = 'sign-in failed'").fetchone()[0]
    assert checked == auth.MAX_FAILED_SIGNINS  # only the first five attempts of all the processes had a password check
    first.close()


def test_two_processes_opening_a_new_database_at_once_migrate_it_once(pg_target, postgres_server):
    url = postgres_server.url(pg_target.dbname)
    code = ("import os; from pathlib import Path; from cspdash.config import load_catalogue; "
            "from cspdash.dburl import parse_db; from cspdash.pg import PostgresDatabase; "
            "e = PostgresDatabase(parse_db(os.environ['CSPDASH_DB'])); "
            f"e.open(load_catalogue(Path({str(ROOT / 'indicators.yaml')!r}))); e.close()")
    env = dict(os.environ, CSPDASH_DB=url, PYTHONPATH=str(ROOT))
    runs = [subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE, text=True)
            for _ in range(3)]
    for r in runs:
        _, err = r.communicate(timeout=120)
        assert r.returncode == 0, err
    e = PostgresDatabase(pg_target)
    assert [r[0] for r in e.cursor().execute("SELECT version FROM schema_version ORDER BY 1").fetchall()] == \
        list(range(1, db.SCHEMA_VERSION + 1))
    e.close()


def test_a_refused_connection_is_said_in_words_without_the_password(postgres_server, pg_target):
    wrong = PostgresTarget(pg_target.user, pg_target.host, pg_target.port, pg_target.dbname, "wrong-Secret-77")
    with pytest.raises(CspdashError) as e:
        PostgresDatabase(wrong)
    assert "cannot connect to the database postgresql://csp_test:***@127.0.0.1:" in str(e.value)
    assert "password authentication failed" in str(e.value)
    assert "wrong-Secret-77" not in str(e.value)
