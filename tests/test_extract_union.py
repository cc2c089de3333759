"""A record-level dataset is the union of its active uploads (issue 11): a new upload replaces only the (force, month)
slices it holds, a Crime ID is counted once, and a neighbouring force's file never stands in for the partnership's own.

Real City of London Police files from tests/data plus generated Metropolitan Police files of the same shape; every
expected figure is counted here from the files with the csv module, independently of cspdash.
"""

from __future__ import annotations

import csv
import io
import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from cspdash.config import load_catalogue
from cspdash.datasets import effective_sql
from cspdash.ingest import SourceFile
from cspdash.periods import parse_period
from cspdash.store import Store

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "indicators.yaml"  # A4: police.uk ASB by borough, from the LSOA name; police_force: the Met (default)
CITY = ROOT / "tests" / "data" / "police-uk-city-of-london"
MONTHS = ("2014-09", "2014-10", "2014-11")
HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location", "LSOA code",
          "LSOA name", "Crime type", "Last outcome category", "Context"]
MET = "Metropolitan Police Service"
TYPES = ("Anti-social behaviour", "Burglary", "Robbery", "Violence and sexual offences")
BOROUGHS = ("Tower Hamlets", "Hackney", "City of London")


def city_file(month: str) -> Path:
    return CITY / f"{month}-city-of-london-street.csv"


def met_rows(month: str, seed: int, n: int = 400) -> list[list[str]]:
    """A Metropolitan Police Service file's rows for ``month``: ASB (no Crime ID) and crimes in three boroughs."""
    rnd = random.Random(f"{month}-{seed}")
    rows = []
    for k in range(n):
        borough = rnd.choice(BOROUGHS)
        crime = rnd.choice(TYPES)
        cid = "" if crime == TYPES[0] else f"met-{month}-{seed}-{k:05d}"
        rows.append([cid, month, MET, MET, "-0.04", "51.52", "On or near Commercial Road", "E01004200",
                     f"{borough} {rnd.randrange(1, 40):03d}{rnd.choice('ABCDEF')}", crime, "Under investigation", ""])
    return rows


def csv_bytes(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([HEADER, *rows])
    return buf.getvalue().encode()


def read_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def asb(files: list[bytes], borough: str) -> Counter:
    """ASB incidents in ``borough`` by month, counted from the files (ASB rows have no Crime ID: each one counts)."""
    out: Counter = Counter()
    for data in files:
        for r in read_rows(data):
            if r["Crime type"] == "Anti-social behaviour" and r["LSOA name"][:-5] == borough:
                out[r["Month"]] += 1
    return out


def a4(store: Store, area: str = "") -> dict[str, float]:
    """The current A4 figure of every month for ``area`` ('' = the partnership's own)."""
    obs = store.current_observations(["A4"], area=area).get("A4", [])
    return {o.period.label: o.value for o in obs}


def source(name: str, data: bytes) -> SourceFile:
    return SourceFile(name, data=data)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "csp.duckdb", load_catalogue(CONFIG))
    yield s
    s.close()


CITY_BYTES = {m: city_file(m).read_bytes() for m in MONTHS}
MET_BYTES = {m: csv_bytes(met_rows(m, 1)) for m in MONTHS}


@pytest.mark.parametrize("met_first", [True, False], ids=["met-then-city", "city-then-met"])
def test_two_forces_for_the_same_months_add_up_in_either_order(store, met_first):
    met = [source(f"met-{m}.csv", MET_BYTES[m]) for m in MONTHS]
    city = [source(city_file(m).name, CITY_BYTES[m]) for m in MONTHS]
    for batch in (met, city) if met_first else (city, met):
        store.import_files(batch, "analyst@example.org", "street_crime")
    both = [*MET_BYTES.values(), *CITY_BYTES.values()]
    expected = asb(both, "Tower Hamlets")
    assert all(asb(list(CITY_BYTES.values()), "Tower Hamlets")[m] for m in MONTHS)  # the City's files do reach in
    assert a4(store) == {m: float(expected[m]) for m in MONTHS}
    assert a4(store, "City of London") == {m: float(asb(both, "City of London")[m]) for m in MONTHS}
    assert a4(store, "Hackney") == {m: float(asb(both, "Hackney")[m]) for m in MONTHS}


def test_a_corrected_month_replaces_only_that_forces_month(store):
    store.import_files([source(f"met-{m}.csv", MET_BYTES[m]) for m in MONTHS], "analyst@example.org", "street_crime")
    store.import_files([source(city_file(m).name, CITY_BYTES[m]) for m in MONTHS], "analyst@example.org",
                       "street_crime")
    corrected = csv_bytes(met_rows("2014-10", 2, n=250))  # the Met re-issues October
    result = store.import_files([source("met-2014-10-v2.csv", corrected)], "analyst@example.org", "street_crime")
    files = [MET_BYTES["2014-09"], corrected, MET_BYTES["2014-11"], *CITY_BYTES.values()]
    expected = asb(files, "Tower Hamlets")
    assert a4(store) == {m: float(expected[m]) for m in MONTHS}
    assert [c.period for c in result.changes] == ["2014/15 Q3"]  # the preview names the quarter it moves
    # the City's October still counts: its slice is (City of London Police, 2014-10), not the Met's
    assert a4(store, "City of London")["2014-10"] == asb([corrected, CITY_BYTES["2014-10"]], "City of London")["2014-10"]


