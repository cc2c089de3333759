"""Hostile and broken input: every file is refused with a clear error, nothing is stored, and the app still serves.

Each named case is imported through the Store (as the CLI and the upload page do); the refusal must be a
ValidationError whose every problem names the file and says how to fix it, the tables must be exactly as before (a
digest of every table), and the store must still answer ``statuses()``. Generated files (hypothesis) check the same
of any bytes: refused in words or stored whole, never an unexpected exception. A few cases go through the upload
page itself (AppTest), and text that reaches the screen is checked to be shown as text, never as HTML.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import reliability_helpers as rh
from e2e_helpers import app_env, demo_copy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_helpers import POLICE_HEADER, POLICE_ROW, SQL, db_digest, record
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import AlertBase, HeadingBase, Markdown
from test_pages import _navigation_mode  # noqa: F401  (AppTest must run dashboard.py in navigation mode)
from tests_config import CONFIG, ROOT

from cspdash import cli, views
from cspdash.config import load_catalogue
from cspdash.errors import CspdashError
from cspdash.ingest import SourceFile, ValidationError, parse_return
from cspdash.store import Store
from cspdash.ui import BASE_CSS, MEETING_CSS

APP = str(ROOT / "dashboard.py")
GOOD = b"indicator,period,value\nA2,2025/26 Q3,150\n"
MB = 1024 * 1024


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A store on disk holding one earlier upload; every refused file must leave it exactly as it is."""
    s = Store(tmp_path_factory.mktemp("hostile") / "csp.duckdb", load_catalogue(CONFIG))
    s.import_files([SourceFile("earlier.csv", data=GOOD)], "analyst@towerhamlets.gov.uk")
    yield s
    s.close()


def refused(store: Store, name: str, data: bytes, dataset: str | None = None) -> ValidationError:
    """Import one file; expect a ValidationError with file and fix on every problem, nothing stored, store serving."""
    before = db_digest(store.cursor())
    with pytest.raises(ValidationError) as info:
        store.import_files([SourceFile(name, data=data)], "analyst@towerhamlets.gov.uk", dataset)
    err = info.value
    assert "nothing was stored" in str(err)
    assert err.problems, "a refusal lists its problems"
    for p in err.problems:
        assert p.file == SourceFile(name).display_name and p.message and p.fix, p
    assert db_digest(store.cursor()) == before, "a refused file changed the database"
    assert len(store.statuses()) == len(store.cat.indicators)  # the store still answers
    return err


# --- named cases: (id, file name, bytes, dataset, expected words in the message, column of the first problem) ----

