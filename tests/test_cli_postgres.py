"""The command line on a PostgreSQL database (``--db postgresql://...``): init makes the tables once, imports and
statuses work as on a file, and ``user add`` works while another process (as the app does) holds a Store open on
the same database, which then sees the new account."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cspdash.cli import main
from cspdash.dburl import parse_db

ROOT = Path(__file__).resolve().parents[1]
CONFIG = str(ROOT / "tests" / "data" / "catalogues" / "returns.yaml")

#: Another process serving the database: opens a Store, says so, waits for a line, then looks the account up.
SERVER = """
import os, sys
from cspdash.config import load_catalogue
from cspdash.store import Store
s = Store(os.environ["CSPDASH_DB"], load_catalogue(os.environ["CSPDASH_CONFIG"]))
print("open", s.has_accounts(), flush=True)
sys.stdin.readline()
u = s.user("chair@example.org")
print(u.email, u.role, ",".join(u.subgroups), s.has_accounts(), flush=True)
s.close()
"""


def test_init_import_status_history_on_postgresql(postgres_server, tmp_path, capsys, monkeypatch):
    url = postgres_server.new_database()
    monkeypatch.setenv("CSPDASH_CONFIG", CONFIG)
    secret = parse_db(url).password
    assert main(["--db", url, "status"]) == 1  # no tables yet: never made by accident
    assert "holds no cspdash tables" in capsys.readouterr().err
    assert main(["--db", url, "init"]) == 0
    out = capsys.readouterr().out
    assert "created an empty database at postgresql://" in out and "--db URL user add" in out and secret not in out
    assert main(["--db", url, "init"]) == 1
    assert "already holds a cspdash database" in capsys.readouterr().err
    ret = tmp_path / "q1.csv"
    ret.write_text("indicator,period,value\nA1,2018/19 Q1,60\nB1,2018/19 Q1,40\n", encoding="utf-8")
    assert main(["--db", url, "import", str(ret), "--user", "chair@example.org"]) == 0
    capsys.readouterr()
    assert main(["--db", url, "status", "--period", "2018/19 Q1", "--format", "json"]) == 0
    rags = {s["indicator"]: s["rag"] for s in json.loads(capsys.readouterr().out)}
    assert rags["A1"] == "green" and rags["B1"] == "amber"  # as on a DuckDB file
    assert main(["--db", url, "history", "--format", "json"]) == 0
    (h,) = json.loads(capsys.readouterr().out)
    assert (h["upload_id"], h["file_name"], h["user"]) == (1, "q1.csv", "chair@example.org")


def test_user_add_works_while_another_process_holds_the_same_postgresql_database(postgres_server, capsys,
                                                                                monkeypatch):
    url = postgres_server.new_database()
    monkeypatch.setenv("CSPDASH_CONFIG", CONFIG)
    assert main(["--db", url, "init"]) == 0
    env = {**os.environ, "CSPDASH_DB": url, "CSPDASH_CONFIG": CONFIG}
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    try:
        assert server.stdout.readline().split() == ["open", "False"]
        assert main(["--db", url, "user", "add", "chair@example.org", "--role", "chair", "--subgroup", "asb",
                     "--no-password"]) == 0
        assert "added chair@example.org as chair of asb" in capsys.readouterr().out
        out, err = server.communicate("go\n", timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == 0, err
    assert out.split() == ["chair@example.org", "chair", "asb", "True"]


def test_two_imports_from_two_processes_at_once_both_land(postgres_server, tmp_path, capsys, monkeypatch):
    url = postgres_server.new_database()
    monkeypatch.setenv("CSPDASH_CONFIG", CONFIG)
    assert main(["--db", url, "init"]) == 0
    files = []
    for indicator, value in (("A1", 60), ("B1", 40)):
        f = tmp_path / f"{indicator}.csv"
        f.write_text(f"indicator,period,value\n{indicator},2018/19 Q1,{value}\n", encoding="utf-8")
        files.append(f)
    env = {**os.environ, "CSPDASH_DB": url, "CSPDASH_CONFIG": CONFIG}
    imports = [subprocess.Popen([sys.executable, "-m", "cspdash", "import", str(f), "--user", "chair@example.org"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
               for f in files]
    results = [p.communicate(timeout=120) for p in imports]
    assert [p.returncode for p in imports] == [0, 0], results
    capsys.readouterr()
    assert main(["--db", url, "history", "--format", "json"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert sorted(h["upload_id"] for h in history) == [1, 2]  # ids from the one sequence
    assert sorted(h["file_name"] for h in history) == ["A1.csv", "B1.csv"]
    assert main(["--db", url, "status", "--period", "2018/19 Q1", "--format", "json"]) == 0
    values = {s["indicator"]: s["value"] for s in json.loads(capsys.readouterr().out)}
    assert (values["A1"], values["B1"]) == (60.0, 40.0)
