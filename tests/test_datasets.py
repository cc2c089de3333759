"""Tests for cspdash.datasets: record-level formats (police.uk street, MPS borough and ward), staging and measures.

Figures are checked against independent counts made here with Python's csv module, never with DuckDB.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from cspdash import datasets as ds
from cspdash.config import loads_catalogue
from cspdash.errors import ConfigError
from cspdash.ingest import SourceFile, ValidationError
from cspdash.periods import parse_period
from cspdash.store import Store

DATA = Path(__file__).resolve().parent / "data"
POLICE = DATA / "police-uk-city-of-london"
BOROUGH_CSV = DATA / "london-datastore" / "mps-borough-level-crime-2024-01-to-2025-12.csv"
WARD_CSV = DATA / "london-datastore" / "mps-ward-tower-hamlets-sample.csv"

CATALOGUE = """\
partnership: {name: Test Partnership, area: Tower Hamlets, police_force: City of London Police}
periods: {first: 2010/11 Q1, last: 2030/31 Q4}
priorities:
  - {id: A, title: Crime}
subgroups:
  - {id: ops, name: Operations, priority: A}
datasets:
  street_crime: {format: police_uk_street}
  borough_crime: {format: mps_borough}
  ward_crime: {format: mps_ward}
indicators:
  - id: A1
    priority: A
    owner: ops
    title: ASB
    unit: count
    frequency: quarterly
    direction: decrease
    target: {type: none}
    measure: {dataset: street_crime, aggregate: "count(*)", where: "crime_type = 'Anti-social behaviour'"}
  - id: ROB
    priority: A
    owner: ops
    title: Robbery
    unit: count
    frequency: monthly
    direction: decrease
    target: {type: none}
    measure: {dataset: street_crime, aggregate: "count(*)", where: "crime_type = 'Robbery'"}
  - id: TOTAL
    priority: A
    owner: ops
    title: All recorded crime by borough
    unit: count
    frequency: monthly
    direction: decrease
    target: {type: none}
    measure: {dataset: borough_crime, aggregate: "sum(value)", area: borough_name}
  - id: VWI
    priority: A
    owner: ops
    title: Violence with injury
    unit: count
    frequency: monthly
    direction: decrease
    target: {type: none}
    measure: {dataset: borough_crime, aggregate: "sum(value)", where: "minor_text = 'VIOLENCE WITH INJURY'", area: borough_name}
  - id: WARD
    priority: A
    owner: ops
    title: Recorded crime by ward
    unit: count
    frequency: monthly
    direction: decrease
    target: {type: none}
    measure: {dataset: ward_crime, aggregate: "sum(value)", area: ward_name}