CASES: list[tuple[str, str, Callable[[], bytes], str | None, str, str | None]] = [
    ("empty return", "empty.csv", lambda: b"", None, "the file is empty", None),
    ("empty extract", "empty.csv", lambda: b"", "street_crime", "the file is empty", None),
    ("header-only return", "header.csv", lambda: b"indicator,period,value\n", None, "header but no data rows", None),
    ("header-only extract", "header.csv", lambda: (POLICE_HEADER + "\n").encode(), "street_crime",
     "header but no data rows", None),
    ("blank lines only", "blank.csv", lambda: b"\r\n\r\n,,,\r\n", None, "has no header row", None),
    ("binary bytes named .csv", "photo.csv", lambda: rh.random_binary(), None, "not a text file", None),
    ("binary bytes named .csv, extract", "photo.csv", lambda: rh.random_binary(), "street_crime", "not a text file",
     None),
    ("binary without NULs", "noise.csv", lambda: rh.random_binary(nul=False), None, "neither UTF-8 nor Windows-1252",
     None),
    ("UTF-16 with BOM", "unicode.csv", lambda: "indicator,period,value\nA2,2025/26 Q3,150\n".encode("utf-16"), None,
     "UTF-16", None),
    ("UTF-16 without BOM", "unicode.csv", lambda: "indicator,period,value\nA2,2025/26 Q3,150\n".encode("utf-16-le"),
     None, "UTF-16", None),
    ("UTF-16 extract", "unicode.csv", lambda: f"{POLICE_HEADER}\n{POLICE_ROW}\n".encode("utf-16"), "street_crime",
     "UTF-16", None),
    ("Latin-1 with undecodable bytes", "latin.csv",
     lambda: b"indicator,period,value,commentary\nA2,2025/26 Q3,150,caf\xe9 \x81\x8d\x90\n", None,
     "neither UTF-8 nor Windows-1252", None),
    ("Latin-1 extract with undecodable bytes", "latin.csv",
     lambda: f"{POLICE_HEADER}\n".encode() + POLICE_ROW.encode().replace(b"Brick", b"Br\x81ck") + b"\n",
     "street_crime", "neither UTF-8 nor Windows-1252", None),
    ("=1+1 in a value", "f.csv", lambda: b"indicator,period,value\nA2,2025/26 Q3,=1+1\n", None, "remove the formula",
     "value"),
    ("=HYPERLINK in a value", "f.csv",
     lambda: b'indicator,period,value\nA2,2025/26 Q3,"=HYPERLINK(""http://evil.example"",""150"")"\n', None,
     "remove the formula", "value"),
    ("@SUM in a value", "f.csv", lambda: b"indicator,period,value\nA2,2025/26 Q3,@SUM(A1:A9)\n", None,
     "remove the formula", "value"),
    ("DDE in a value", "f.csv", lambda: b"indicator,period,value\nA2,2025/26 Q3,+cmd|' /C calc'!A0\n", None,
     "remove the formula", "value"),
    ("formula in the area", "f.csv",
     lambda: b'indicator,period,value,area\nA2,2025/26 Q3,150,"=HYPERLINK(""http://evil.example"",""x"")"\n', None,
     "looks like a spreadsheet formula", "area"),
    ("@ formula in the area", "f.csv", lambda: b"indicator,period,value,area\nA2,2025/26 Q3,150,@SUM(1)\n", None,
     "looks like a spreadsheet formula", "area"),
    ("formula with no saved result (xlsx)", "f.xlsx",
     lambda: rh.workbook([["indicator", "period", "value"], ["A2", "2025/26 Q3", "=HYPERLINK(\"http://x\",\"1\")"]]),
     None, "formula with no saved result", "value"),
    ("SQL in a header", "sql.csv", lambda: f'indicator,period,value,"{SQL}"\nA2,2025/26 Q3,150,x\n'.encode(), None,
     "unknown column", SQL),
    ("SQL in an extract's header", "sql.csv", lambda: f'{POLICE_HEADER},"{SQL}"\n{POLICE_ROW},x\n'.encode(),
     "street_crime", "unexpected column", SQL),
    ("SQL as the indicator", "sql.csv", lambda: f'indicator,period,value\n"{SQL}",2025/26 Q3,150\n'.encode(), None,
     "unknown indicator", "indicator"),
    ("SQL as the period", "sql.csv", lambda: f'indicator,period,value\nA2,"{SQL}",150\n'.encode(), None,
     "Fix: write it as", "period"),
    ("SQL as a number", "sql.csv", lambda: f'indicator,period,value\nA2,2025/26 Q3,"1{SQL}"\n'.encode(), None,
     "not a number", "value"),
    ("a figure of 1e308", "huge.csv", lambda: b"indicator,period,value\nD6,2025/26 Q3," + b"1" + b"0" * 308 + b"\n",
     None, "larger than 1,000,000,000,000", "value"),
    ("10,000 columns", "wide.csv", lambda: rh.wide_csv(10_000), None, "unknown column", "col0"),
    ("10,000 columns, extract", "wide.csv", lambda: rh.wide_csv(10_000), "street_crime", "more than 1,000 cells", None),
    ("one row of 100,000 cells, extract", "wide.csv",
     lambda: f"{POLICE_HEADER}\n{POLICE_ROW}{',' * 100_000}\n".encode(), "street_crime", "more than 1,000 cells", None),
    ("a 5 MB line, extract", "long.csv", lambda: f"{POLICE_HEADER}\n{POLICE_ROW}{'x' * 5_000_000}\n".encode(),
     "street_crime", "longer than 1 MB", None),
    ("unterminated quote, extract", "quote.csv", lambda: f'{POLICE_HEADER}\n,"2024-01{POLICE_ROW * 3}\n'.encode(),
     "street_crime", "cannot be read as CSV", None),
    ("truncated xlsx (10 bytes)", "cut.xlsx", lambda: rh.workbook(rh.GOOD_XLSX_ROWS)[:10], None,
     "not a valid .xlsx workbook", None),
    ("truncated xlsx (half)", "cut.xlsx", lambda: (lambda b: b[:len(b) // 2])(rh.workbook(rh.GOOD_XLSX_ROWS)), None,
     "not a valid .xlsx workbook", None),
    ("truncated xlsx (last byte)", "cut.xlsx", lambda: rh.workbook(rh.GOOD_XLSX_ROWS)[:-1], None,
     "not a valid .xlsx workbook", None),
    ("corrupt xlsx", "bad.xlsx", rh.corrupt_xlsx, None, "cannot be opened", None),
    ("CSV named .xlsx", "fake.xlsx", lambda: GOOD.replace(b"150", b"151"), None, "not a valid .xlsx workbook", None),
    ("sheet XML cut short", "bad.xlsx",
     lambda: rh.rezip(rh.workbook(rh.GOOD_XLSX_ROWS), {"xl/worksheets/sheet1.xml": b"<worksheet><sheetData><row><c"}),
     None, "cannot be opened", None),
    ("zip bomb (150 MB of zeros)", "bomb.xlsx", rh.zip_bomb, None, "unpacks to more than 100 MB", None),
    ("zip bomb (ratio 1000:1)", "bomb.xlsx", rh.ratio_bomb, None, "a sign of a zip bomb", None),
    ("zip bomb with a lying directory", "bomb.xlsx", rh.lying_zip_bomb, None, "cannot be opened", None),
    ("cell bomb (one cell in column XFD a row)", "cells.xlsx", rh.cell_bomb, None, "more than 1,000,000 cells", None),
    ("billion laughs (XML entities)", "laughs.xlsx", rh.billion_laughs, None, "cannot be opened", None),
    ("external XML entity (XXE)", "xxe.xlsx", rh.external_entity, None, "cannot be opened", None),
    ("macros in an .xlsx", "macro.xlsx", rh.macro_workbook, None, "contains macros", None),
    (".xlsm", "macro.xlsm", lambda: rh.workbook(rh.GOOD_XLSX_ROWS), None, "may contain macros", None),
    (".xls", "old.xls", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), None, "old binary Excel format", None),
    (".exe", "run.exe", lambda: b"MZ\x90\x00", None, ".exe is not accepted", None),
    ("a return over 20 MiB", "big.csv", lambda: b"indicator,period,value\n" + b"A2,2025/26 Q3,1\n" * (21 * MB // 16), None,
     "over the 21 MB limit", None),
]


@pytest.mark.parametrize(("name", "data", "dataset", "words", "column"),
                         [pytest.param(n, f, d, w, c, id=i) for i, n, f, d, w, c in CASES])
def test_hostile_file_is_refused_in_words_and_nothing_is_stored(store, name, data, dataset, words, column):
    err = refused(store, name, data(), dataset)
    assert words in str(err), str(err)
    if column is not None:
        assert err.problems[0].column == column, err.problems[0]
    record("hostile", named_count_add=1)


def test_sql_text_is_stored_as_text_and_every_table_survives(store):
    """SQL-looking text where text is allowed (commentary, an area, an extract's cells) is kept verbatim."""
    ret = f'indicator,period,value,area,commentary\nA2,2025/26 Q2,140,"{SQL}","{SQL}"\n'.encode()
    ext = f"{POLICE_HEADER}\n" + POLICE_ROW.replace("On or near Brick Lane", f'"{SQL}"') + "\n"
    store.import_files([SourceFile("sql-return.csv", data=ret)], "analyst@towerhamlets.gov.uk")
    store.import_files([SourceFile("sql-extract.csv", data=ext.encode())], "analyst@towerhamlets.gov.uk",
                       "street_crime")
    cur = store.cursor()
    assert cur.execute("SELECT text FROM commentary WHERE text = ?", [SQL]).fetchall() == [(SQL,)]
    assert cur.execute("SELECT count(*) FROM observations WHERE area = ?", [SQL]).fetchone()[0] == 1
    assert cur.execute("SELECT location FROM ds_street_crime WHERE location = ?", [SQL]).fetchall() == [(SQL,)]
    assert {"uploads", "observations", "commentary", "events", "users"} <= set(rh.tables(cur))
    assert len(store.history()) >= 3 and store.statuses()
    record("hostile", named_count_add=1)


@pytest.mark.parametrize(("given_name", "stored"), [
    ("../../x.csv", "x.csv"),
    ("..\\..\\windows\\x.csv", "x.csv"),
    ("/etc/cron.d/x.csv", "x.csv"),
    ("C:\\Users\\Public\\x.csv", "x.csv"),
    ("..", "unnamed"),
    ("x\x00\r\n.csv", "x.csv"),
    ("\u202egpj.csv", "gpj.csv"),  # right-to-left override: shown as it is, not reversed
    (".bashrc.csv", "bashrc.csv"),
    ("a" * 300 + ".csv", "a" * 200),
])
def test_path_like_names_are_stored_as_base_names_and_nothing_is_written_outside(tmp_path, given_name, stored):
    root = tmp_path / "srv"
    (root / "data").mkdir(parents=True)
    before = {p for p in tmp_path.rglob("*")}
    s = Store(root / "data" / "csp.duckdb", load_catalogue(CONFIG))
    try:
        if stored.endswith(".csv"):
            s.import_files([SourceFile(given_name, data=GOOD)], "analyst@towerhamlets.gov.uk")
            assert s.history()[0]["file_name"] == stored
            assert s.upload_content(s.history()[0]["upload_id"]) == (stored, GOOD)
            s.import_files([SourceFile(given_name, data=f"{POLICE_HEADER}\n{POLICE_ROW}\n".encode())],
                           "analyst@towerhamlets.gov.uk", "street_crime")  # staged through temporary files
            assert s.history()[0]["file_name"] == stored
        else:  # no usable extension is left: refused, like any file that is not .csv or .xlsx
            with pytest.raises(ValidationError) as info:
                s.import_files([SourceFile(given_name, data=GOOD)], "analyst@towerhamlets.gov.uk")
            assert info.value.problems[0].file == stored
    finally:
        s.close()
    written = {p for p in tmp_path.rglob("*")} - before
    outside = [p for p in written if root / "data" not in p.parents and p != root / "data"]
    assert not outside, outside
    record("hostile", named_count_add=1)


# --- sizes: refused before the file is read -------------------------------------------------------------------------

def _no_reading(monkeypatch) -> None:
    """Make any read or hash of an upload's bytes fail the test."""
    def boom(self, *a, **k):
        raise AssertionError(f"{self.name} was read before its size was checked")

    monkeypatch.setattr(SourceFile, "read", boom)
    monkeypatch.setattr(SourceFile, "sha256", boom)


@pytest.mark.parametrize(("size", "dataset", "words"), [
    (300 * 10**6, None, "the file is 300.0 MB, over the 21 MB limit"),
    (600 * 10**6, "street_crime", "the file is 600.0 MB, over the 537 MB limit"),
])
def test_cli_refuses_a_huge_file_by_its_size_before_reading_it(tmp_path, monkeypatch, capsys, size, dataset, words):
    big = rh.sparse_file(tmp_path / "huge.csv", size, b"indicator,period,value\n")
    _no_reading(monkeypatch)
    db = tmp_path / "csp.duckdb"
    Store(db, load_catalogue(CONFIG)).close()  # as `init` makes it: import never makes a database
    args = ["--db", str(db), "--config", str(CONFIG), "import", str(big), "--user", "analyst@towerhamlets.gov.uk"]
    assert cli.main(args + (["--dataset", dataset] if dataset else [])) == 1
    assert words in capsys.readouterr().err
    big.unlink()
    record("hostile", named_count_add=1)


#: Runs the CLI, then prints the process's own peak memory (VmHWM counts this program only; ru_maxrss would also
#: count the test process it was forked from).
PEAK = ("import re, sys\nfrom cspdash.cli import main\nrc = main(sys.argv[1:])\n"
        "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1), file=sys.stderr)\n"
        "sys.exit(rc)\n")


def test_cli_process_refuses_a_300_mb_file_quickly_and_in_little_memory(tmp_path):
    big = rh.sparse_file(tmp_path / "huge.csv", 300 * 10**6, b"indicator,period,value\n")
    small = tmp_path / "small.csv"
    small.write_bytes(GOOD)
    runs = {}
    for f in (small, big):
        Store(tmp_path / f"{f.stem}.duckdb", load_catalogue(CONFIG)).close()  # as `init` makes it
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, "-c", PEAK, "--db", str(tmp_path / f"{f.stem}.duckdb"), "--config",
                               str(CONFIG), "import", str(f), "--user", "analyst@towerhamlets.gov.uk"],
                              cwd=ROOT, capture_output=True, text=True)
        runs[f.stem] = (proc.returncode, proc.stderr, int(proc.stderr.split()[-1]) / 1024, time.monotonic() - t0)
    big.unlink()
    rc, err, peak_mb, took = runs["huge"]
    assert rc == 1 and "over the 21 MB limit" in err, err
    assert runs["small"][0] == 0, runs["small"][1]
    # The refusal of 300 MB costs no more memory than importing a 40-byte return: the file is never read.
    assert peak_mb < runs["small"][2] + 50, f"refusing used {peak_mb:.0f} MB against {runs['small'][2]:.0f} MB"
    assert took < 30
    record("hostile", named_count_add=1, huge_file_peak_mb=round(peak_mb), huge_file_seconds=round(took, 2))


