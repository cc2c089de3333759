"""Tests for cspdash.ingest: reading uploaded returns safely and validating them before anything is stored.

Every refused file is imported through the Store, so each case also proves that nothing was stored: the
row counts of every table and the upload history are compared before and after.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from cspdash import ingest
from cspdash.config import load_catalogue
from cspdash.ingest import SourceFile, ValidationError, parse_number, parse_return, read_rows, safe_name
from cspdash.store import Store

DATA = Path(__file__).resolve().parent / "data"
CATALOGUE = DATA / "catalogues" / "returns.yaml"
BASELINE = b"indicator,period,value,commentary\nA1,2016/17 Q1,90,baseline\n"


@pytest.fixture(scope="module")
def cat():
    return load_catalogue(CATALOGUE)


@pytest.fixture
def store(tmp_path, cat):
    s = Store(tmp_path / "csp.duckdb", cat)
    s.import_files([SourceFile("baseline.csv", BASELINE)], "baseline@example.org")
    yield s
    s.close()


def snapshot(store: Store) -> dict:
    """Row counts of every table, and the history: equal before and after means nothing was stored."""
    cur = store.cursor()
    tables = ["uploads", "observations", "commentary", "events", *(f"ds_{d.name}" for d in store.cat.datasets)]
    counts = {t: cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    return {"counts": counts, "history": store.history(), "version": store.data_version()}


def refuse(store: Store, *files: SourceFile, dataset: str | None = None) -> ValidationError:
    """Import ``files``, expect a refusal, and check that nothing was stored."""
    before = snapshot(store)
    with pytest.raises(ValidationError) as info:
        store.import_files(list(files), "chair@example.org", dataset)
    assert snapshot(store) == before
    assert "nothing was stored" in str(info.value)
    return info.value


def csv_file(name: str, text: str, encoding: str = "utf-8") -> SourceFile:
    return SourceFile(name, text.encode(encoding))


def xlsx_bytes(rows: list[list], sheet_name: str = "Return") -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet_name
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def rezip(data: bytes, change=None, add: dict[str, bytes] | None = None) -> bytes:
    """The zip ``data`` with each member passed through ``change(name, bytes)`` and ``add`` members added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            body = zin.read(info.filename)
            zout.writestr(info.filename, change(info.filename, body) if change else body)
        for name, body in (add or {}).items():
            zout.writestr(name, body)
    return out.getvalue()


# --- every validation rule: the file is refused with row, column, value and fix; nothing is stored -------------

H = "indicator,period,value\n"
HR = "indicator,period,value,numerator,denominator,commentary\n"