"""


@pytest.fixture(scope="module")
def cat():
    return loads_catalogue(CATALOGUE, "test catalogue")


@pytest.fixture
def store(tmp_path, cat):
    s = Store(tmp_path / "csp.duckdb", cat)
    yield s
    s.close()


def counts(store: Store) -> dict[str, int]:
    cur = store.cursor()
    tables = ["uploads", "observations", "commentary", "events", "ds_street_crime", "ds_borough_crime", "ds_ward_crime"]
    return {t: cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


def refuse(store: Store, files: list[SourceFile], dataset: str) -> ValidationError:
    before = counts(store), store.history()
    with pytest.raises(ValidationError) as info:
        store.import_files(files, "analyst@example.org", dataset)
    assert (counts(store), store.history()) == before
    return info.value


def observations(store: Store, indicator: str) -> dict[tuple[str, str], float]:
    rows = store.cursor().execute("SELECT period, area, value FROM observations WHERE indicator = ?", [indicator]).fetchall()
    return {(p, a): v for p, a, v in rows}


def csv_text(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue()


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        return list(csv.reader(f))


POLICE_HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location", "LSOA code",
                 "LSOA name", "Crime type", "Last outcome category", "Context"]


def police_row(month: str = "2018-05", crime_type: str = "Burglary", lon: str = "-0.09", crime_id: str = "c1") -> list[str]:
    return [crime_id, month, "City of London Police", "City of London Police", lon, "51.51", "On or near Cheapside",
            "E01000001", "City of London 001A", crime_type, "Under investigation", ""]


# --- column names -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("header", "column"), [
    ("Crime ID", "crime_id"), ("Crime type", "crime_type"), ("LSOA code", "lsoa_code"), ("Last outcome category",
     "last_outcome_category"), ("MajorText", "major_text"), ("MinorText", "minor_text"), ("BoroughName", "borough_name"),
    ("WardCode", "ward_code"), ("LookUp_BoroughName", "look_up_borough_name"), ("  Month ", "month"),
])
def test_snake(header, column):
    assert ds.snake(header) == column


# --- catalogue SQL is compiled when the catalogue loads ----------------------------------------------------------

def catalogue_with(measure: str) -> str:
    return CATALOGUE.replace('measure: {dataset: street_crime, aggregate: "count(*)", where: "crime_type = \'Robbery\'"}',
                             f"measure: {measure}")


def test_the_contract_form_is_accepted_exactly_as_written(cat):
    a1 = cat.indicator("A1")
    assert (a1.measure.dataset, a1.measure.aggregate, a1.measure.where) == (
        "street_crime", "count(*)", "crime_type = 'Anti-social behaviour'")


@pytest.mark.parametrize(("measure", "where", "words"), [
    ('{dataset: street_crime, aggregate: "count(*); DROP TABLE uploads"}', "indicators[ROB].measure.aggregate",
     "write one SQL expression"),
    ('{dataset: street_crime, aggregate: "count(*)", where: "1=1; DELETE FROM uploads"}', "indicators[ROB].measure.where",
     "write one SQL expression"),
    ('{dataset: street_crime, aggregate: "count(*)", area: "lsoa_name; DROP TABLE x"}', "indicators[ROB].measure.area",
     "write one SQL expression"),
    ('{dataset: street_crime, query: "DELETE FROM street_crime"}', "indicators[ROB].measure.query",
     "must be a query (SELECT), not DELETE"),
    ('{dataset: street_crime, query: "SELECT month AS period, 1 AS value FROM street_crime; DROP TABLE uploads"}',
     "indicators[ROB].measure.query", "must be a single expression or query, found 2 statements"),
    ('{dataset: street_crime, query: "SELECT month FROM street_crime"}', "indicators[ROB].measure.query",
     "must return columns period, value"),
    ('{dataset: street_crime, aggregate: "count(*)", where: "crime_typo = \'Robbery\'"}', "indicators[ROB].measure",
     "does not compile against dataset 'street_crime'"),
    ('{dataset: street_crime, aggregate: "sum(value)"}', "indicators[ROB].measure", "columns available: crime_id"),
    ('{dataset: street_crime, aggregate: "count(*"}', "indicators[ROB].measure.aggregate", "does not parse"),
    ('{dataset: no_such, aggregate: "count(*)"}', "indicators[ROB].measure.dataset", "no dataset named 'no_such'"),
])
def test_bad_measure_sql_is_refused_when_the_catalogue_loads(measure, where, words):
    with pytest.raises(ConfigError) as info:
        loads_catalogue(catalogue_with(measure))
    assert any(p.startswith(where) and words in p for p in info.value.problems), info.value.problems


def test_a_query_measure_is_accepted():
    q = '{dataset: street_crime, query: "SELECT month AS period, count(*) AS value FROM street_crime GROUP BY month"}'
    assert loads_catalogue(catalogue_with(q)).indicator("ROB").measure.query


# --- police.uk street-level crime ---------------------------------------------------------------------------------

def test_two_real_police_files_give_the_independent_monthly_counts(store):
    files = [POLICE / "2014-09-city-of-london-street.csv", POLICE / "2014-10-city-of-london-street.csv"]
    store.import_files([SourceFile.from_path(p) for p in files], "analyst@example.org", "street_crime")
    expected: Counter = Counter()
    rows = 0
    seen: set[str] = set()
    for p in files:
        for r in read_csv(p)[1:]:
            rows += 1
            if r[9] == "Robbery" and r[0] not in seen:  # a crime listed twice (two outcomes) is one crime
                expected[r[1]] += 1
            if r[0]:
                seen.add(r[0])
    assert observations(store, "ROB") == {("2014-09", ""): expected["2014-09"], ("2014-10", ""): expected["2014-10"]}
    assert counts(store)["ds_street_crime"] == rows
    # ASB rows have no Crime ID and are kept
    cur = store.cursor()
    assert cur.execute("SELECT count(*) FROM ds_street_crime WHERE crime_type = 'Anti-social behaviour' "
                       "AND crime_id IS NULL").fetchone()[0] > 0


def test_a_month_without_matching_rows_counts_zero(store):
    text = csv_text([POLICE_HEADER, police_row("2018-05", "Burglary", crime_id="c1"),
                     police_row("2018-06", "Robbery", crime_id="c2")])
    store.import_files([SourceFile("street.csv", text.encode())], "u", "street_crime")
    assert observations(store, "ROB") == {("2018-05", ""): 0.0, ("2018-06", ""): 1.0}


@pytest.mark.parametrize("crime_type", ["Robbery", ""], ids=["stored", "refused"])
def test_the_imports_memory_cap_is_lifted_afterwards(store, crime_type):
    """DuckDB's memory is capped only while an import loads (extracts.memory_capped): the app's queries after it
    have DuckDB's default again, whether the import was stored or refused."""
    setting = "SELECT current_setting('memory_limit')"
    before = store.cursor().execute(setting).fetchone()[0]
    src = SourceFile("street.csv", csv_text([POLICE_HEADER, police_row(crime_type=crime_type)]).encode())
    if crime_type:
        store.import_files([src], "u", "street_crime")
    else:
        refuse(store, [src], "street_crime")
    assert store.cursor().execute(setting).fetchone()[0] == before