# --- generated files (hypothesis) ------------------------------------------------------------------------------------

CELLS = st.one_of(
    st.sampled_from(["", "A2", "a2", "Z9", "2025/26 Q3", "2024-01", "Q3 2025/26", "31/12/2025", "150", "1,234", "-3",
                     "85%", "1e3", "NaN", "inf", "=1+1", "@SUM(A1)", "+1", SQL, "<script>alert(1)</script>",
                     "Anti-social behaviour", "Tower Hamlets 001A", "Hackney", "\u00a0", "\ufeff", '"', "\r", "\x00",
                     "9" * 40]),
    st.text(max_size=12))
RETURN_HEADERS = st.lists(st.sampled_from(["indicator", "period", "value", "numerator", "denominator", "area",
                                           "commentary", "title", "Indicator", " value ", "extra", ""]),
                          min_size=1, max_size=8)
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16", "latin-1"])


def _csv_text(header: list[str], rows: list[list[str]], sep: str) -> str:
    def cell(c: str) -> str:
        return '"' + c.replace('"', '""') + '"' if any(ch in c for ch in (sep, '"', "\n", "\r")) else c

    return "\n".join(sep.join(cell(c) for c in r) for r in [header, *rows]) + "\n"


def _encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding, errors="replace") if encoding != "utf-16" else text.encode("utf-16", errors="replace")