# (case, file name, file text, [(row, column, words in the message)])
RULES = [
    ("missing period column", "r.csv", "indicator,value\nA1,5\n", [(1, "period", "is missing")]),
    ("missing indicator column", "r.csv", "period,value\n2018/19 Q1,5\n", [(1, "indicator", "is missing")]),
    ("no value column", "r.csv", "indicator,period\nA1,2018/19 Q1\n", [(1, "value", "no value column")]),
    ("unknown column", "r.csv", "indicator,period,value,colour\nA1,2018/19 Q1,5,red\n",
     [(1, "colour", "unknown column")]),
    ("unknown indicator", "r.csv", H + "A1,2018/19 Q1,5\nZ9,2018/19 Q1,5\n", [(3, "indicator", "unknown indicator")]),
    ("empty indicator", "r.csv", H + ",2018/19 Q1,5\n", [(2, "indicator", "the indicator is empty")]),
    ("period before the range", "r.csv", H + "A1,2014/15 Q4,5\n", [(2, "period", "outside the catalogue's range")]),
    ("period after the range", "r.csv", H + "A1,FY2021/22 Q1,5\n", [(2, "period", "outside the catalogue's range")]),
    ("date outside the range", "r.csv", H + "A1,31/03/2015,5\n", [(2, "period", "outside the catalogue's range")]),
    ("bad period words", "r.csv", H + "A1,next quarter,5\n", [(2, "period", "not a period")]),
    ("quarter 5", "r.csv", H + "A1,2018/19 Q5,5\n", [(2, "period", "Q5 does not exist")]),
    ("years not consecutive", "r.csv", H + "A1,2018/20 Q1,5\n", [(2, "period", "must be followed by 19")]),
    ("not a real date", "r.csv", H + "A1,31/02/2018,5\n", [(2, "period", "not a real date")]),
    ("empty period", "r.csv", H + "A1,,5\n", [(2, "period", "the period is empty")]),
    ("quarterly indicator given a month", "r.csv", H + "A1,2018-05,5\n", [(2, "period", "quarterly indicator")]),
    ("monthly indicator given a year", "r.csv", H + "A2,2018/19,5\n", [(2, "period", "monthly indicator")]),
    ("annual indicator given a quarter", "r.csv", H + "B2,2018/19 Q1,5\n", [(2, "period", "annual indicator")]),
    ("duplicate row", "r.csv", H + "A1,2018/19 Q1,5\nA1,2018/19 Q2,6\nA1,Q1 2018/19,7\n",
     [(4, "period", "duplicate row: A1 2018/19 Q1 is already given in row 2")]),
    ("duplicate through a date", "r.csv", H + "A1,2018/19 Q1,5\nA1,30/06/2018,5\n", [(3, "period", "duplicate row")]),
    ("numerator > denominator", "r.csv", HR + "B1,2018/19 Q1,,60,50,\n",
     [(2, "numerator", "numerator 60 is larger than denominator 50")]),
    ("negative count", "r.csv", H + "A1,2018/19 Q1,-3\n", [(2, "value", "negative figures are not allowed")]),
    ("negative numerator and denominator", "r.csv", HR + "B1,2018/19 Q1,,-1,-5,\n",
     [(2, "numerator", "negative"), (2, "denominator", "negative")]),
    ("non-number", "r.csv", H + "A1,2018/19 Q1,ten\n", [(2, "value", "not a number")]),
    ("number with a comma decimal", "r.csv", H + 'A1,2018/19 Q1,"12,5"\n', [(2, "value", "not a number")]),
    ("count not whole", "r.csv", H + "A1,2018/19 Q1,2.5\n", [(2, "value", "must be a whole number")]),
    ("percent over 100", "r.csv", H + "B1,2018/19 Q1,101\n", [(2, "value", "cannot be over 100")]),
    ("value disagrees with the ratio", "r.csv", HR + "B1,2018/19 Q1,40,1,2,\n",
     [(2, "value", "does not match numerator / denominator (50.0)")]),
    ("denominator zero", "r.csv", HR + "B1,2018/19 Q1,,0,0,\n", [(2, "denominator", "the denominator is 0")]),
    ("numerator alone", "r.csv", HR + "B1,2018/19 Q1,,5,,\n", [(2, "denominator", "given together")]),
    ("ratio for a count", "r.csv", HR + "A1,2018/19 Q1,,5,10,\n", [(2, "numerator", "not a percentage or rate")]),
    ("empty value", "r.csv", H + "A1,2018/19 Q1,\n", [(2, "value", "the value is empty")]),
    ("formula text", "r.csv", H + "A1,2018/19 Q1,=SUM(B2:B4)\n", [(2, "value", "not a number")]),
    ("commentary too long", "r.csv", "indicator,period,value,commentary\nA1,2018/19 Q1,5," + "x" * 4001 + "\n",
     [(2, "commentary", "longer than 4,000 characters")]),
    # Figures a count cell must not hold (issue 13): say which cell and why.
    ("percentage in a count", "r.csv", H + "A1,2018/19 Q1,12%\n", [(2, "value", "a percentage in a cell that holds a count")]),
    ("percentage in a numerator", "r.csv", HR + "B1,2018/19 Q1,,12%,50,\n", [(2, "numerator", "a percentage in a cell")]),
    ("space inside a figure", "r.csv", H + "A1,2018/19 Q1,4 5\n", [(2, "value", "has a space inside it")]),
    ("space inside a denominator", "r.csv", HR + "B1,2018/19 Q1,,4,5 0,\n", [(2, "denominator", "a space inside it")]),
    ("Arabic-Indic digits", "r.csv", H + "A1,2018/19 Q1,١٢٣\n", [(2, "value", "digits other than 0-9")]),
    ("full-width digits", "r.csv", H + "A1,2018/19 Q1,１２\n", [(2, "value", "digits other than 0-9")]),
    ("minus zero", "r.csv", H + "A1,2018/19 Q1,-0\n", [(2, "value", "a minus sign on 0")]),
    ("minus zero numerator", "r.csv", HR + "B1,2018/19 Q1,,-0.0,5,\n", [(2, "numerator", "a minus sign on 0")]),
    ("unquoted thousands separator", "r.csv", H + "A1,2018/19 Q1,1,234\n", [(2, None, "the row has 4 cells")]),
    ("header only", "r.csv", H, [(2, None, "no data rows")]),
    ("blank lines only", "r.csv", "\n\n\n", [(1, None, "no header row")]),
    ("empty file", "r.csv", "", [(None, None, "the file is empty")]),
    ("text file", "r.txt", H + "A1,2018/19 Q1,5\n", [(None, None, ".txt is not accepted")]),
]