def test_withdrawing_one_forces_upload_takes_out_only_its_records(store):
    store.import_files([source(f"met-{m}.csv", MET_BYTES[m]) for m in MONTHS], "analyst@example.org", "street_crime")
    res = store.import_files([source(city_file(m).name, CITY_BYTES[m]) for m in MONTHS], "analyst@example.org",
                             "street_crime")
    city_ids = [u["upload_id"] for u in res.uploads]
    for uid in city_ids:
        store.withdraw(uid, "analyst@example.org", "loaded by mistake")
    only_met = asb(list(MET_BYTES.values()), "Tower Hamlets")
    assert a4(store) == {m: float(only_met[m]) for m in MONTHS}
    assert a4(store, "City of London") == {m: float(asb(list(MET_BYTES.values()), "City of London")[m]) for m in MONTHS}
    # and withdrawing the Met's September leaves the City's September records alone, without a Tower Hamlets figure
    store.import_files([source(city_file("2014-09").name + ".again.csv", CITY_BYTES["2014-09"] + b"\r\n")],
                       "analyst@example.org", "street_crime")
    store.withdraw(1, "analyst@example.org")
    assert "2014-09" not in a4(store)
    assert a4(store, "City of London")["2014-09"] == asb([CITY_BYTES["2014-09"]], "City of London")["2014-09"]


def test_the_same_crime_is_counted_once(store):
    """Within a file (police.uk lists some crimes once per outcome) and across two forces' files for one month."""
    rows = met_rows("2014-09", 3)
    crimes = [r for r in rows if r[0]]
    twice = [[*r[:10], "Status update unavailable", ""] for r in crimes[:20]]  # the same crimes, a second outcome
    city = [r for r in read_rows(CITY_BYTES["2014-09"]) if r["Crime ID"]]
    shared = [[*crimes[k][:2], "City of London Police", "City of London Police", *crimes[k][4:]] for k in range(20, 35)]
    city_rows = [list(r.values()) for r in city] + shared  # fifteen Met crimes also in the City's file
    store.import_files([source("met.csv", csv_bytes(rows + twice)), source("city.csv", csv_bytes(city_rows))],
                       "analyst@example.org", "street_crime")
    con = store.cursor()
    con.execute("CREATE OR REPLACE TEMP VIEW counted AS "
                + effective_sql(store.cat.dataset("street_crime"), [parse_period("2014-09")]))
    n, distinct = con.execute("SELECT count(*), count(DISTINCT crime_id) FROM counted WHERE crime_id IS NOT NULL"
                              ).fetchone()
    expected = len({r[0] for r in crimes} | {r["Crime ID"] for r in city})
    assert n == distinct == expected
    # ASB rows have no Crime ID: every one counts (the City's rows above are its crimes only)
    assert con.execute("SELECT count(*) FROM counted WHERE crime_id IS NULL").fetchone()[0] == sum(1 for r in rows
                                                                                                 if not r[0])


def test_a_neighbouring_forces_file_alone_is_flagged_and_not_rated(store):
    data = CITY_BYTES["2014-09"]
    rows = read_rows(data)
    in_area = sum(1 for r in rows if r["LSOA name"][:-5] == "Tower Hamlets")
    preview = store.import_files([source("city.csv", data)], "analyst@example.org", "street_crime", dry_run=True)
    (u,) = preview.uploads
    assert (u["rows"], u["rows_in_area"], u["forces"]) == (len(rows), in_area, ["City of London Police"])
    assert any("city.csv: reported by City of London Police, not Metropolitan Police Service, which polices Tower "
               f"Hamlets; {in_area:,} of its {len(rows):,} rows fall in Tower Hamlets." == w for w in preview.warnings)
    assert any("The figures of Tower Hamlets for 2014-09 are left out until Metropolitan Police Service" in w
               for w in preview.warnings)
    store.import_files([source("city.csv", data)], "analyst@example.org", "street_crime")
    assert "2014-09" not in a4(store)  # no tiny figure rated as if it were the month
    assert a4(store, "City of London")["2014-09"] == asb([data], "City of London")["2014-09"]
    # the Met's own file says nothing of the kind
    met = store.import_files([source("met.csv", MET_BYTES["2014-09"])], "analyst@example.org", "street_crime")
    assert met.warnings == []
    assert met.uploads[0]["rows_in_area"] == sum(1 for r in read_rows(MET_BYTES["2014-09"])
                                                 if r["LSOA name"][:-5] == "Tower Hamlets")


def test_the_cli_reports_rows_in_the_area_and_the_force_warning(tmp_path):
    db = tmp_path / "csp.duckdb"
    city = city_file("2014-10")
    Store(db, load_catalogue(CONFIG)).close()  # as `init` makes it: import never makes a database
    cmd = [sys.executable, "-m", "cspdash", "--db", str(db), "--config", str(CONFIG), "import", str(city),
           "--dataset", "street_crime", "--user", "analyst@example.org"]
    as_json = subprocess.run([*cmd, "--dry-run", "--format", "json"], capture_output=True, text=True, cwd=ROOT,
                             timeout=120, check=False)
    assert as_json.returncode == 0, as_json.stderr
    out = json.loads(as_json.stdout)
    rows = read_rows(city.read_bytes())
    in_area = sum(1 for r in rows if r["LSOA name"][:-5] == "Tower Hamlets")
    assert out["uploads"][0]["rows_in_area"] == in_area and out["uploads"][0]["forces"] == ["City of London Police"]
    assert any("not Metropolitan Police Service" in w for w in out["warnings"])
    as_table = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert as_table.returncode == 0, as_table.stderr
    assert f"{in_area} in Tower Hamlets" in as_table.stdout
    assert "warning: city" not in as_table.stdout and "not Metropolitan Police Service" in as_table.stderr