def _import_any(store: Store, name: str, data: bytes, dataset: str | None, outcomes: dict) -> int | None:
    """Import generated bytes: a refusal in words (nothing stored) or a whole upload, never another exception.
    Returns the new upload's id, if one was stored."""
    n = len(store.history())
    outcomes["tried"] = outcomes.get("tried", 0) + 1
    try:
        result = store.import_files([SourceFile(name, data=data)], "analyst@towerhamlets.gov.uk", dataset)
    except CspdashError as e:
        assert len(store.history()) == n, "a refused file was stored"
        if isinstance(e, ValidationError):
            assert all(p.fix for p in e.problems)
        outcomes["refused"] = outcomes.get("refused", 0) + 1
        return None
    new = [u["upload_id"] for u in result.uploads if u["upload_id"]]
    assert len(store.history()) == n + len(new)
    outcomes["stored"] = outcomes.get("stored", 0) + 1
    return new[0] if new else None


#: Generated files per fuzz test: QUICK in the default suite; EXAMPLES in each test's ``slow`` twin (``make
#: test-slow``; ``make reliability`` sets 1,000). The twins run the same check on the same derandomized generator.
QUICK = 25
EXAMPLES = int(os.environ.get("CSPDASH_HYPOTHESIS_EXAMPLES", "150"))
FUZZ = settings(deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])