@pytest.mark.parametrize(("case", "name", "text", "expected"), RULES, ids=[r[0] for r in RULES])
def test_each_rule_refuses_the_file_and_stores_nothing(store, case, name, text, expected):
    err = refuse(store, csv_file(name, text))
    got = [(p.row, p.column, p.message) for p in err.problems]
    assert len(got) == len(expected), got
    for (row, column, words), p in zip(expected, err.problems, strict=True):
        assert (p.row, p.column) == (row, column), got
        assert words in p.message, p.message
        assert p.file == name and p.fix  # every problem names the file and says how to fix it


def test_problem_names_file_row_column_value_and_fix(store):
    err = refuse(store, csv_file("asb-return.csv", H + "A1,2018/19 Q1,5\nA1,2018/19 Q2,lots\n"))
    (p,) = err.problems
    assert (p.file, p.row, p.column, p.value) == ("asb-return.csv", 3, "value", "lots")
    assert str(p) == ("asb-return.csv, row 3, column 'value', value 'lots': not a number. "
                      "Fix: type a plain number such as 1234 or 1,234.5")
    assert p.as_dict() == {"file": "asb-return.csv", "row": 3, "column": "value", "value": "lots",
                           "message": "not a number", "fix": "type a plain number such as 1234 or 1,234.5"}


def test_every_problem_in_a_file_is_listed(store):
    text = H + "A1,2018/19 Q1,5\nZ1,2018/19 Q2,5\nA1,2018/19 Q3,-1\nA1,someday,5\nA1,2018/19 Q4,5\n"
    err = refuse(store, csv_file("r.csv", text))
    assert [(p.row, p.column) for p in err.problems] == [(3, "indicator"), (4, "value"), (5, "period")]


def test_problems_beyond_the_limit_are_counted(store):
    text = H + "".join(f"A1,2018/19 Q1,bad{n}\n" for n in range(ingest.MAX_PROBLEMS + 25))
    err = refuse(store, csv_file("r.csv", text))
    assert len(err.problems) == ingest.MAX_PROBLEMS and err.more == 25
    assert "and 25 more problem(s)" in str(err)


def test_one_bad_row_among_good_ones_is_refused_with_its_row_number(store):
    good = [f"A2,{y}-{m:02d},{m}" for y, ms in ((2018, range(4, 13)), (2019, range(1, 4))) for m in ms]
    lines = [*good[:6], "A2,2018-10,1O", *good[6:]]  # the letter O typed for a zero, in row 8
    err = refuse(store, csv_file("monthly.csv", H + "\n".join(lines) + "\n"))
    assert [(p.row, p.column, p.value) for p in err.problems] == [(8, "value", "1O")]


def test_row_numbers_count_blank_lines(store):
    err = refuse(store, csv_file("r.csv", H + "A1,2018/19 Q1,5\n\n,,\nA1,2018/19 Q2,x\n"))
    assert err.problems[0].row == 5


