"""Tests for the data commands of cspdash.cli: import, status, history, withdraw, backup, restore and demo.

The police.uk check is the project's "done when": twelve real monthly files imported at once, then quarterly counts
per crime type from ``status --format json`` equal to an independent count made here with Python's csv module.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from cspdash.cli import main
from cspdash.config import load_catalogue
from cspdash.store import Store

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
POLICE = DATA / "police-uk-city-of-london"
POLICE_FILES = sorted(POLICE.glob("*.csv"))
RETURNS_CATALOGUE = DATA / "catalogues" / "returns.yaml"
STATUS_KEYS = {"indicator", "priority", "period", "value", "target", "comparator", "rag", "complete", "variation",
               "assurance", "reason"}
HISTORY_KEYS = {"upload_id", "file_name", "sha256", "user", "uploaded_at", "rows", "state"}


def fiscal_quarter(month: str) -> str:
    """``2014-09`` -> ``2014/15 Q2``, worked out here independently of cspdash.periods."""
    year, m = int(month[:4]), int(month[5:7])
    fy = year if m >= 4 else year - 1
    return f"{fy}/{(fy + 1) % 100:02d} Q{(m - 4) % 12 // 3 + 1}"


def independent_counts() -> tuple[Counter, dict[str, set[str]]]:
    """(count of records by (quarter, crime type), months present by quarter) from the files, with the csv module.
    A Crime ID listed twice (police.uk lists some crimes once per outcome) is one crime; ASB rows have no Crime ID."""
    by_quarter: Counter = Counter()
    months: dict[str, set[str]] = {}
    seen: set[str] = set()
    for path in POLICE_FILES:
        with path.open(newline="", encoding="utf-8-sig") as f:
            for row in csv.DictReader(f):
                q = fiscal_quarter(row["Month"])
                if row["Crime ID"] not in seen:
                    by_quarter[(q, row["Crime type"])] += 1
                if row["Crime ID"]:
                    seen.add(row["Crime ID"])
                months.setdefault(q, set()).add(row["Month"])
    return by_quarter, months


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """Run the CLI in this process; (exit code, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def police_catalogue(crime_types: list[str]) -> str:
    lines = ["partnership: {name: City Test Partnership, area: City of London, police_force: City of London Police}",
             "periods: {first: 2010/11 Q1, last: 2030/31 Q4}",
             "priorities:", "  - {id: A, title: Street crime}",
             "subgroups:", "  - {id: ops, name: Operations, priority: A}",
             "datasets:", "  street_crime: {format: police_uk_street}",
             "indicators:"]
    for n, ct in enumerate(crime_types, start=1):
        lines += [f"  - id: S{n:02d}", "    priority: A", "    owner: ops", f"    title: {ct}", "    unit: count",
                  "    frequency: monthly", "    direction: decrease", "    target: {type: none}",
                  f"""    measure: {{dataset: street_crime, aggregate: "count(*)", where: "crime_type = '{ct}'"}}"""]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def police(tmp_path_factory):
    """The twelve real files imported at once through ``python -m cspdash`` itself (a real process)."""
    by_quarter, months = independent_counts()
    crime_types = sorted({ct for _, ct in by_quarter})
    tmp = tmp_path_factory.mktemp("police")
    config = tmp / "catalogue.yaml"
    config.write_text(police_catalogue(crime_types), encoding="utf-8")
    db = tmp / "csp.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSPDASH_")}
    assert main(["--db", str(db), "--config", str(config), "init"]) == 0  # import never makes a database
    proc = subprocess.run(
        [sys.executable, "-m", "cspdash", "--db", str(db), "--config", str(config), "import",
         *[str(p) for p in POLICE_FILES], "--dataset", "street_crime", "--user", "t@example.org"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    ids = {ct: f"S{n:02d}" for n, ct in enumerate(crime_types, start=1)}
    return {"db": db, "config": config, "ids": ids, "counts": by_quarter, "months": months, "stdout": proc.stdout}


def status_json(capsys, police, period: str) -> dict[str, dict]:
    code, out, err = run(capsys, "--db", police["db"], "--config", police["config"], "status", "--period", period,
                         "--format", "json")
    assert code == 0, err
    records = json.loads(out)
    assert all(set(r) >= STATUS_KEYS for r in records)
    return {r["indicator"]: r for r in records}


def test_police_files_are_twelve_months(police):
    assert len(POLICE_FILES) == 12
    assert sorted(m for ms in police["months"].values() for m in ms) == [
        "2014-09", "2014-10", "2014-11", "2014-12", "2015-01", "2015-02", "2015-03", "2015-04", "2015-05", "2015-06",
        "2015-07", "2015-08"]
    assert police["stdout"].count("imported") == 12


@pytest.mark.parametrize("quarter", ["2014/15 Q3", "2014/15 Q4", "2015/16 Q1"])
def test_complete_quarters_equal_the_independent_count(capsys, police, quarter):
    records = status_json(capsys, police, quarter)
    assert len(police["months"][quarter]) == 3
    for ct, iid in police["ids"].items():
        r = records[iid]
        assert r["value"] == police["counts"][(quarter, ct)], (quarter, ct)
        assert (r["complete"], r["rag"], r["period"]) == (True, "monitor", quarter)


@pytest.mark.parametrize(("quarter", "missing"), [("2014/15 Q2", "Jul 2014, Aug 2014"), ("2015/16 Q2", "Sep 2015")])
def test_partial_quarters_are_incomplete(capsys, police, quarter, missing):
    records = status_json(capsys, police, quarter)
    for ct, iid in police["ids"].items():
        r = records[iid]
        assert (r["complete"], r["rag"]) == (False, "no_data"), (quarter, ct)
        assert f"missing {missing}" in r["reason"]
        assert r["value"] == police["counts"][(quarter, ct)]  # the months there are, shown but not rated


def test_default_status_period_is_the_latest_complete_quarter(capsys, police):
    code, out, _ = run(capsys, "--db", police["db"], "--config", police["config"], "status", "--format", "json")
    assert code == 0 and {r["period"] for r in json.loads(out)} == {"2015/16 Q1"}


def test_police_history_has_one_upload_per_file(capsys, police):
    code, out, _ = run(capsys, "--db", police["db"], "--config", police["config"], "history", "--format", "json")
    records = json.loads(out)
    assert code == 0 and len(records) == 12
    assert sorted(r["file_name"] for r in records) == [p.name for p in POLICE_FILES]
    assert all(set(r) >= HISTORY_KEYS and r["user"] == "t@example.org" and r["state"] == "active" for r in records)
    expected_rows = {p.name: sum(1 for _ in p.open(encoding="utf-8")) - 1 for p in POLICE_FILES}
    assert {r["file_name"]: r["rows"] for r in records} == expected_rows


def test_reimporting_the_same_police_files_changes_nothing(capsys, police):
    args = ["--db", police["db"], "--config", police["config"]]
    before = run(capsys, *args, "history", "--format", "json")[1]
    code, out, _ = run(capsys, *args, "import", *POLICE_FILES[:2], "--dataset", "street_crime", "--user", "x")
    assert code == 0 and out.count("identical to upload") == 2
    assert run(capsys, *args, "history", "--format", "json")[1] == before


# --- returns through the CLI: exit codes, problem lists, history --------------------------------------------------

@pytest.fixture
def cli(tmp_path, capsys):
    """Run the CLI on a fresh database (made by `init`) with the returns catalogue."""
    db = tmp_path / "csp.duckdb"
    assert run(capsys, "--db", db, "--config", RETURNS_CATALOGUE, "init")[0] == 0

    def call(*argv: str) -> tuple[int, str, str]:
        return run(capsys, "--db", db, "--config", RETURNS_CATALOGUE, *argv)
    call.db = db
    call.tmp = tmp_path
    return call


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_import_success_exit_0(cli):
    f = write(cli.tmp / "asb.csv", "indicator,period,value\nA1,2018/19 Q1,95\n")
    code, out, err = cli("import", f, "--user", "chair@example.org")
    assert (code, err) == (0, "")
    assert "asb.csv: imported 1 rows as upload 1" in out
    g = write(cli.tmp / "asb-q2.csv", "indicator,period,value\nA1,2018/19 Q2,105\n")
    code, out, _ = cli("import", g, "--user", "chair@example.org", "--format", "json")
    res = json.loads(out)
    assert code == 0 and res["dry_run"] is False
    assert [(u["file_name"], u["upload_id"], u["rows"]) for u in res["uploads"]] == [("asb-q2.csv", 2, 1)]
    assert res["changes"][0]["new_rag"] == "amber"


def test_bad_row_refused_with_row_number_on_stderr_and_database_unchanged(cli):
    write(cli.tmp / "good.csv", "indicator,period,value\nA1,2018/19 Q1,95\n")
    assert cli("import", cli.tmp / "good.csv", "--user", "u")[0] == 0
    before = cli("history", "--format", "json")[1], cli("status", "--period", "2018/19 Q2", "--format", "json")[1]
    bad = write(cli.tmp / "q2.csv", "indicator,period,value\nA1,2018/19 Q2,90\nA2,2018-07,4\nA2,2018-08,four\nA2,2018-09,5\n")
    code, out, err = cli("import", bad, "--user", "u")
    assert code == 1 and out == ""
    assert "import refused: 1 problem(s); nothing was stored" in err
    assert "q2.csv, row 4, column 'value', value 'four': not a number. Fix:" in err
    after = cli("history", "--format", "json")[1], cli("status", "--period", "2018/19 Q2", "--format", "json")[1]
    assert after == before


def test_second_file_bad_nothing_from_the_first(cli):
    one = write(cli.tmp / "one.csv", "indicator,period,value\nA1,2018/19 Q1,95\n")
    two = write(cli.tmp / "two.csv", "indicator,period,value\nA1,2018/19 Q2,-4\n")
    code, _, err = cli("import", one, two, "--user", "u")
    assert code == 1 and "two.csv, row 2, column 'value'" in err and "one.csv" not in err
    assert json.loads(cli("history", "--format", "json")[1]) == []


def test_second_police_file_bad_nothing_from_the_first(cli):
    rows = POLICE_FILES[1].read_text(encoding="utf-8").splitlines(keepends=True)
    rows[9] = rows[9].replace(",2014-10,", ",Oct 2014,", 1)
    bad = cli.tmp / POLICE_FILES[1].name
    bad.write_text("".join(rows), encoding="utf-8")
    code, _, err = cli("import", POLICE_FILES[0], bad, "--dataset", "street_crime", "--user", "u")
    assert code == 1
    assert f"{bad.name}, row 10, column 'month', value 'Oct 2014'" in err
    assert json.loads(cli("history", "--format", "json")[1]) == []


@pytest.mark.parametrize(("argv", "words"), [
    (["import", "missing.csv", "--user", "u"], "missing.csv: no such file"),
    (["import", "{tmp}/a.csv", "--dataset", "nope", "--user", "u"], "no dataset named 'nope'"),
    (["status", "--period", "someday"], "is not a period"),
    (["status", "--period", "2018/19 Q1", "--priority", "Z"], "no priority 'Z'"),
    (["status"], "the database has no figures yet"),
    (["history", "--indicator", "Z9"], "unknown indicator 'Z9'"),
    (["withdraw", "42"], "there is no upload 42"),
    (["restore", "{tmp}/a.csv"], "not a cspdash backup"),
])
def test_errors_exit_1_with_a_message_on_stderr(cli, argv, words):
    write(cli.tmp / "a.csv", "indicator,period,value\nA1,2018/19 Q1,95\n")
    Store(cli.db, load_catalogue(RETURNS_CATALOGUE)).close()  # an empty database: the errors are about the arguments
    code, out, err = cli(*[a.format(tmp=cli.tmp) for a in argv])
    assert code == 1 and words in err and out == ""


@pytest.mark.parametrize("command", [["status"], ["history"], ["withdraw", "1"], ["backup", "--out", "b.duckdb"]])
def test_commands_that_read_refuse_a_missing_database(tmp_path, capsys, command):
    missing = tmp_path / "missing.duckdb"  # tests/test_fail_closed.py checks every other command too
    code, out, err = run(capsys, "--db", missing, "--config", RETURNS_CATALOGUE, *command)
    assert code == 1 and "there is no database at" in err and out == ""
    assert not missing.exists()


def test_usage_errors_exit_2(cli):
    with pytest.raises(SystemExit) as info:
        cli("import")
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        cli("status", "--format", "xml")
    assert info.value.code == 2


def test_config_errors_exit_1(tmp_path, capsys):
    bad = write(tmp_path / "bad.yaml", RETURNS_CATALOGUE.read_text().replace(
        'aggregate: "count(*)", where: "crime_type', 'aggregate: "count(*); DROP TABLE uploads", where: "crime_type'))
    code, _, err = run(capsys, "--db", tmp_path / "x.duckdb", "--config", bad, "status")
    assert code == 1 and "indicators[C1].measure.aggregate" in err
    assert not (tmp_path / "x.duckdb").exists()


def test_dry_run_prints_old_and_new_and_stores_nothing(cli):
    write(cli.tmp / "q1.csv", "indicator,period,value\nA1,2018/19 Q1,60\n")
    cli("import", cli.tmp / "q1.csv", "--user", "u")
    before = cli("history", "--format", "json")[1]
    write(cli.tmp / "q1b.csv", "indicator,period,value\nA1,2018/19 Q1,150\n")
    code, out, _ = cli("import", cli.tmp / "q1b.csv", "--user", "u", "--dry-run", "--format", "json")
    assert code == 0
    res = json.loads(out)
    assert res["dry_run"] is True
    assert res["changes"] == [{"indicator": "A1", "period": "2018/19 Q1", "old_value": 60.0, "new_value": 150.0,
                               "old_rag": "green", "new_rag": "red"}]
    code, out, _ = cli("import", cli.tmp / "q1b.csv", "--user", "u", "--dry-run")
    assert "would import 1 rows" in out and "dry run: nothing was stored" in out and "60.0" in out and "red" in out
    assert cli("history", "--format", "json")[1] == before


def test_restatement_and_withdrawal_show_in_history(cli):
    write(cli.tmp / "q1.csv", "indicator,period,value,commentary\nA1,2018/19 Q1,95,first\n")
    write(cli.tmp / "q1-restated.csv", "indicator,period,value,commentary\nA1,2018/19 Q1,120,restated\n")
    assert cli("import", cli.tmp / "q1.csv", "--user", "first@example.org")[0] == 0
    assert cli("import", cli.tmp / "q1-restated.csv", "--user", "second@example.org")[0] == 0

    def a1(period="2018/19 Q1"):
        return {r["indicator"]: r for r in json.loads(cli("status", "--period", period, "--format", "json")[1])}["A1"]

    assert a1()["value"] == 120.0
    hist = json.loads(cli("history", "--indicator", "A1", "--format", "json")[1])
    assert [(h["upload_id"], h["file_name"], h["user"], h["state"]) for h in hist] == [
        (2, "q1-restated.csv", "second@example.org", "active"), (1, "q1.csv", "first@example.org", "active")]
    assert all(set(h) >= HISTORY_KEYS for h in hist)

    code, out, _ = cli("withdraw", "2", "--user", "manager@example.org", "--reason", "wrong figure")
    assert code == 0 and "upload 2 (q1-restated.csv) withdrawn by manager@example.org" in out
    assert a1()["value"] == 95.0
    hist = json.loads(cli("history", "--format", "json")[1])
    assert [(h["upload_id"], h["state"], h["withdraw_reason"]) for h in hist] == [
        (2, "withdrawn", "wrong figure"), (1, "active", None)]
    code, _, err = cli("withdraw", "2")
    assert code == 1 and "already withdrawn" in err
    table = cli("history", "--format", "table")[1]
    assert "withdrawn" in table.splitlines()[2] and "q1-restated.csv" in table


def test_status_formats_and_rollup(cli):
    write(cli.tmp / "r.csv", "indicator,period,value,numerator,denominator\nA1,2018/19 Q1,60,,\nB1,2018/19 Q1,,20,60\n")
    cli("import", cli.tmp / "r.csv", "--user", "u")
    code, out, _ = cli("status", "--period", "2018/19 Q1", "--format", "json")
    records = json.loads(out)
    assert code == 0 and [r["indicator"] for r in records] == ["A1", "A2", "B1", "B2", "B3", "C1", "C2"]
    assert all(set(r) >= STATUS_KEYS for r in records)
    by_id = {r["indicator"]: r for r in records}
    assert (by_id["A1"]["rag"], by_id["B1"]["rag"], by_id["B1"]["value"]) == ("green", "red", pytest.approx(100 / 3))

    code, out, _ = cli("status", "--period", "2018/19 Q1", "--rollup", "--format", "json")
    rollup = json.loads(out)
    assert [r["priority"] for r in rollup] == ["A", "B", "C"]  # one object per priority
    assert {r["priority"]: r["overall"] for r in rollup} == {"A": "green", "B": "red", "C": "no_data"}
    assert all(r["period"] == "2018/19 Q1" for r in rollup)

    code, out, _ = cli("status", "--period", "2018/19 Q1", "--priority", "B", "--rollup", "--format", "json")
    assert [r["priority"] for r in json.loads(out)] == ["B"]
    code, out, _ = cli("status", "--period", "2018/19 Q1", "--priority", "A", "--format", "json")
    assert [r["indicator"] for r in json.loads(out)] == ["A1", "A2"]

    code, out, _ = cli("status", "--period", "Q1 2018-19", "--format", "csv")
    rows = list(csv.DictReader(out.splitlines()))
    assert code == 0 and list(rows[0]) == ["indicator", "priority", "period", "value", "lower", "upper", "target",
                                           "comparator", "rag", "amber_reason", "complete", "variation", "assurance",
                                           "reason"]
    assert rows[0]["indicator"] == "A1" and rows[0]["rag"] == "green"
    code, out, _ = cli("status", "--period", "2018/19 Q1", "--format", "table")
    assert code == 0 and out.splitlines()[0].split()[:3] == ["indicator", "priority", "period"]


def test_backup_and_restore_commands(cli):
    write(cli.tmp / "q1.csv", "indicator,period,value,commentary\nA1,2018/19 Q1,95,note\n")
    cli("import", cli.tmp / "q1.csv", "--user", "u")
    backup = cli.tmp / "backup.duckdb"
    code, out, _ = cli("backup", "--out", backup)
    assert code == 0 and f"backup written to {backup}" in out
    history = cli("history", "--format", "json")[1]
    status = cli("status", "--period", "2018/19 Q1", "--format", "json")[1]
    write(cli.tmp / "later.csv", "indicator,period,value\nA1,2018/19 Q2,1\n")
    cli("import", cli.tmp / "later.csv", "--user", "u")
    code, out, _ = cli("restore", backup)
    assert code == 0 and "the previous database is kept as" in out
    assert cli("history", "--format", "json")[1] == history
    assert cli("status", "--period", "2018/19 Q1", "--format", "json")[1] == status
    code, _, err = cli("backup", "--out", backup)
    assert code == 1 and "already exists" in err


def test_environment_variables_name_the_database_and_catalogue(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CSPDASH_DB", str(tmp_path / "env.duckdb"))
    monkeypatch.setenv("CSPDASH_CONFIG", str(RETURNS_CATALOGUE))
    monkeypatch.setenv("CSPDASH_USER", "env-user@example.org")
    write(tmp_path / "r.csv", "indicator,period,value\nA1,2018/19 Q1,95\n")
    assert run(capsys, "init")[0] == 0
    assert run(capsys, "import", tmp_path / "r.csv")[0] == 0
    (h,) = json.loads(run(capsys, "history", "--format", "json")[1])
    assert h["user"] == "env-user@example.org"


def test_demo_loads_once(tmp_path, capsys):
    db = tmp_path / "demo.duckdb"
    code, out, err = run(capsys, "--db", db, "--config", ROOT / "indicators.yaml", "demo", "--if-empty")
    assert code == 0, err
    assert "(upload 1)" in out
    history = json.loads(run(capsys, "--db", db, "--config", ROOT / "indicators.yaml", "history", "--format", "json")[1])
    assert history and all(h["state"] == "active" for h in history)
    code, out, _ = run(capsys, "--db", db, "--config", ROOT / "indicators.yaml", "demo", "--if-empty")
    assert code == 0 and "already has data; demo not loaded" in out
    code, out, _ = run(capsys, "--db", db, "--config", ROOT / "indicators.yaml", "demo")
    assert code == 0 and "already loaded as" in out and "(upload" not in out
    again = json.loads(run(capsys, "--db", db, "--config", ROOT / "indicators.yaml", "history", "--format", "json")[1])
    assert again == history
    code, out, _ = run(capsys, "--db", db, "--config", ROOT / "indicators.yaml", "status", "--rollup", "--format", "json")
    assert code == 0 and [r["priority"] for r in json.loads(out)] == ["A", "B", "C", "D"]


def test_demo_without_its_manifest_is_an_error(tmp_path):
    from cspdash.config import load_catalogue
    from cspdash.demo import load_demo
    from cspdash.errors import CspdashError
    from cspdash.store import Store

    store = Store(tmp_path / "csp.duckdb", load_catalogue(RETURNS_CATALOGUE))
    try:
        with pytest.raises(CspdashError, match="manifest"):
            list(load_demo(store, tmp_path / "no-demo"))
    finally:
        store.close()