def twins(check, **strategies):
    """``check`` given ``strategies`` as two tests: QUICK examples for the default suite, and EXAMPLES marked slow
    (many iterations of the same thing, a stress run)."""
    quick = settings(FUZZ, max_examples=QUICK)(given(**strategies)(check))
    many = pytest.mark.slow(settings(FUZZ, max_examples=EXAMPLES)(given(**strategies)(check)))
    return quick, many


@pytest.fixture(scope="module")
def fuzz_store():
    s = Store(":memory:", load_catalogue(CONFIG))
    yield s
    s.close()


@pytest.fixture(scope="module")
def outcomes():
    seen: dict = {}
    yield seen
    record("hostile", generated_count_add=seen.get("tried", 0), generated_stored_count_add=seen.get("stored", 0))


def _generated_returns(fuzz_store, outcomes, header, rows, sep, encoding):
    _import_any(fuzz_store, "generated.csv", _encode(_csv_text(header, rows, sep), encoding), None, outcomes)


test_generated_returns_are_refused_in_words_or_stored_whole, test_many_generated_returns = twins(
    _generated_returns, header=RETURN_HEADERS, rows=st.lists(st.lists(CELLS, max_size=9), max_size=8),
    sep=st.sampled_from([",", ";", "\t"]), encoding=ENCODINGS)