def test_two_files_second_bad_stores_neither(store):
    good = csv_file("good.csv", H + "A1,2018/19 Q1,5\n")
    bad = csv_file("bad.csv", H + "A1,2018/19 Q2,five\n")
    err = refuse(store, good, bad)
    assert {p.file for p in err.problems} == {"bad.csv"}
    assert store.series("A1")[-1]["period"] == "2016/17 Q1"  # only the baseline


def test_problems_of_several_files_are_all_listed(store):
    err = refuse(store, csv_file("one.csv", H + "A1,2018/19 Q1,x\n"), csv_file("two.csv", H + "Q9,2018/19 Q1,5\n"))
    assert [(p.file, p.row) for p in err.problems] == [("one.csv", 2), ("two.csv", 2)]


# --- accepted notations and encodings -----------------------------------------------------------------------------

def imported(store: Store, src: SourceFile) -> dict[tuple[str, str], float | None]:
    store.import_files([src], "chair@example.org")
    cur = store.cursor()
    rows = cur.execute("SELECT indicator, period, value FROM observations WHERE upload_id = "
                       "(SELECT max(upload_id) FROM uploads)").fetchall()
    return {(i, p): v for i, p, v in rows}


@pytest.mark.parametrize(("text", "indicator", "period"), [
    ("2018/19 Q1", "A1", "2018/19 Q1"),
    ("2018-19 Q1", "A1", "2018/19 Q1"),
    ("FY2018/19 Q1", "A1", "2018/19 Q1"),
    ("fy 2018/19 q1", "A1", "2018/19 Q1"),
    ("Q1 2018/19", "A1", "2018/19 Q1"),
    ("Q1 2018-19", "A1", "2018/19 Q1"),
    ("05/04/2018", "A1", "2018/19 Q1"),  # 5 April, day first: Q1, never 4 May
    ("04/05/2018", "A1", "2018/19 Q1"),  # 4 May
    ("01/04/2018", "A1", "2018/19 Q1"),
    ("31/03/2019", "A1", "2018/19 Q4"),
    ("12/01/2019", "A1", "2018/19 Q4"),  # 12 January, not 1 December
    ("01/12/2018", "A1", "2018/19 Q3"),  # 1 December, not 12 January
    ("2018-04", "A2", "2018-04"),
    ("Apr 2018", "A2", "2018-04"),
    ("201804", "A2", "2018-04"),
    ("30/04/2018", "A2", "2018-04"),  # a date for a monthly indicator is its month
    ("2018/19 Q1", "A2", "2018/19 Q1"),  # a monthly indicator may also be returned by quarter
    ("2018/19", "B2", "2018/19"),
    ("31/03/2019", "B2", "2018/19"),
])
def test_period_notations(store, text, indicator, period):
    got = imported(store, csv_file("r.csv", f"{H}{indicator},{text},5\n"))
    assert got == {(indicator, period): 5.0}


def test_dates_for_a_monthly_indicator_are_three_months_not_one_quarter(store):
    got = imported(store, csv_file("r.csv", H + "A2,30/04/2018,5\nA2,31/05/2018,6\nA2,30/06/2018,7\n"))
    assert got == {("A2", "2018-04"): 5.0, ("A2", "2018-05"): 6.0, ("A2", "2018-06"): 7.0}


@pytest.mark.parametrize(("header", "expected"), [
    ("indicator,period,value", "5"),
    ("INDICATOR,PERIOD,VALUE", "5"),
    ("Indicator , Period , Value", "5"),
    ("indicator,title,period,value,unit,notes", "5"),  # template columns that are ignored
])
def test_headers_are_case_insensitive(store, header, expected):
    cells = {"indicator": "A1", "period": "2018/19 Q1", "value": expected, "title": "ASB", "unit": "count", "notes": ""}
    row = ",".join(cells[h.strip().lower()] for h in header.split(","))
    assert imported(store, csv_file("r.csv", f"{header}\n{row}\n")) == {("A1", "2018/19 Q1"): 5.0}


@pytest.mark.parametrize(("cell", "value"), [("1,234", 1234.0), ("1234", 1234.0), (" 1234 ", 1234.0), ("1 234", 1234.0)])
def test_uk_number_formats(store, cell, value):
    assert imported(store, csv_file("r.csv", f'{H}A1,2018/19 Q1,"{cell}"\n')) == {("A1", "2018/19 Q1"): value}


