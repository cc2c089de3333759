"""Record-level extracts on a PostgreSQL store (issue 16 item 3): each upload's records as an immutable Parquet file
under ``CSPDASH_EXTRACTS``, its row and figures in PostgreSQL (the tests' own server, tests/pg_server.py), the
measures computed by DuckDB over the files. Every figure is compared with the same import into a DuckDB file.

Real police.uk files (City of London Police, tests/data) and the ONS population file; real processes for the
concurrent imports and the crash.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from e2e_helpers import demo_copy

from cspdash.compare import compare_areas
from cspdash.config import load_catalogue
from cspdash.demo import load_demo
from cspdash.errors import CspdashError
from cspdash.extract_store import ENV
from cspdash.ingest import SourceFile, ValidationError
from cspdash.store import Store

ROOT = Path(__file__).resolve().parents[1]
CAT = load_catalogue(ROOT / "indicators.yaml")
CITY = ROOT / "tests" / "data" / "police-uk-city-of-london"
POPULATION = ROOT / "tests" / "data" / "ons-population" / "london-population-2018-based-projections.csv"
ANALYST = "analyst@example.org"
FIGURES = ("SELECT o.upload_id, indicator, period, grain, area, value, provisional FROM observations o "
           "JOIN uploads u USING (upload_id) WHERE u.state = 'active' ORDER BY 1, 2, 3, 4, 5")
UPLOADS = "SELECT upload_id, kind, dataset, file_name, sha256, size_bytes, rows, state FROM uploads ORDER BY 1"


def city(month: str) -> Path:
    return CITY / f"{month}-city-of-london-street.csv"


def pg_store(url: str) -> Store:
    """A PostgreSQL store (its records under ``$CSPDASH_EXTRACTS``)."""
    return Store(url, CAT)


@pytest.fixture
def extracts(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "extracts"
    monkeypatch.setenv(ENV, str(folder))
    return folder


@pytest.fixture
def pg(postgres_server, extracts):
    up = pg_store(postgres_server.new_database())
    yield up
    up.close()


@pytest.fixture
def duck(tmp_path):
    store = Store(tmp_path / "csp.duckdb", CAT)
    yield store
    store.close()


def rows(cur, sql: str) -> list[tuple]:
    return [tuple(r) for r in cur.execute(sql).fetchall()]


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def both(pg: Store, duck: Store, paths: list[Path], dataset: str) -> tuple[dict, dict]:
    """The same import into both stores; the results as JSON-ready mappings."""
    srcs = [SourceFile.from_path(p) for p in paths]
    return pg.import_files(srcs, ANALYST, dataset).as_dict(), duck.import_files(srcs, ANALYST, dataset).as_dict()


def test_police_uk_and_population_files_give_the_same_figures_as_on_duckdb(pg, duck, extracts):
    for paths, dataset in (([POPULATION], "population"), ([city("2014-09")], "street_crime"),
                           ([city("2014-10"), city("2014-11")], "street_crime")):
        on_pg, on_duck = both(pg, duck, paths, dataset)
        assert on_pg == on_duck
    figures = rows(pg.cursor(), FIGURES)
    assert figures == rows(duck.cursor(), FIGURES)
    assert {(r[1], r[2]) for r in figures} >= {("A4", "2014-09"), ("A4", "2014-10"), ("A4", "2014-11")}
    assert rows(pg.cursor(), UPLOADS) == rows(duck.cursor(), UPLOADS)
    population = pg._figures.population_rows("population", 2024)
    assert len(population) > 30 and population == duck._figures.population_rows("population", 2024)
    shas = [r[4] for r in rows(pg.cursor(), UPLOADS)]
    stored = files_under(extracts)
    assert stored == sorted([*(f"originals/{s}" for s in shas), "population/1.parquet", "street_crime/2.parquet",
                             "street_crime/3.parquet", "street_crime/4.parquet"])
    # An identical file again changes nothing and writes nothing, as on DuckDB.
    on_pg, on_duck = both(pg, duck, [city("2014-09")], "street_crime")
    assert on_pg == on_duck and on_pg["uploads"][0]["duplicate_of"] == 2
    assert files_under(extracts) == stored


def test_a_dry_run_writes_nothing(pg, duck, extracts):
    src = [SourceFile.from_path(city("2014-09"))]
    assert (pg.import_files(src, ANALYST, "street_crime", dry_run=True).as_dict()
            == duck.import_files(src, ANALYST, "street_crime", dry_run=True).as_dict())
    assert rows(pg.cursor(), UPLOADS) == [] and files_under(extracts) == []


@pytest.mark.parametrize(("line", "cell", "bad"), [
    (5, 1, "2014-13"),  # Month
    (7, 4, "west"),  # Longitude
])
def test_a_refused_file_stores_nothing_and_leaves_no_file(pg, duck, extracts, tmp_path, line, cell, bad):
    both(pg, duck, [city("2014-09")], "street_crime")
    before = files_under(extracts)
    lines = city("2014-10").read_text(encoding="utf-8").splitlines(keepends=True)
    cells = lines[line - 1].split(",")
    cells[cell] = bad
    lines[line - 1] = ",".join(cells)
    broken = tmp_path / "2014-10-broken.csv"
    broken.write_text("".join(lines), encoding="utf-8")
    messages = []
    for store in (pg, duck):
        with pytest.raises(ValidationError) as e:
            store.import_files([SourceFile.from_path(city("2014-11")), SourceFile.from_path(broken)], ANALYST,
                               "street_crime")
        messages.append(str(e.value))
    assert messages[0] == messages[1]
    assert "2014-10-broken.csv" in messages[0] and bad in messages[0] and f"row {line}" in messages[0]
    assert files_under(extracts) == before
    assert rows(pg.cursor(), UPLOADS) == rows(duck.cursor(), UPLOADS)
    assert len(rows(pg.cursor(), UPLOADS)) == 1
    assert rows(pg.cursor(), FIGURES) == rows(duck.cursor(), FIGURES)


def test_without_the_extracts_folder_a_dataset_import_is_refused_in_words(pg, extracts, monkeypatch):
    monkeypatch.delenv(ENV)
    with pytest.raises(CspdashError, match=f"{ENV}, which is not set; nothing was stored"):
        pg.import_files([SourceFile.from_path(city("2014-09"))], ANALYST, "street_crime")
    assert rows(pg.cursor(), UPLOADS) == [] and not extracts.exists()


def test_a_withdrawal_recomputes_the_figures_over_the_remaining_files(pg, duck, extracts, tmp_path, monkeypatch):
    lines = city("2014-09").read_text(encoding="utf-8").splitlines(keepends=True)
    restated = tmp_path / "2014-09-restated.csv"
    restated.write_text("".join(lines[:200]), encoding="utf-8")  # the same slice, fewer records
    both(pg, duck, [city("2014-09"), city("2014-10")], "street_crime")
    both(pg, duck, [restated], "street_crime")
    assert rows(pg.cursor(), FIGURES) == rows(duck.cursor(), FIGURES)
    full = rows(pg.cursor(), FIGURES)
    monkeypatch.delenv(ENV)  # the files cannot be read: refused, and the withdrawal rolled back
    with pytest.raises(CspdashError, match=f"{ENV}, which is not set; nothing was changed"):
        pg.withdraw(3, ANALYST, "restated in error")
    assert [r[7] for r in rows(pg.cursor(), UPLOADS)] == ["active"] * 3 and rows(pg.cursor(), FIGURES) == full
    monkeypatch.setenv(ENV, str(extracts))
    on_pg = pg.withdraw(3, ANALYST, "restated in error")
    on_duck = duck.withdraw(3, ANALYST, "restated in error")
    assert (on_pg["state"], on_pg["withdraw_reason"]) == (on_duck["state"], on_duck["withdraw_reason"]) \
        == ("withdrawn", "restated in error")
    after = rows(pg.cursor(), FIGURES)
    assert after == rows(duck.cursor(), FIGURES)
    assert after != full and {r[0] for r in after if r[2] == "2014-09"} == {1}
    assert (extracts / "street_crime" / "3.parquet").is_file()  # nothing is deleted: its state is its row


def test_an_extracts_folder_that_cannot_be_written_stores_nothing(pg, tmp_path, monkeypatch):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv(ENV, str(blocked / "extracts"))
    with pytest.raises(CspdashError, match=r"nothing was stored\. Fix: check the"):
        pg.import_files([SourceFile.from_path(city("2014-09"))], ANALYST, "street_crime")
    assert rows(pg.cursor(), UPLOADS) == [] and pg.events() == []


def test_a_missing_extract_is_refused_not_skipped(pg, extracts):
    pg.import_files([SourceFile.from_path(city("2014-09"))], ANALYST, "street_crime")
    (extracts / "street_crime" / "1.parquet").rename(extracts / "elsewhere.parquet")
    with pytest.raises(CspdashError, match=r"the extract of upload 1 \(street_crime\) is missing"):
        pg.import_files([SourceFile.from_path(city("2014-10"))], ANALYST, "street_crime")
    assert len(rows(pg.cursor(), UPLOADS)) == 1


def statuses(store: Store) -> list[tuple]:
    """(quarter, indicator, period, status, value) of every indicator for every quarter with a complete figure."""
    return sorted((q.label, s.indicator, s.period, s.rag, s.value)
                  for q, found in store.statuses_by_quarter().items() for s in found)


def test_the_demo_in_postgresql_gives_exactly_the_statuses_of_the_embedded_file(postgres_server, extracts,
                                                                                  tmp_path_factory):
    embedded = Store(demo_copy(tmp_path_factory, "demo"), CAT)  # the run's demo file (tests/e2e_helpers.py)
    pg_store = Store(postgres_server.new_database(), CAT)
    try:
        assert [line.split(" (")[0] for line in load_demo(pg_store)] == [
            f"{u['file_name']}: {u['rows']} rows" for u in reversed(embedded.history())]
        on_pg = statuses(pg_store)
        assert len(on_pg) > 1000 and on_pg == statuses(embedded)
        assert rows(pg_store.cursor(), FIGURES) == rows(embedded.cursor(), FIGURES)
        assert rows(pg_store.cursor(), UPLOADS) == rows(embedded.cursor(), UPLOADS)
        quarter = embedded.complete_quarters()[-1]  # rates per resident: the population read from its Parquet file
        compared = [i.id for i in CAT.indicators if i.compare is not None]
        assert compared and [compare_areas(pg_store, i, quarter) for i in compared] == [
            compare_areas(embedded, i, quarter) for i in compared]
    finally:
        pg_store.close()
        embedded.close()


def _run(url: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, url, *args], cwd=ROOT, env=os.environ.copy(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_imports_from_two_processes_at_once_both_land(postgres_server, duck, extracts):
    url = postgres_server.new_database()
    pg_store(url).close()  # migrated once first: the two processes then only import
    procs = [subprocess.Popen([sys.executable, "-m", "cspdash", "--db", url, "import", "--dataset", "street_crime",
                               str(city(m)), "--user", ANALYST], cwd=ROOT, env={**os.environ, "CSPDASH_CONFIG": str(
                                   ROOT / "indicators.yaml")}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for m in ("2014-09", "2014-10")]  # the command line, twice at once
    for p in procs:
        _out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    up = pg_store(url)
    try:
        assert sorted(r[3] for r in rows(up.cursor(), UPLOADS)) == [city("2014-09").name, city("2014-10").name]
        for m in ("2014-09", "2014-10"):  # the order they landed in
            duck.import_files([SourceFile.from_path(city(m))], ANALYST, "street_crime")
        ids = {r[3]: r[0] for r in rows(up.cursor(), UPLOADS)}
        expected = [(ids[city(r[2]).name], *r[1:]) for r in rows(duck.cursor(), FIGURES)]
        assert rows(up.cursor(), FIGURES) == sorted(expected)
        assert files_under(extracts / "street_crime") == sorted(f"{i}.parquet" for i in ids.values())
    finally:
        up.close()


def test_a_crash_after_the_files_are_written_leaves_only_files_no_row_refers_to(postgres_server, extracts):
    url = postgres_server.new_database()
    proc = _run(url, "crash", str(city("2014-09")))
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert files_under(extracts) == sorted([f"originals/{_sha(city('2014-09'))}", "street_crime/1.parquet"])
    up = pg_store(url)
    try:
        assert rows(up.cursor(), UPLOADS) == []
        res = up.import_files([SourceFile.from_path(city("2014-09"))], ANALYST, "street_crime")
        assert res.uploads[0]["upload_id"] == 2  # the id taken before the crash is only a gap
        assert files_under(extracts) == sorted([f"originals/{_sha(city('2014-09'))}", "street_crime/1.parquet",
                                                "street_crime/2.parquet"])
    finally:
        up.close()


def _sha(path: Path) -> str:
    return SourceFile.from_path(path).sha256()


if __name__ == "__main__":  # `<url> crash <file>`: a process that dies as the power would, after the files are
    # written and before the transaction
    from cspdash.extract_store import ExtractStore

    url, _what, file = sys.argv[1:4]
    write = ExtractStore.write

    def write_then_die(self, *args, **kwargs):
        write(self, *args, **kwargs)
        os._exit(3)

    ExtractStore.write = write_then_die
    pg_store(url).import_files([SourceFile.from_path(Path(file))], ANALYST, "street_crime")