INDICATORS = ("A1", "A2", "A3", "B1", "B2", "B4", "C2", "C4", "D1", "D4", "D6", "D11")  # quarterly counts


def _generated_near_valid_returns(fuzz_store, outcomes, rows, mutate):
    """Mostly valid returns with a random comment, sometimes one cell changed: stored with every figure, or refused."""
    table = [[i, p, str(v), a, c] for i, p, v, a, c in rows]
    if mutate is not None and mutate[0] < len(table):
        table[mutate[0]][mutate[1]] = mutate[2]
    data = _csv_text(["indicator", "period", "value", "area", "commentary"], table, ",").encode()
    uid = _import_any(fuzz_store, "near-valid.csv", data, None, outcomes)
    if uid is not None:
        parsed = parse_return(SourceFile("near-valid.csv", data=data), fuzz_store.cat)
        cur = fuzz_store.cursor()
        assert cur.execute("SELECT count(*) FROM observations WHERE upload_id = ?", [uid]).fetchone()[0] == len(
            [r for r in parsed if r.value is not None or r.numerator is not None]), "an upload stored without all its figures"
        assert cur.execute("SELECT count(*) FROM commentary WHERE upload_id = ?", [uid]).fetchone()[0] == len(
            [r for r in parsed if r.commentary])


test_generated_near_valid_returns_are_stored_whole_or_refused, test_many_generated_near_valid_returns = twins(
    _generated_near_valid_returns,
    rows=st.lists(st.tuples(st.sampled_from(INDICATORS), st.sampled_from(["2024/25 Q4", "2025/26 Q1", "2025/26 Q2"]),
                            st.integers(0, 10**6), st.sampled_from(["", "Hackney", "Tower Hamlets", SQL, "<b>x</b>"]),
                            st.text(max_size=50)), min_size=1, max_size=12),
    mutate=st.one_of(st.none(), st.tuples(st.integers(0, 11), st.integers(0, 4), CELLS)))