def test_numerator_and_denominator_make_the_value(store):
    got = imported(store, csv_file("r.csv", HR + "B1,2018/19 Q1,,45,60,\nB3,2018/19 Q1,,12,4000,\n"))
    assert got == {("B1", "2018/19 Q1"): 75.0, ("B3", "2018/19 Q1"): 3.0}


def test_windows_1252_text_is_accepted(store):
    text = 'indicator,period,value,commentary\nA1,2018/19 Q1,5,"Café patrols cost £1,200 – see note"\n'
    src = csv_file("excel.csv", text, encoding="cp1252")
    with pytest.raises(UnicodeDecodeError):
        src.data.decode("utf-8")  # the file really is not UTF-8
    store.import_files([src], "chair@example.org")
    (c,) = store.commentary("A1", None)[-1:]
    assert c["text"] == "Café patrols cost £1,200 – see note"


@pytest.mark.parametrize(("parts", "row", "column", "value"), [
    # (the lines after the header, each with its encoding), and the cell named: the first not in UTF-8.
    ([("A1,2018/19 Q1,5,Café", "utf-8"), ("A1,2018/19 Q2,6,Naïve", "cp1252")], 3, "commentary", "Naïve"),
    ([("A1,2018/19 Q1,5,£ spent", "cp1252"), ("A1,2018/19 Q2,6,“quoted”", "utf-8")], 2, "commentary", "£ spent"),
])
def test_mixed_encodings_in_one_file_are_refused(store, parts, row, column, value):
    data = b"indicator,period,value,commentary\n" + b"".join((t + "\n").encode(enc) for t, enc in parts)
    err = refuse(store, SourceFile("mixed.csv", data))
    (p,) = err.problems
    assert (p.file, p.row, p.column, p.value) == ("mixed.csv", row, column, value)
    assert "mixes two text encodings" in p.message and "CSV UTF-8" in p.fix


@pytest.mark.parametrize(("cell", "percent", "value"), [
    ("85%", True, 85.0), ("12", False, 12.0), ("1 234", False, 1234.0), ("1\u00a0234", False, 1234.0),
    ("+5", False, 5.0), (" 7 ", False, 7.0),
])
def test_figures_a_cell_may_hold(cell, percent, value):
    assert ingest.number_problem(cell, percent) is None and parse_number(cell) == value


@pytest.mark.parametrize(("cell", "percent", "words"), [
    ("12%", False, "a percentage in a cell that holds a count"), ("4 5", True, "space inside it"),
    ("1 23", False, "space inside it"), ("١٢٣", False, "digits other than 0-9"), ("۴۵", True, "digits other than 0-9"),
    ("१२", False, "digits other than 0-9"), ("ten", False, "not a number"), ("=A1", False, "not a number"),
])
def test_figures_a_cell_may_not_hold(cell, percent, words):
    why, fix = ingest.number_problem(cell, percent)
    assert words in why and fix


def test_utf8_with_bom_is_accepted(store):
    src = SourceFile("bom.csv", b"\xef\xbb\xbf" + "Indicator,Period,Value,Commentary\nA1,2018/19 Q1,5,Zoë’s café\n".encode())
    assert imported(store, src) == {("A1", "2018/19 Q1"): 5.0}
    assert store.commentary("A1")[-1]["text"] == "Zoë’s café"


def test_semicolon_separated_csv_is_read(store):
    assert imported(store, csv_file("r.csv", "indicator;period;value\nA1;2018/19 Q1;5\n")) == {("A1", "2018/19 Q1"): 5.0}


def test_area_blank_or_own_name_is_the_partnership(store):
    text = "indicator,period,value,area\nA1,2018/19 Q1,5,tower hamlets\nA1,2018/19 Q2,6,\nA1,2018/19 Q1,9,Hackney\n"
    store.import_files([csv_file("r.csv", text)], "u")
    rows = store.cursor().execute("SELECT period, area, value FROM observations WHERE upload_id = 2 ORDER BY 1, 2").fetchall()
    assert rows == [("2018/19 Q1", "", 5.0), ("2018/19 Q1", "Hackney", 9.0), ("2018/19 Q2", "", 6.0)]