def test_an_import_that_needs_more_than_the_cap_is_stored_without_it(store, monkeypatch):
    """Out of memory under the import's cap (scaled down here to a few megabytes), the import is rolled back and
    tried again without the cap: the file is stored once, with its figures, and nothing is refused."""
    from cspdash import extracts

    monkeypatch.setattr(extracts, "IMPORT_MEMORY_LIMIT", "8MB")
    files = [POLICE / "2014-09-city-of-london-street.csv", POLICE / "2014-10-city-of-london-street.csv"]
    result = store.import_files([SourceFile.from_path(p) for p in files], "analyst@example.org", "street_crime")
    rows = sum(len(read_csv(p)) - 1 for p in files)
    assert [u["rows"] for u in result.uploads] == [len(read_csv(p)) - 1 for p in files]
    assert (counts(store)["uploads"], counts(store)["ds_street_crime"]) == (2, rows)
    assert set(observations(store, "ROB")) == {("2014-09", ""), ("2014-10", "")}


def tampered(path: Path, row: int, column: str, value: str) -> SourceFile:
    """The real file with one cell changed; ``row`` counts the header as row 1."""
    rows = read_csv(path)
    rows[row - 1][POLICE_HEADER.index(column)] = value
    return SourceFile(path.name, csv_text(rows).encode())


@pytest.mark.parametrize("bad_month", ["Oct-14", "2014-13", "10/2014", "", "2014-1"])
def test_police_file_with_a_bad_month_in_one_row_is_refused_with_its_row(store, bad_month):
    good = SourceFile.from_path(POLICE / "2014-09-city-of-london-street.csv")
    bad = tampered(POLICE / "2014-10-city-of-london-street.csv", 57, "Month", bad_month)
    err = refuse(store, [good, bad], "street_crime")
    assert [(p.file, p.row, p.column, p.value) for p in err.problems] == [
        ("2014-10-city-of-london-street.csv", 57, "month", bad_month)]
    assert "YYYY-MM" in err.problems[0].message