def _generated_police_uk_files(fuzz_store, outcomes, rows, encoding, header):
    _import_any(fuzz_store, "generated.csv", _encode(_csv_text(header, rows, ","), encoding), "street_crime", outcomes)


test_generated_police_uk_files_are_refused_in_words_or_stored_whole, test_many_generated_police_uk_files = twins(
    _generated_police_uk_files, rows=st.lists(st.lists(CELLS, min_size=0, max_size=14), max_size=8), encoding=ENCODINGS,
    header=st.one_of(st.just(POLICE_HEADER.split(",")), st.lists(st.sampled_from([*POLICE_HEADER.split(","), "x", ""]),
                                                                 max_size=14)))


def _generated_mps_tables(fuzz_store, outcomes, months, rows):
    header = ["MajorText", "MinorText", "BoroughName", *months]
    _import_any(fuzz_store, "generated.csv", _csv_text(header, rows, ",").encode(), "borough_crime", outcomes)


test_generated_mps_tables_are_refused_in_words_or_stored_whole, test_many_generated_mps_tables = twins(
    _generated_mps_tables,
    months=st.lists(st.sampled_from(["202401", "202402", "200901", "203112", "202413", "2024-01", "x"]), max_size=4),
    rows=st.lists(st.lists(CELLS, max_size=8), max_size=6))


def _generated_bytes(fuzz_store, outcomes, data, suffix):
    _import_any(fuzz_store, "generated" + suffix, data, "street_crime" if suffix == ".parquet" else None, outcomes)


test_generated_bytes_are_refused_in_words_or_stored_whole, test_many_generated_bytes = twins(
    _generated_bytes, data=st.binary(max_size=4096), suffix=st.sampled_from([".csv", ".xlsx", ".parquet"]))


def _generated_workbooks(fuzz_store, outcomes, cells):
    rows = [["indicator", "period", "value", "area", "commentary"], *cells]
    try:
        data = rh.workbook(rows)
    except Exception:  # openpyxl will not write some cells (control characters): not an upload
        return
    _import_any(fuzz_store, "generated.xlsx", data, None, outcomes)


test_generated_workbooks_are_refused_in_words_or_stored_whole, test_many_generated_workbooks = twins(
    _generated_workbooks,
    cells=st.lists(st.lists(st.one_of(CELLS, st.integers(-10, 10**6), st.floats(allow_nan=True)), max_size=6),
                   max_size=6))


def test_the_fuzzed_store_still_serves(fuzz_store):
    assert len(fuzz_store.statuses()) == len(fuzz_store.cat.indicators)


# --- through the upload page ---------------------------------------------------------------------------------------

@pytest.fixture
def app_db(tmp_path_factory, monkeypatch) -> Path:
    return app_env(monkeypatch, demo_copy(tmp_path_factory, "hostile-app"), CONFIG)


def _upload_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/upload.py").run()
    assert not at.exception
    at.text_input(key="csp_user_input").input("analyst@towerhamlets.gov.uk").run()
    return at