def test_binary_bytes_named_csv_are_refused(store):
    err = refuse(store, SourceFile("data.csv", bytes(range(256)) * 8))
    assert "not a text file" in err.problems[0].message


def test_path_like_name_is_stored_as_its_base_name(store):
    store.import_files([SourceFile("../../x.csv", H.encode() + b"A1,2018/19 Q1,5\n")], "u")
    assert store.history()[0]["file_name"] == "x.csv"
    store.import_files([SourceFile("..\\..\\windows\\y.csv", H.encode() + b"A1,2018/19 Q2,5\n")], "u")
    assert store.history()[0]["file_name"] == "y.csv"


@pytest.mark.parametrize(("name", "shown"), [
    ("../../x.csv", "x.csv"), ("/etc/passwd", "passwd"), ("C:\\Users\\me\\r.csv", "r.csv"), (".hidden.csv", "hidden.csv"),
    ("a\x00b\nc.csv", "abc.csv"), ("", "unnamed"), ("..", "unnamed"),
])
def test_safe_name(name, shown):
    assert safe_name(name) == shown


@pytest.mark.parametrize(("text", "value"), [
    ("1234", 1234.0), ("1,234", 1234.0), ("1,234.5", 1234.5), ("-3", -3.0), ("85%", 85.0), (".5", 0.5),
    ("1\u00a0234", 1234.0), ("12,34", None), ("1.234,5", None), ("ten", None), ("", None), ("nan", None),
    ("inf", None), ("1e3", None), ("=1+1", None), ("4 5", None), ("١٢٣", None), ("1 23", None),
])
def test_parse_number(text, value):
    assert parse_number(text) == value


# --- XLSX ---------------------------------------------------------------------------------------------------------

def test_xlsx_return_is_read_every_cell_as_text(store, cat):
    data = xlsx_bytes([["Indicator", "Period", "Value", "Commentary"],
                       ["A1", "2018/19 Q1", 5, "typed"],
                       ["A1", datetime(2018, 7, 5), 6.0, None],  # a real date cell: 5 July, never 7 May
                       ["A2", "2018-04", "1,234", ""]])
    got = imported(store, SourceFile("r.xlsx", data))
    assert got == {("A1", "2018/19 Q1"): 5.0, ("A1", "2018/19 Q2"): 6.0, ("A2", "2018-04"): 1234.0}


def test_xlsx_percentage_cells_are_read_as_shown(store):
    # Excel stores 85% as 0.85: read as the 85% the chair typed and sees, not as 0.85%.
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["indicator", "period", "value"])
    ws.append(["B1", "2018/19 Q1", 0.85])
    ws.append(["B1", "2018/19 Q2", 0.855])
    ws.append(["B1", "2018/19 Q3", 85])
    ws["C2"].number_format, ws["C3"].number_format = "0%", "0.0%"
    buf = io.BytesIO()
    wb.save(buf)
    got = imported(store, SourceFile("pct.xlsx", buf.getvalue()))
    assert got == {("B1", "2018/19 Q1"): 85.0, ("B1", "2018/19 Q2"): 85.5, ("B1", "2018/19 Q3"): 85.0}


@pytest.mark.parametrize(("value", "number_format", "text"), [
    (None, None, ""), (5, "General", "5"), (5.0, None, "5"), (2.5, None, "2.5"), (0.85, "0%", "85%"),
    (0.855, "0.0%", "85.5%"), (1, "0%", "100%"), (0.85, '0.00" per cent"', "0.85"), (True, None, "TRUE"),
    (datetime(2018, 4, 5), "dd/mm/yyyy", "05/04/2018"), (datetime(2018, 4, 5, 9, 30), None, "05/04/2018 09:30"),
    ("=A1", None, "=A1"),
])
def test_cell_text(value, number_format, text):
    assert ingest.cell_text(value, number_format) == text


def test_xlsx_blank_rows_keep_spreadsheet_row_numbers(store):
    data = xlsx_bytes([["indicator", "period", "value"], ["A1", "2018/19 Q1", 5], [None, None, None],
                       [None, None, None], ["A1", "2018/19 Q2", "x"]])
    err = refuse(store, SourceFile("r.xlsx", data))
    assert [(p.row, p.value) for p in err.problems] == [(5, "x")]