H = ",".join(POLICE_HEADER)

STREET_RULES = [
    ("missing column", csv_text([POLICE_HEADER[:9] + POLICE_HEADER[10:], police_row()[:9] + police_row()[10:]]),
     [(1, "crime_type", "the column 'crime_type' is missing")]),
    ("unexpected column", csv_text([[*POLICE_HEADER, "Colour"], [*police_row(), "red"]]),
     [(1, "Colour", "unexpected column")]),
    ("empty crime type", csv_text([POLICE_HEADER, police_row(), police_row(crime_type="")]),
     [(3, "crime_type", "the cell is empty")]),
    ("longitude not a number", csv_text([POLICE_HEADER, police_row(lon="west")]), [(2, "longitude", "not a number")]),
    ("month outside the range", csv_text([POLICE_HEADER, police_row("2018-05"), police_row("2009-05"), police_row("2009-05")]),
     [(3, "month", "outside the catalogue's range")]),
    ("header only", H + "\r\n", [(2, None, "no data rows")]),
    ("empty file", "", [(None, None, "the file is empty")]),
    ("not police.uk at all", "indicator,period,value\r\nA1,2018/19 Q1,5\r\n",
     [(1, "crime_id", "missing"), (1, "month", "missing")]),
]


@pytest.mark.parametrize(("case", "text", "expected"), STREET_RULES, ids=[r[0] for r in STREET_RULES])
def test_street_rules(store, case, text, expected):
    err = refuse(store, [SourceFile("street.csv", text.encode())], "street_crime")
    got = [(p.row, p.column, p.message) for p in err.problems]
    for (row, column, words) in expected:
        assert any(r == row and c == column and words in m for r, c, m in got), got


def test_binary_police_file_is_refused(store):
    err = refuse(store, [SourceFile("street.csv", bytes(range(256)) * 4)], "street_crime")
    assert "not a text file" in err.problems[0].message


def test_parquet_named_csv_is_refused(store, tmp_path):
    err = refuse(store, [SourceFile("street.csv", b"PAR1" + b"\x00" * 64 + b"PAR1")], "street_crime")
    assert err.problems[0].file == "street.csv"


@pytest.mark.parametrize("name", ["street.xlsx", "street.xlsm", "street.txt"])
def test_dataset_extensions(store, name):
    err = refuse(store, [SourceFile(name, csv_text([POLICE_HEADER, police_row()]).encode())], "street_crime")
    assert err.problems[0].row is None


def test_police_file_in_windows_1252_and_with_bom(store):
    rows = [POLICE_HEADER, police_row(crime_type="Robbery", crime_id="c1"),
            [*police_row(crime_type="Robbery", crime_id="c2")[:6], "On or near Café Row", *police_row()[7:9], "Robbery",
             "Under investigation", ""]]
    store.import_files([SourceFile("cp1252.csv", csv_text(rows).encode("cp1252"))], "u", "street_crime")
    june = csv_text(rows[:2]).replace("2018-05", "2018-06").replace("c1,", "c3,")
    store.import_files([SourceFile("bom.csv", b"\xef\xbb\xbf" + june.encode())], "u", "street_crime")
    assert observations(store, "ROB") == {("2018-05", ""): 2.0, ("2018-06", ""): 1.0}
    assert store.cursor().execute("SELECT count(*) FROM ds_street_crime WHERE location = 'On or near Café Row'"
                                  ).fetchone()[0] == 1