@pytest.mark.parametrize(("name", "data", "words"), [
    ("bomb.xlsx", rh.zip_bomb, "refused: 1 problem"),
    ("lying.xlsx", rh.lying_zip_bomb, "refused: 1 problem"),
    ("cells.xlsx", rh.cell_bomb, "refused: 1 problem"),
    ("photo.csv", rh.random_binary, "refused: 1 problem"),
    ("unicode.csv", lambda: "indicator,period,value\nA2,2025/26 Q3,150\n".encode("utf-16"), "refused: 1 problem"),
    ("big.csv", lambda: b"indicator,period,value\n" + b"A2,2025/26 Q3,1\n" * (21 * MB // 16), "refused: 1 problem"),
])
def test_upload_page_refuses_hostile_files_and_keeps_serving(app_db, name, data, words):
    at = _upload_page()
    at.file_uploader[0].set_value((name, data(), "application/octet-stream")).run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(words in e.value.replace("\\", "") for e in at.error), [e.value for e in at.error]
    problems = at.dataframe[0].value
    assert list(problems.columns) == ["File", "Row", "Column", "Value", "Problem", "Fix"]
    assert not [b for b in at.button if b.key == "csp_confirm"]
    at.switch_page("pages/history.py").run()  # nothing stored: the demo's uploads only
    assert name not in set(at.dataframe[0].value["File"])
    at.switch_page("pages/overview.py").run()  # the app still serves
    assert not at.exception and at.header
    record("hostile", named_count_add=1)


_UNESCAPED_HTML = re.compile(r"(?<!\\)<\s*(script|img|iframe|svg|a\s)", re.IGNORECASE)
XSS = "<script>alert('x')</script><img src=x onerror=alert(1)>"


def _markup(at: AppTest) -> list[tuple[str, str, bool]]:
    """(kind, body, allow_html) of every element whose text Streamlit renders as Markdown, and every label."""
    out = []
    for node in at._tree:
        if isinstance(node, Markdown | HeadingBase | AlertBase):
            out.append((node.type, node.proto.body, bool(getattr(node.proto, "allow_html", False))))
        label = getattr(node, "label", None)
        if isinstance(label, str):
            out.append((f"{node.type} label", label, False))
    return out


def test_html_and_script_in_uploads_are_shown_as_text_never_as_html(app_db):
    """Commentary, areas, file names and a comment typed in the app carry HTML and script; on every page, no element
    that renders Markdown holds it unescaped, and only cspdash's own static CSS is ever rendered as HTML."""
    payload = (f'indicator,period,value,area,commentary\nA2,2025/26 Q3,150,,"{XSS}"\n'
               f'B3,2025-10,99,"<img src=x onerror=alert(2)>",\n').encode()
    s = Store(app_db, load_catalogue(CONFIG))
    try:
        s.import_files([SourceFile("<img src=x onerror=alert(3)>.csv", data=payload)], "analyst@towerhamlets.gov.uk")
        s.add_commentary("A1", s.latest_complete_quarter(), XSS + " **bold** [link](javascript:alert(4))",
                         "analyst@towerhamlets.gov.uk")
    finally:
        s.close()
    at = AppTest.from_file(APP, default_timeout=60).run()
    pages = [None, "pages/priority_a.py", "pages/priority_b.py", "pages/indicator.py", "pages/meeting.py",
             "pages/submissions.py", "pages/history.py", "pages/upload.py", "pages/packs.py"]
    seen_as_text = False
    for page in pages:
        if page:
            at.switch_page(page).run()
        assert not at.exception, (page, [e.message for e in at.exception])
        for kind, body, allow_html in _markup(at):
            assert not _UNESCAPED_HTML.search(body), (page, kind, body)
            assert not allow_html or body in (BASE_CSS, MEETING_CSS), (page, kind, body)
        seen_as_text |= any(XSS in t.value for t in at.text)
    assert seen_as_text, "the commentary should be on screen, as plain text"
    record("hostile", named_count_add=1)


def test_csv_downloads_keep_formula_like_text_as_text():
    """A file or person named like a formula reaches the series CSV; a spreadsheet must show it, not run it."""
    names = ['=HYPERLINK("http://evil.example","x").csv', "@SUM(1).csv", "+cmd|' /C calc'!A0.csv", "-1+1.csv",
             "\t=1.csv", "plain.csv"]
    frame = pd.DataFrame({"file": names, "value": [1.0, -2.0, 3.0, 4.0, 5.0, 6.0]})
    back = pd.read_csv(io.BytesIO(views.csv_bytes(frame)), keep_default_na=False)
    assert [v[:1] for v in back["file"][:5]] == ["'"] * 5
    assert back["file"][5] == "plain.csv" and list(back["value"]) == [1.0, -2.0, 3.0, 4.0, 5.0, 6.0]
    assert list(frame["file"]) == names  # the caller's frame is not changed
    record("hostile", named_count_add=1)
