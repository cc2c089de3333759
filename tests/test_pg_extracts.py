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

from cspdash import pg_import
from cspdash.accounts import Accounts
from cspdash.config import load_catalogue
from cspdash.dburl import parse_db
from cspdash.errors import CspdashError
from cspdash.extract_store import ENV, KeptOriginals
from cspdash.figures import Figures
from cspdash.ingest import SourceFile, ValidationError
from cspdash.pg import PostgresDatabase
from cspdash.store import Store
from cspdash.uploads import Uploads

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


def pg_uploads(url: str) -> Uploads:
    """The uploads of a PostgreSQL store (its records under ``$CSPDASH_EXTRACTS``)."""
    engine = PostgresDatabase(parse_db(url))
    engine.open(CAT)
    up = Uploads(engine, CAT, KeptOriginals(Path(os.environ[ENV]) / "originals"), Figures(engine, CAT),
                 Accounts(engine, CAT))
    up.dataset_import = pg_import.import_dataset
    return up


@pytest.fixture
def extracts(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "extracts"
    monkeypatch.setenv(ENV, str(folder))
    return folder


@pytest.fixture
def pg(postgres_server, extracts):
    up = pg_uploads(postgres_server.new_database())
    yield up
    up.db.close()


@pytest.fixture
def duck(tmp_path):
    store = Store(tmp_path / "csp.duckdb", CAT)
    yield store
    store.close()


def rows(cur, sql: str) -> list[tuple]:
    return [tuple(r) for r in cur.execute(sql).fetchall()]


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def both(pg: Uploads, duck: Store, paths: list[Path], dataset: str) -> tuple[dict, dict]:
    """The same import into both stores; the results as JSON-ready mappings."""
    srcs = [SourceFile.from_path(p) for p in paths]
    return pg.import_files(srcs, ANALYST, dataset).as_dict(), duck.import_files(srcs, ANALYST, dataset).as_dict()


def test_police_uk_and_population_files_give_the_same_figures_as_on_duckdb(pg, duck, extracts):
    for paths, dataset in (([POPULATION], "population"), ([city("2014-09")], "street_crime"),
                           ([city("2014-10"), city("2014-11")], "street_crime")):
        on_pg, on_duck = both(pg, duck, paths, dataset)
        assert on_pg == on_duck
    figures = rows(pg.db.cursor(), FIGURES)
    assert figures == rows(duck.cursor(), FIGURES)
    assert {(r[1], r[2]) for r in figures} >= {("A4", "2014-09"), ("A4", "2014-10"), ("A4", "2014-11")}
    assert rows(pg.db.cursor(), UPLOADS) == rows(duck.cursor(), UPLOADS)
    shas = [r[4] for r in rows(pg.db.cursor(), UPLOADS)]
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
    assert rows(pg.db.cursor(), UPLOADS) == [] and files_under(extracts) == []


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
    assert rows(pg.db.cursor(), UPLOADS) == rows(duck.cursor(), UPLOADS)
    assert len(rows(pg.db.cursor(), UPLOADS)) == 1
    assert rows(pg.db.cursor(), FIGURES) == rows(duck.cursor(), FIGURES)


def test_without_the_extracts_folder_a_dataset_import_is_refused_in_words(pg, extracts, monkeypatch):
    monkeypatch.delenv(ENV)
    with pytest.raises(CspdashError, match=f"{ENV}, which is not set; nothing was stored"):
        pg.import_files([SourceFile.from_path(city("2014-09"))], ANALYST, "street_crime")
    assert rows(pg.db.cursor(), UPLOADS) == [] and not extracts.exists()


def test_a_withdrawal_recomputes_the_figures_over_the_remaining_files(pg, duck, extracts, tmp_path):
    lines = city("2014-09").read_text(encoding="utf-8").splitlines(keepends=True)
    restated = tmp_path / "2014-09-restated.csv"
    restated.write_text("".join(lines[:200]), encoding="utf-8")  # the same slice, fewer records
    both(pg, duck, [city("2014-09"), city("2014-10")], "street_crime")
    both(pg, duck, [restated], "street_crime")
    assert rows(pg.db.cursor(), FIGURES) == rows(duck.cursor(), FIGURES)
    full = rows(pg.db.cursor(), FIGURES)
    on_pg = pg.withdraw(3, ANALYST, "restated in error")
    on_duck = duck.withdraw(3, ANALYST, "restated in error")
    assert (on_pg["state"], on_pg["withdraw_reason"]) == (on_duck["state"], on_duck["withdraw_reason"]) \
        == ("withdrawn", "restated in error")
    after = rows(pg.db.cursor(), FIGURES)
    assert after == rows(duck.cursor(), FIGURES)
    assert after != full and {r[0] for r in after if r[2] == "2014-09"} == {1}
    assert (extracts / "street_crime" / "3.parquet").is_file()  # nothing is deleted: its state is its row


def test_a_missing_extract_is_refused_not_skipped(pg, extracts):
    pg.import_files([SourceFile.from_path(city("2014-09"))], ANALYST, "street_crime")
    (extracts / "street_crime" / "1.parquet").rename(extracts / "elsewhere.parquet")
    with pytest.raises(CspdashError, match=r"the extract of upload 1 \(street_crime\) is missing"):
        pg.import_files([SourceFile.from_path(city("2014-10"))], ANALYST, "street_crime")
    assert len(rows(pg.db.cursor(), UPLOADS)) == 1


def _run(url: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, url, *args], cwd=ROOT, env=os.environ.copy(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_imports_from_two_processes_at_once_both_land(postgres_server, duck, extracts):
    url = postgres_server.new_database()
    pg_uploads(url).db.close()  # migrated once first: the two processes then only import
    procs = [_run(url, "import", str(city(m))) for m in ("2014-09", "2014-10")]
    for p in procs:
        _out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    up = pg_uploads(url)
    try:
        assert sorted(r[3] for r in rows(up.db.cursor(), UPLOADS)) == [city("2014-09").name, city("2014-10").name]
        for m in ("2014-09", "2014-10"):  # the order they landed in
            duck.import_files([SourceFile.from_path(city(m))], ANALYST, "street_crime")
        ids = {r[3]: r[0] for r in rows(up.db.cursor(), UPLOADS)}
        expected = [(ids[city(r[2]).name], *r[1:]) for r in rows(duck.cursor(), FIGURES)]
        assert rows(up.db.cursor(), FIGURES) == sorted(expected)
        assert files_under(extracts / "street_crime") == sorted(f"{i}.parquet" for i in ids.values())
    finally:
        up.db.close()


def test_a_crash_after_the_files_are_written_leaves_only_files_no_row_refers_to(postgres_server, extracts):
    url = postgres_server.new_database()
    proc = _run(url, "crash", str(city("2014-09")))
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert files_under(extracts) == sorted([f"originals/{_sha(city('2014-09'))}", "street_crime/1.parquet"])
    up = pg_uploads(url)
    try:
        assert rows(up.db.cursor(), UPLOADS) == []
        res = up.import_files([SourceFile.from_path(city("2014-09"))], ANALYST, "street_crime")
        assert res.uploads[0]["upload_id"] == 2  # the id taken before the crash is only a gap
        assert files_under(extracts) == sorted([f"originals/{_sha(city('2014-09'))}", "street_crime/1.parquet",
                                                "street_crime/2.parquet"])
    finally:
        up.db.close()


def _sha(path: Path) -> str:
    return SourceFile.from_path(path).sha256()


if __name__ == "__main__":  # a process of its own: `<url> import|crash <file>`
    url, what, file = sys.argv[1:4]
    if what == "crash":  # dies as the power would: after the files are written, before the transaction
        from cspdash.extract_store import ExtractStore

        write = ExtractStore.write

        def write_then_die(self, *args, **kwargs):
            write(self, *args, **kwargs)
            os._exit(3)

        ExtractStore.write = write_then_die
    pg_uploads(url).import_files([SourceFile.from_path(Path(file))], ANALYST, "street_crime")