def with_cached_value(data: bytes, formula: str, cached: str) -> bytes:
    """openpyxl writes a formula with an empty cached value; put Excel's saved result in, as Excel would."""
    def change(name: str, body: bytes) -> bytes:
        if name != "xl/worksheets/sheet1.xml":
            return body
        new, n = re.subn(rf"<f>{re.escape(formula)}</f><v ?/>".encode(), f"<f>{formula}</f><v>{cached}</v>".encode(), body)
        assert n == 1
        return new
    return rezip(data, change)


def test_xlsx_formula_cached_value_is_read(store):
    data = with_cached_value(xlsx_bytes([["indicator", "period", "value"], ["A1", "2018/19 Q1", "=2+3"]]), "2+3", "5")
    assert imported(store, SourceFile("r.xlsx", data)) == {("A1", "2018/19 Q1"): 5.0}


def test_xlsx_formula_without_cached_value_is_refused(store):
    # openpyxl does not compute formulas, so a workbook written by a program (not saved by Excel) has no result to
    # read: it must be refused with a message about the formula, never read as an empty cell.
    data = xlsx_bytes([["indicator", "period", "value", "area"], ["A1", "2018/19 Q1", "=SUM(D2:D4)", "=B9"],
                       ["A1", "2018/19 Q2", 5, None]])
    err = refuse(store, SourceFile("r.xlsx", data))
    assert [(p.row, p.column, p.value) for p in err.problems] == [(2, "value", "=SUM(D2:D4)"), (2, "area", "=B9")]
    assert "formula with no saved result" in err.problems[0].message
    assert "save it" in err.problems[0].fix


def test_xlsx_formula_with_an_empty_text_result_is_empty(store):
    # Excel saves =IF(...,"",...) as a text result that is empty (t="str"): that cell is empty, not a problem.
    data = xlsx_bytes([["indicator", "period", "value", "area"], ["A1", "2018/19 Q1", 5, '=IF(1=1,"","x")']])

    def change(name: str, body: bytes) -> bytes:
        if name != "xl/worksheets/sheet1.xml":
            return body
        return body.replace(b'<c r="D2">', b'<c r="D2" t="str">').replace(b"</f><v />", b"</f><v></v>")
    got = imported(store, SourceFile("r.xlsx", rezip(data, change)))
    assert got == {("A1", "2018/19 Q1"): 5.0}


def test_xlsx_wrong_stored_dimension_loses_no_rows(store):
    data = xlsx_bytes([["indicator", "period", "value", "commentary"], ["A1", "2018/19 Q1", 5, "a"],
                       ["A1", "2018/19 Q2", 6, "b"], ["A1", "2018/19 Q3", 7, "c"]])
    data = rezip(data, lambda n, b: re.sub(rb'<dimension ref="[^"]*" ?/>', b'<dimension ref="A1:B2"/>', b)
                 if n == "xl/worksheets/sheet1.xml" else b)
    got = imported(store, SourceFile("r.xlsx", data))
    assert got == {("A1", "2018/19 Q1"): 5.0, ("A1", "2018/19 Q2"): 6.0, ("A1", "2018/19 Q3"): 7.0}
    assert [c["text"] for c in store.commentary("A1") if c["upload_id"] == 2] == ["a", "b", "c"]


def test_xlsx_reads_the_first_sheet_only(store):
    wb = openpyxl.Workbook()
    wb.active.append(["indicator", "period", "value"])
    wb.active.append(["A1", "2018/19 Q1", 5])
    other = wb.create_sheet("Notes")
    other.append(["anything", "at", "all"])
    buf = io.BytesIO()
    wb.save(buf)
    assert imported(store, SourceFile("r.xlsx", buf.getvalue())) == {("A1", "2018/19 Q1"): 5.0}


