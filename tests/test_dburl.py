"""What --db / $CSPDASH_DB names (cspdash.dburl): a path is a DuckDB file, a PostgreSQL URL is parsed (its password
never shown), any other URL is refused; every command and the app open a PostgreSQL URL, and refuse one they cannot
reach in words (the URL masked), creating nothing (no DuckDB file at ``postgresql:/...``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cspdash.cli import main
from cspdash.dburl import (
    PG_UNAVAILABLE,
    DatabaseURLError,
    DuckDBTarget,
    PostgresTarget,
    duckdb_path,
    mask,
    parse_db,
)

ROOT = Path(__file__).resolve().parents[1]
SECRET = "s3cr3t-Pa55"
PG_URL = f"postgresql://csp:{SECRET}@db.internal:5433/cspdash"


@pytest.mark.parametrize(("value", "expected"), [
    ("data/csp.duckdb", DuckDBTarget("data/csp.duckdb")),
    ("/srv/csp/csp.duckdb", DuckDBTarget("/srv/csp/csp.duckdb")),
    ("csp.duckdb", DuckDBTarget("csp.duckdb")),
    (":memory:", DuckDBTarget(":memory:")),
    ("./odd:name.duckdb", DuckDBTarget("./odd:name.duckdb")),  # a colon inside a path is not a scheme
    ("backup:2026.duckdb", DuckDBTarget("backup:2026.duckdb")),  # no slash after the colon: a file name
    ("C:/data/csp.duckdb", DuckDBTarget("C:/data/csp.duckdb")),  # one letter: a Windows drive, not a scheme
    ("C:\\data\\csp.duckdb", DuckDBTarget("C:\\data\\csp.duckdb")),
    ("postgres.duckdb", DuckDBTarget("postgres.duckdb")),
    ("postgresql", DuckDBTarget("postgresql")),  # no colon: a file called postgresql
    (PG_URL, PostgresTarget("csp", "db.internal", 5433, "cspdash", SECRET)),
    ("postgres://csp:pw@db:5432/csp", PostgresTarget("csp", "db", 5432, "csp", "pw")),
    ("POSTGRESQL://csp@db:5432/csp", PostgresTarget("csp", "db", 5432, "csp", None)),
    ("postgresql://csp@db/csp", PostgresTarget("csp", "db", 5432, "csp", None)),  # the default port
    ("postgresql://csp:@db:5432/csp", PostgresTarget("csp", "db", 5432, "csp", "")),  # an empty password
    ("postgresql://csp:p%40ss%3Aw%2Frd@db:5432/csp", PostgresTarget("csp", "db", 5432, "csp", "p@ss:w/rd")),
    ("postgresql://j%2Esmith@db:5432/csp", PostgresTarget("j.smith", "db", 5432, "csp", None)),
    ("postgresql://csp:pw@[::1]:5432/csp", PostgresTarget("csp", "::1", 5432, "csp", "pw")),
    ("postgresql://csp:pw@DB.Example.org:5432/csp", PostgresTarget("csp", "db.example.org", 5432, "csp", "pw")),
])
def test_parse_db(value, expected):
    got = parse_db(value)
    assert got == expected
    if isinstance(got, PostgresTarget):
        assert got.password == expected.password  # compare=True, but repr=False: check it is read all the same


@pytest.mark.parametrize(("value", "words"), [
    ("", "the database is empty"),
    ("   ", "the database is empty"),
    ("sqlite:///tmp/csp.db", "is a sqlite: URL"),
    ("duckdb:///data/csp.duckdb", "is a duckdb: URL"),
    ("file:/data/csp.duckdb", "is a file: URL"),
    ("https://example.org/csp.duckdb", "is a https: URL"),
    ("mysql://csp:pw@db:3306/csp", "is a mysql: URL"),
    ("s3://bucket/csp.duckdb", "is a s3: URL"),
    ("postgresql:/db/csp", "the scheme must be followed by //"),
    ("postgresql:csp", "the scheme must be followed by //"),
    ("postgres:", "the scheme must be followed by //"),
    ("postgresql://db:5432/csp", "the user is missing"),
    ("postgresql://csp@:5432/csp", "the host is missing"),
    ("postgresql://csp@db:5432", "the database name is missing"),
    ("postgresql://csp@db:5432/", "the database name is missing"),
    ("postgresql://csp@db:5432/a/b", "the database name must not contain /"),
    ("postgresql://csp@db:port/csp", "the port must be a number from 1 to 65535"),
    ("postgresql://csp@db:70000/csp", "the port must be a number from 1 to 65535"),
    ("postgresql://csp@db:0/csp", "the port must be a number from 1 to 65535"),
    ("postgresql://csp@db:5432/csp?sslmode=require", "options after ? or # are not supported"),
    ("postgresql://csp@db:5432/csp#x", "options after ? or # are not supported"),
])
def test_parse_db_refuses(value, words):
    with pytest.raises(DatabaseURLError) as e:
        parse_db(value)
    assert words in str(e.value)
    assert "postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME" in str(e.value)  # the fix: the forms it takes


@pytest.mark.parametrize("value", [
    f"postgresql://csp:{SECRET}@db:5432/a/b",
    f"postgresql://csp:{SECRET}@db:port/csp",
    f"postgresql://csp:{SECRET}@db:5432/csp?sslmode=require",
    f"postgresql://csp:{SECRET}@:5432/csp",
    f"postgresql://csp:{SECRET}/x@db:5432/csp",  # an unencoded / in the password: the port is then unreadable
    f"postgresql://csp:{SECRET}@x@db:5432/",  # an unencoded @ in the password
    f"mysql://csp:{SECRET}@db:3306/csp",
    f"https://csp:{SECRET}@example.org/x",
])
def test_a_refusal_never_shows_the_password(value):
    with pytest.raises(DatabaseURLError) as e:
        parse_db(value)
    assert SECRET not in str(e.value)
    assert "***" in str(e.value)


@pytest.mark.parametrize(("value", "expected"), [
    (PG_URL, "postgresql://csp:***@db.internal:5433/cspdash"),
    ("postgresql://csp@db:5432/csp", "postgresql://csp@db:5432/csp"),
    ("postgresql://csp:a@b@db/csp", "postgresql://csp:***@db/csp"),
    ("mysql://u:pw@h/x", "mysql://u:***@h/x"),
    ("data/csp.duckdb", "data/csp.duckdb"),
    ("data/a:b@c.duckdb", "data/a:b@c.duckdb"),  # not a URL: left as it is
])
def test_mask(value, expected):
    assert mask(value) == expected


def test_a_postgres_target_never_shows_its_password():
    target = parse_db(PG_URL)
    assert isinstance(target, PostgresTarget)
    for text in (repr(target), str(target), target.masked()):
        assert SECRET not in text
    assert target.masked() == "postgresql://csp:***@db.internal:5433/cspdash"
    assert parse_db("postgresql://csp@[::1]:5432/x").masked() == \
        "postgresql://csp@[::1]:5432/x"
    assert target.connect_args() == {"user": "csp", "host": "db.internal", "port": 5433, "dbname": "cspdash",
                                     "password": SECRET}


def test_duckdb_path():
    assert duckdb_path("data/csp.duckdb") == "data/csp.duckdb"
    with pytest.raises(DatabaseURLError) as e:
        duckdb_path(PG_URL)
    assert str(e.value).startswith(PG_UNAVAILABLE)
    assert "postgresql://csp:***@db.internal:5433/cspdash" in str(e.value)
    assert SECRET not in str(e.value)
    with pytest.raises(DatabaseURLError, match="is a sqlite: URL"):
        duckdb_path("sqlite:///x.db")


# --- every command that opens the database, and the app ------------------------------------------------------------

#: Each command that takes --db, with arguments it would accept; the input files live outside the working folder.
COMMANDS = [
    ["init"],
    ["demo"],
    ["demo", "--if-empty"],
    ["status"],
    ["history"],
    ["withdraw", "1"],
    ["backup", "--out", "b.duckdb"],
    ["restore", "{backup}"],
    ["report", "--out", "pack.pdf"],
    ["freeze", "--meeting-date", "2026-03-12"],
    ["snapshots"],
    ["snapshot-diff", "1"],
    ["user", "add", "a@example.gov.uk", "--role", "admin", "--no-password"],
    ["user", "list"],
    ["user", "unlock", "a@example.gov.uk"],
    ["compare", "A1"],
    ["import", "{return}"],
]


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """An empty working folder (the current one), with the catalogue named by absolute path."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("CSPDASH_DB", raising=False)
    monkeypatch.setenv("CSPDASH_CONFIG", str(ROOT / "indicators.yaml"))
    return work