def test_an_extract_over_the_size_limit_is_refused_before_it_is_read(store, monkeypatch):
    from cspdash import ingest

    monkeypatch.setattr(ingest, "MAX_DATASET_BYTES", 50)  # the limit (512 MB) scaled down to this small file
    src = SourceFile("street.csv", csv_text([POLICE_HEADER, police_row()]).encode())
    with pytest.raises(ValidationError) as info:
        store.import_files([src], "u", "street_crime")
    assert "MB limit" in info.value.problems[0].message
    assert store.is_empty()


# --- London Datastore: MPS borough and ward tables -----------------------------------------------------------------

def wide_totals(path: Path, area_column: str, where=lambda r: True) -> dict[tuple[str, str], int]:
    """Independent monthly totals of a Datastore wide CSV, by area ('' for Tower Hamlets)."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        months = [h for h in reader.fieldnames if h.isdigit()]
        totals: Counter = Counter()
        for r in reader:
            if not where(r):
                continue
            area = "" if r[area_column] == "Tower Hamlets" else r[area_column]
            for m in months:
                if r[m] != "":
                    totals[(f"{m[:4]}-{m[4:]}", area)] += int(r[m])
    return dict(totals)


def test_borough_csv_reproduces_the_files_monthly_totals(store):
    store.import_files([SourceFile.from_path(BOROUGH_CSV)], "analyst@example.org", "borough_crime")
    expected = wide_totals(BOROUGH_CSV, "BoroughName")
    got = observations(store, "TOTAL")
    assert got == expected
    assert len(got) == 24 * len({a for _, a in expected})
    assert observations(store, "VWI") == wide_totals(BOROUGH_CSV, "BoroughName",
                                                     lambda r: r["MinorText"] == "VIOLENCE WITH INJURY")
    n_rows = len(read_csv(BOROUGH_CSV)) - 1
    assert counts(store)["ds_borough_crime"] == n_rows * 24  # unpivoted: one row per category, area and month
    # The whole of London, month by month, equals the column totals of the file.
    with BOROUGH_CSV.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        col_totals = Counter()
        for r in reader:
            for h in reader.fieldnames[3:]:
                col_totals[f"{h[:4]}-{h[4:]}"] += int(r[h])
    london = Counter()
    for (month, _area), v in got.items():
        london[month] += v
    assert london == col_totals


def test_borough_quarter_status_is_the_sum_of_its_months(store):
    store.import_files([SourceFile.from_path(BOROUGH_CSV)], "analyst@example.org", "borough_crime")
    vwi = wide_totals(BOROUGH_CSV, "BoroughName", lambda r: r["MinorText"] == "VIOLENCE WITH INJURY")
    for label, months in [("2024/25 Q1", ["2024-04", "2024-05", "2024-06"]), ("2025/26 Q3", ["2025-10", "2025-11", "2025-12"])]:
        status = {s.indicator: s for s in store.statuses(parse_period(label))}["VWI"]
        assert status.value == sum(vwi[(m, "")] for m in months)
        assert status.complete
    # January-March 2024 are in the file, but 2023/24 Q4 began in January: complete; 2023/24 Q3 has nothing.
    assert {s.indicator: s for s in store.statuses(parse_period("2023/24 Q4"))}["VWI"].complete
    q3 = {s.indicator: s for s in store.statuses(parse_period("2023/24 Q3"))}["VWI"]
    assert (q3.value, q3.rag) == (None, "no_data")
    westminster = [r for r in store.area_values("VWI", parse_period("2024/25 Q1")) if r["area"] == "Westminster"]
    assert westminster[0]["value"] == sum(vwi[(m, "Westminster")] for m in ["2024-04", "2024-05", "2024-06"])


def test_ward_fixture_imports_and_reproduces_its_totals(store):
    header = read_csv(WARD_CSV)[0]
    assert header[:5] == ["MajorText", "MinorText", "WardName", "WardCode", "LookUp_BoroughName"]
    res = store.import_files([SourceFile.from_path(WARD_CSV)], "analyst@example.org", "ward_crime")
    n_rows, n_months = len(read_csv(WARD_CSV)) - 1, len(header) - 5
    assert res.uploads[0]["rows"] == n_rows * n_months
    assert observations(store, "WARD") == wide_totals(WARD_CSV, "WardName")


def test_wide_table_from_parquet(store, tmp_path):
    pq = tmp_path / "ward.parquet"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_csv('{WARD_CSV}', header = true, all_varchar = true)) TO '{pq}' (FORMAT parquet)")
    con.close()
    store.import_files([SourceFile.from_path(pq)], "u", "ward_crime")
    assert observations(store, "WARD") == wide_totals(WARD_CSV, "WardName")


BOROUGH_HEADER = ["MajorText", "MinorText", "BoroughName", "202401", "202402"]

WIDE_RULES = [
    ("negative count", [BOROUGH_HEADER, ["BURGLARY", "BURGLARY BUSINESS", "Hackney", "3", "-1"]],
     [(2, "202402", "not a whole number")]),
    ("not a number", [BOROUGH_HEADER, ["BURGLARY", "BURGLARY BUSINESS", "Hackney", "3", "4"],
                      ["BURGLARY", "BURGLARY RESIDENTIAL", "Hackney", "three", "4"]], [(3, "202401", "not a whole number")]),
    ("fraction", [BOROUGH_HEADER, ["BURGLARY", "BURGLARY BUSINESS", "Hackney", "3.5", "4"]],
     [(2, "202401", "not a whole number")]),
    ("empty borough", [BOROUGH_HEADER, ["BURGLARY", "BURGLARY BUSINESS", "", "3", "4"]], [(2, "borough_name", "empty")]),
    ("no month columns", [BOROUGH_HEADER[:3], ["BURGLARY", "BURGLARY BUSINESS", "Hackney"]],
     [(1, None, "no month columns")]),
    ("missing borough column", [["MajorText", "MinorText", "202401"], ["BURGLARY", "BURGLARY BUSINESS", "3"]],
     [(1, "borough_name", "missing")]),
    ("duplicate row", [BOROUGH_HEADER, ["BURGLARY", "BURGLARY BUSINESS", "Hackney", "3", "4"],
                       ["ROBBERY", "ROBBERY OF PERSONAL PROPERTY", "Hackney", "3", "4"],
                       ["BURGLARY", "BURGLARY BUSINESS", "Hackney", "3", "4"]], [(4, None, "duplicate row")]),
    ("month outside the range", [["MajorText", "MinorText", "BoroughName", "200901"],
                                 ["BURGLARY", "BURGLARY BUSINESS", "Hackney", "3"]], [(1, "200901", "outside")]),
]


@pytest.mark.parametrize(("case", "rows", "expected"), WIDE_RULES, ids=[r[0] for r in WIDE_RULES])
def test_wide_rules(store, case, rows, expected):
    err = refuse(store, [SourceFile("borough.csv", csv_text(rows).encode())], "borough_crime")
    got = [(p.row, p.column, p.message) for p in err.problems]
    assert len(got) == len(expected), got
    for (row, column, words), (r, c, m) in zip(expected, got, strict=True):
        assert (r, c) == (row, column) and words in m, got


def test_empty_month_cells_are_not_zero(store):
    rows = [BOROUGH_HEADER, ["BURGLARY", "BURGLARY BUSINESS", "Tower Hamlets", "3", ""]]
    store.import_files([SourceFile("borough.csv", csv_text(rows).encode())], "u", "borough_crime")
    assert observations(store, "TOTAL") == {("2024-01", ""): 3.0}


def test_real_borough_file_with_one_bad_cell_is_refused_and_nothing_stored(store):
    rows = read_csv(BOROUGH_CSV)
    rows[500][10] = "n/a"
    err = refuse(store, [SourceFile(BOROUGH_CSV.name, csv_text(rows).encode())], "borough_crime")
    assert [(p.row, p.column, p.value) for p in err.problems] == [(501, rows[0][10], "n/a")]