@pytest.mark.parametrize(("name", "words"), [
    ("return.xlsm", ".xlsm files are refused because it may contain macros"),
    ("return.xls", ".xls files are refused because it is the old binary Excel format"),
    ("return.XLSM", ".xlsm files are refused"),
    ("return.xlsb", ".xlsb files are refused"),
])
def test_macro_and_old_excel_formats_are_refused(store, name, words):
    data = xlsx_bytes([["indicator", "period", "value"], ["A1", "2018/19 Q1", 5]])
    err = refuse(store, SourceFile(name, data))
    assert words in err.problems[0].message


def test_xlsx_with_a_macro_part_is_refused(store):
    data = rezip(xlsx_bytes([["indicator", "period", "value"], ["A1", "2018/19 Q1", 5]]),
                 add={"xl/vbaProject.bin": b"\x00" * 100})
    assert "contains macros" in refuse(store, SourceFile("sneaky.xlsx", data)).problems[0].message


def test_zip_bomb_xlsx_is_refused(store):
    bomb = b"\x00" * (3 * 1024 * 1024)  # 3 MB that compresses about 1000:1
    data = rezip(xlsx_bytes([["indicator", "period", "value"], ["A1", "2018/19 Q1", 5]]),
                 add={"xl/media/image1.bin": bomb})
    info = next(i for i in zipfile.ZipFile(io.BytesIO(data)).infolist() if i.filename == "xl/media/image1.bin")
    assert info.file_size > 1_000_000 and info.file_size / info.compress_size > 100
    err = refuse(store, SourceFile("bomb.xlsx", data))
    assert "a sign of a zip bomb" in err.problems[0].message


def test_small_compressible_part_is_not_a_bomb(store):
    data = rezip(xlsx_bytes([["indicator", "period", "value"], ["A1", "2018/19 Q1", 5]]),
                 add={"xl/media/image1.bin": b"\x00" * 500_000})
    assert imported(store, SourceFile("ok.xlsx", data)) == {("A1", "2018/19 Q1"): 5.0}


def test_xlsx_uncompressed_size_is_capped(store, monkeypatch):
    monkeypatch.setattr(ingest, "MAX_XLSX_UNCOMPRESSED", 2000)
    data = xlsx_bytes([["indicator", "period", "value"], ["A1", "2018/19 Q1", 5]])
    assert "unpacks to more than" in refuse(store, SourceFile("r.xlsx", data)).problems[0].message


@pytest.mark.parametrize(("case", "make", "words"), [
    ("truncated", lambda d: d[: len(d) // 2], "not a valid .xlsx workbook"),
    ("truncated to a few bytes", lambda d: d[:40], "not a valid .xlsx workbook"),
    ("csv renamed", lambda d: b"indicator,period,value\nA1,2018/19 Q1,5\n", "not a valid .xlsx workbook"),
    ("plain zip", lambda d: rezip(b"PK\x05\x06" + b"\x00" * 18, add={"a.txt": b"hi"}), "not an Excel workbook"),
    ("corrupt sheet", lambda d: rezip(d, lambda n, b: b[:50] if n == "xl/worksheets/sheet1.xml" else b),
     "the workbook cannot be opened"),
    ("empty sheet", lambda d: xlsx_bytes([]), "the first sheet is empty"),
])
def test_broken_xlsx_is_refused(store, case, make, words):
    data = make(xlsx_bytes([["indicator", "period", "value"], ["A1", "2018/19 Q1", 5]]))
    assert words in refuse(store, SourceFile("r.xlsx", data)).problems[0].message


def test_size_limit(cat):
    src = SourceFile("big.csv", (H + "A1,2018/19 Q1,5\n" * 200).encode())
    with pytest.raises(ValidationError) as info:
        read_rows(src, limit=1000)
    assert "over the" in info.value.problems[0].message and "MB limit" in info.value.problems[0].message
    assert len(read_rows(src, limit=10_000)[1]) == 200


def test_parse_return_reads_files_on_disk(tmp_path, cat):
    p = tmp_path / "r.csv"
    p.write_bytes((H + "A1,2018/19 Q1,5\n").encode())
    (row,) = parse_return(SourceFile.from_path(p), cat)
    assert (row.row, row.indicator, row.period.label, row.value) == (2, "A1", "2018/19 Q1", 5.0)