def _args(cmd: list[str], tmp_path: Path) -> list[str]:
    outside = tmp_path / "in"
    outside.mkdir(exist_ok=True)
    (outside / "backup.duckdb").write_bytes(b"not used")
    (outside / "return.csv").write_text("indicator,period,value\nA1,2024/25 Q1,1\n", encoding="utf-8")
    return [a.format(backup=outside / "backup.duckdb", **{"return": outside / "return.csv"}) for a in cmd]


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("how", ["option", "environment"])
@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c))
def test_every_command_refuses_an_unreachable_postgres_database_and_creates_nothing(cmd, how, workdir, tmp_path,
                                                                                  monkeypatch, capsys):
    args = _args(cmd, tmp_path)
    if how == "option":
        args = ["--db", PG_URL, *args]
    else:
        monkeypatch.setenv("CSPDASH_DB", PG_URL)
    assert main(args) == 1
    out, err = capsys.readouterr()
    assert err.startswith("error: cannot connect to the database postgresql://csp:***@db.internal:5433/cspdash: ")
    assert SECRET not in out + err
    assert _files(workdir) == []  # no postgresql:/... folder, no DuckDB file, no pack, no backup
    assert not Path("postgresql:").exists()


@pytest.mark.parametrize("value", ["sqlite:///x.db", "postgresql:/csp@db/x", f"mysql://u:{SECRET}@h/x"])
@pytest.mark.parametrize("cmd", [["init"], ["demo"], ["status"], ["user", "list"]], ids=lambda c: " ".join(c))
def test_every_command_refuses_another_url_and_creates_nothing(cmd, value, workdir, capsys):
    assert main(["--db", value, *cmd]) == 1
    out, err = capsys.readouterr()
    assert err.startswith("error: '")
    assert "give the DuckDB file's path" in err or "write it as postgresql://" in err
    assert SECRET not in out + err
    assert _files(workdir) == []


def test_a_path_still_makes_a_duckdb_file(workdir, capsys):
    assert main(["--db", "csp.duckdb", "init"]) == 0
    assert "created an empty database at csp.duckdb" in capsys.readouterr().out
    assert (workdir / "csp.duckdb").is_file()


def test_commands_that_need_no_database_ignore_it(workdir, capsys):
    assert main(["--db", PG_URL, "validate-config"]) == 0
    assert "OK" in capsys.readouterr().out


def test_the_app_refuses_an_unreachable_postgres_database_in_words_and_creates_nothing(workdir, monkeypatch):
    monkeypatch.setenv("CSPDASH_DB", PG_URL)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    assert not at.exception
    shown = " ".join(e.value for e in at.error).replace("\\", "").replace("\u2060", "")  # as read: no Markdown escapes
    assert "annot connect to the database postgresql://csp:***@db.internal:5433/cspdash" in shown  # capitalised
    assert SECRET not in shown + " ".join(str(m.value) for m in at.markdown)
    assert _files(workdir) == []
