"""Tests for area comparisons on rates (cspdash/compare.py, the population dataset and the ``compare`` command).

The "done when": for a burglary indicator and a quarter, every London borough's count equals the London Datastore
file, its rate comes from the shipped ONS population, and its interval and comparison equal an independent
computation made here (csv module, and the incomplete gamma function rather than chi-squared quantiles).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from scipy.special import gammaincinv

from cspdash import compare
from cspdash.cli import main
from cspdash.config import loads_catalogue
from cspdash.errors import ConfigError
from cspdash.ingest import SourceFile, ValidationError
from cspdash.periods import Period, parse_period
from cspdash.store import Store

DATA = Path(__file__).resolve().parent / "data"
CRIME = DATA / "london-datastore" / "mps-borough-level-crime-2024-01-to-2025-12.csv"
POPULATION = DATA / "ons-population" / "london-population-2018-based-projections.csv"
PER = 1000.0


def catalogue_text(compare_key: str = "{per: 1000, population: all_ages}", extra: str = "",
                   similar: str = "[Hackney, Newham, Southwark]") -> str:
    return f"""\
partnership: {{name: Tower Hamlets CSP, area: Tower Hamlets, similar_areas: {similar}}}
periods: {{first: 2010/11 Q1, last: 2030/31 Q4}}
priorities:
  - {{id: D, title: Reducing re-offending}}
subgroups:
  - {{id: reoffending, name: Reducing Re-offending Board, priority: D}}
datasets:
  borough_crime: {{format: mps_borough}}
  population: {{format: population}}
indicators:
  - id: D8
    priority: D
    owner: reoffending
    title: Burglary offences recorded by police
    unit: count
    frequency: monthly
    direction: decrease
    target: {{type: none}}
    measure: {{dataset: borough_crime, aggregate: "sum(value)", where: "major_text = 'BURGLARY'", area: borough_name}}
    compare: {compare_key}
  - id: W1
    priority: D
    owner: reoffending
    title: Possession of weapons offences
    unit: count
    frequency: monthly
    direction: neutral
    target: {{type: none}}
    measure: {{dataset: borough_crime, aggregate: "sum(value)", where: "major_text = 'POSSESSION OF WEAPONS'",
               area: borough_name}}
    compare: {{per: 1000, population: 10-19}}
{extra}"""


# --- the independent computation --------------------------------------------------------------------------------

def months_of(quarter: str) -> list[str]:
    """``2024/25 Q1`` -> ``['202404', '202405', '202406']``, worked out here."""
    fy, q = int(quarter[:4]), int(quarter[-1])
    out = []
    for k in range(3):
        m = 4 + (q - 1) * 3 + k
        year, month = (fy, m) if m <= 12 else (fy + 1, m - 12)
        out.append(f"{year}{month:02d}")
    return out


def independent_counts(quarter: str, major: str) -> dict[str, int]:
    """Every area's count of a major category in a quarter, from the London Datastore CSV."""
    counts: dict[str, int] = {}
    with CRIME.open(newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            if row["MajorText"] == major:
                counts[row["BoroughName"]] = counts.get(row["BoroughName"], 0) + sum(
                    int(row[m]) for m in months_of(quarter))
    return counts


def independent_population(year: int, groups: tuple[str, ...] = ("All ages",)) -> dict[str, float]:
    pops: dict[str, float] = {}
    with POPULATION.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if int(row["year"]) == year and row["age_group"] in groups and row["code"].startswith("E09"):
                pops[row["area"]] = pops.get(row["area"], 0.0) + float(row["population"])
    return pops


def exact_poisson(k: float, level: float = 0.95) -> tuple[float, float]:
    """The exact Poisson interval by the incomplete gamma function (not chi-squared quantiles)."""
    a = 1 - level
    return (0.0 if k == 0 else float(gammaincinv(k, a / 2))), float(gammaincinv(k + 1, 1 - a / 2))


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """The real crime and population files imported into a fresh database."""
    tmp = tmp_path_factory.mktemp("compare")
    config = tmp / "catalogue.yaml"
    config.write_text(catalogue_text(), encoding="utf-8")
    path = tmp / "csp.duckdb"
    store = Store(path, loads_catalogue(config.read_text()))
    try:
        store.import_files([SourceFile.from_path(POPULATION)], "analyst", "population")
        store.import_files([SourceFile.from_path(CRIME)], "analyst", "borough_crime")
    finally:
        store.close()
    return {"db": path, "config": config, "tmp": tmp}


def run(capsys, db, *argv: str) -> tuple[int, str, str]:
    code = main(["--db", str(db["db"]), "--config", str(db["config"]), *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize(("quarter", "year"), [("2024/25 Q1", 2024), ("2024/25 Q4", 2024), ("2025/26 Q2", 2025)])
def test_compare_json_equals_the_independent_computation(capsys, db, quarter, year):
    code, out, err = run(capsys, db, "compare", "D8", "--period", quarter, "--format", "json")
    assert code == 0, err
    got = {r["area"]: r for r in json.loads(out)}
    counts = independent_counts(quarter, "BURGLARY")
    pops = independent_population(year)
    boroughs = sorted(set(counts) & set(pops))
    assert len(boroughs) == 32 and "City of London" not in counts  # policed by City of London Police
    assert sorted(got) == boroughs
    benchmark = sum(counts[a] for a in boroughs) / sum(pops[a] for a in boroughs) * PER
    for area in boroughs:
        r = got[area]
        assert set(r) >= {"area", "value", "population", "rate", "lower", "upper", "comparison", "benchmark"}
        lo, hi = exact_poisson(counts[area])
        assert r["value"] == counts[area]
        assert r["population"] == pops[area]
        assert r["population_year"] == year
        assert r["rate"] == pytest.approx(counts[area] / pops[area] * PER, rel=1e-12)
        assert r["lower"] == pytest.approx(lo / pops[area] * PER, rel=1e-9)
        assert r["upper"] == pytest.approx(hi / pops[area] * PER, rel=1e-9)
        assert r["benchmark"] == pytest.approx(benchmark, rel=1e-12)
        expected = "better" if r["upper"] < benchmark else "worse" if r["lower"] > benchmark else "similar"
        assert r["comparison"] == expected  # burglary: lower is better
        assert r["own"] == (area == "Tower Hamlets")
        assert r["similar"] == (area in {"Hackney", "Newham", "Southwark"})
    group = ["Tower Hamlets", "Hackney", "Newham", "Southwark"]
    assert got["Tower Hamlets"]["similar_rate"] == pytest.approx(
        sum(counts[a] for a in group) / sum(pops[a] for a in group) * PER)
    assert [r["rate"] for r in json.loads(out)] == sorted((r["rate"] for r in got.values()), reverse=True)
    assert "note: 2 areas left out" in err and "Unknown" in err and "Heathrow" in err  # the array stays clean


def test_the_comparisons_found_are_varied(capsys, db):
    """The real figures give all three verdicts, so the test above checks each of them."""
    out = run(capsys, db, "compare", "D8", "--period", "2024/25 Q1", "--format", "json")[1]
    assert {r["comparison"] for r in json.loads(out)} == {"better", "similar", "worse"}


def test_youth_band_is_made_of_the_five_year_bands_and_neutral_is_not_compared(capsys, db):
    code, out, err = run(capsys, db, "compare", "W1", "--period", "2024/25 Q2", "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    pops = independent_population(2024, ("10-14", "15-19"))
    assert {r["area"]: r["population"] for r in rows} == {a: pops[a] for a in (r["area"] for r in rows)}
    assert len(rows) == 32
    assert {r["comparison"] for r in rows} == {"not_compared"}
    assert {r["age_group"] for r in rows} == {"10-19"}


def test_table_prints_the_sentence_and_the_note(capsys, db):
    code, out, err = run(capsys, db, "compare", "D8", "--period", "2024/25 Q1")
    assert code == 0 and err == ""
    assert "Tower Hamlets (this partnership)" in out and "Hackney (similar)" in out
    assert "note: 2 areas left out: Unknown, London Heathrow and London City Airports (no population)." in out
    assert "than London" in out or "similar to London" in out


def test_compare_errors(capsys, db):
    code, _out, err = run(capsys, db, "compare", "X9")
    assert code == 1 and "no indicator 'X9'" in err
    code, out, err = run(capsys, db, "compare", "D8", "--period", "2019/20 Q1", "--format", "json")
    assert (code, json.loads(out)) == (0, [])  # a population for mid-2019, but no crime figures that quarter


def test_compare_without_the_key_is_refused(tmp_path, capsys):
    text = catalogue_text().replace("    compare: {per: 1000, population: all_ages}\n", "")
    config = tmp_path / "c.yaml"
    config.write_text(text, encoding="utf-8")
    db = tmp_path / "csp.duckdb"
    Store(db, loads_catalogue(text)).close()
    code = main(["--db", str(db), "--config", str(config), "compare", "D8", "--period", "2024/25 Q1"])
    err = capsys.readouterr().err
    assert code == 1 and "D8 is not compared on rates; add compare:" in err


def test_no_population_for_the_year_is_an_error_naming_the_fix(tmp_path):
    cat = loads_catalogue(catalogue_text())
    store = Store(tmp_path / "csp.duckdb", cat)
    try:
        store.import_files([SourceFile.from_path(CRIME)], "analyst", "borough_crime")
        with pytest.raises(Exception, match=r"no population for mid-2024 in the population dataset; import one"):
            compare.compare_areas(store, "D8", parse_period("2024/25 Q1", grain="quarter"))
    finally:
        store.close()


# --- the statistics, table-driven ------------------------------------------------------------------------------

@pytest.mark.parametrize("k", [0, 1, 4, 10, 57, 542])
def test_garwood_equals_the_incomplete_gamma_interval(k):
    assert compare.garwood(k) == pytest.approx(exact_poisson(k), rel=1e-10)
    assert compare.garwood(k, 0.998) == pytest.approx(exact_poisson(k, 0.998), rel=1e-10)


@pytest.mark.parametrize("benchmark", [1.35, 0.175, 20.0])
@pytest.mark.parametrize("population", [500, 10_000, 150_000, 400_000])
@pytest.mark.parametrize("level", compare.FUNNEL_LEVELS)
def test_funnel_limits_are_the_exact_poisson_limits_of_the_expected_count(benchmark, population, level):
    expected = benchmark * population / PER
    lo, hi = exact_poisson(expected, level)
    got = compare.funnel_limits(benchmark, population, PER, level)
    assert got == pytest.approx((lo / population * PER, hi / population * PER), rel=1e-9)
    assert got[0] < benchmark < got[1]


def test_funnel_narrows_as_population_grows_and_99_8_is_wider():
    widths = [compare.funnel_limits(1.35, p, PER, 0.95) for p in (1_000, 10_000, 100_000, 1_000_000)]
    assert [hi - lo for lo, hi in widths] == sorted((hi - lo for lo, hi in widths), reverse=True)
    lo95, hi95 = compare.funnel_limits(1.35, 50_000, PER, 0.95)
    lo998, hi998 = compare.funnel_limits(1.35, 50_000, PER, 0.998)
    assert lo998 < lo95 and hi998 > hi95


@pytest.mark.parametrize(("lower", "upper", "direction", "expected"), [
    (1.0, 1.2, "decrease", "better"),
    (1.0, 1.2, "increase", "worse"),
    (1.6, 1.8, "decrease", "worse"),
    (1.6, 1.8, "increase", "better"),
    (1.2, 1.6, "decrease", "similar"),
    (1.5, 1.6, "decrease", "similar"),  # the benchmark on the interval's end is inside it
    (1.0, 1.2, "neutral", "not_compared"),
])
def test_judge(lower, upper, direction, expected):
    assert compare.judge(lower, upper, 1.5, direction) == expected


@pytest.mark.parametrize(("groups", "wanted", "expected"), [
    ({"all_ages": 100.0, "10-14": 5.0}, "all_ages", 100.0),
    ({"10-14": 5.0, "15-19": 6.0, "20-24": 7.0}, "10-19", 11.0),
    ({"10-14": 5.0, "15-19": 6.0, "20-24": 7.0}, "10-24", 18.0),
    ({"10-14": 5.0, "15-19": 6.0}, "15-19", 6.0),
    ({"10-14": 5.0, "20-24": 7.0}, "10-24", None),  # a gap
    ({"10-14": 5.0, "15-19": 6.0}, "10-17", None),  # does not end on a band
    ({"10-14": 5.0}, "all_ages", None),
])
def test_population_of_an_age_band(groups, wanted, expected):
    assert compare.population_of(groups, wanted) == expected


@pytest.mark.parametrize(("period", "year"), [("2019/20", 2019), ("2019/20 Q1", 2019), ("2019/20 Q4", 2019),
                                              ("2020-02", 2019), ("2020-04", 2020)])
def test_population_year_is_the_mid_year_in_which_the_financial_year_starts(period, year):
    assert compare.population_year(parse_period(period)) == year


def test_sentence_follows_the_direction():
    ind = loads_catalogue(catalogue_text()).indicator("D8")
    rows = [("E1", "Tower Hamlets", "All ages", 100_000), ("E2", "Hackney", "All ages", 100_000),
            ("E3", "Barnet", "All ages", 100_000)]
    counts = [{"area": "Tower Hamlets", "value": 50, "complete": True}, {"area": "Hackney", "value": 200,
              "complete": True}, {"area": "Barnet", "value": 200, "complete": True},
              {"area": "Unknown", "value": 9, "complete": True}]
    c = compare.compare_counts(ind, Period.quarter(2024, 1), counts, rows, "Tower Hamlets", ["Hackney"])
    assert c.own is not None and c.own.comparison == "better"
    assert "lower than London (1.50), beyond chance: better." in compare.sentence(c)
    assert c.similar_rate == pytest.approx(1.25)
    assert c.note == "1 area left out: Unknown (no population)."


# --- the population dataset ---------------------------------------------------------------------------------------

def population_store(tmp_path) -> Store:
    return Store(tmp_path / "csp.duckdb", loads_catalogue(catalogue_text()))


HEADER = "code,area,age_group,year,population\n"


@pytest.mark.parametrize(("body", "row", "column", "words"), [
    ("E09000030,Tower Hamlets,All ages,mid-2019,300000\n", 2, "year", "not a year"),
    ("E09000030,Tower Hamlets,All ages,2019,\"300,000\"\n", 2, "population", "not a number of residents"),
    ("E09000030,Tower Hamlets,All ages,2019,-5\n", 2, "population", "not a number of residents"),
    ("E09000030,,All ages,2019,300000\n", 2, "area", "the cell is empty"),
    ("E09000030,Tower Hamlets,All ages,2019,300000\nE09000030,Tower Hamlets,All ages,2019,300001\n", 3, None,
     "duplicate row"),
])
def test_bad_population_rows_are_refused_and_nothing_stored(tmp_path, body, row, column, words):
    store = population_store(tmp_path)
    try:
        with pytest.raises(ValidationError) as e:
            store.import_files([SourceFile("pop.csv", data=(HEADER + body).encode())], "analyst", "population")
        p = e.value.problems[0]
        assert (p.file, p.row, p.column) == ("pop.csv", row, column) and words in p.message
        assert store.population_rows("population", 2019) == []
        assert store.history() == []
    finally:
        store.close()


def test_a_missing_column_is_named(tmp_path):
    store = population_store(tmp_path)
    try:
        with pytest.raises(ValidationError) as e:
            store.import_files([SourceFile("pop.csv", data=b"code,area,year,population\nE1,A,2019,5\n")], "analyst",
                               "population")
        assert any(p.column == "age_group" and "missing" in p.message for p in e.value.problems)
    finally:
        store.close()


def test_a_newer_population_replaces_the_same_area_group_and_year_and_withdrawal_restores_it(tmp_path):
    store = population_store(tmp_path)
    try:
        first = store.import_files([SourceFile.from_path(POPULATION)], "analyst", "population")
        assert first.uploads[0]["rows"] == 1768 and first.uploads[0]["rows_in_area"] == 52  # 4 groups x 13 years
        newer = store.import_files([SourceFile("mye.csv", data=(HEADER + "E09000030,Tower Hamlets,All ages,2019,"
                                                                 "310000\n").encode())], "analyst", "population")
        rows = {(a, g): p for _c, a, g, p in store.population_rows("population", 2019)}
        assert rows[("Tower Hamlets", "All ages")] == 310000
        assert rows[("Hackney", "All ages")] == independent_population(2019)["Hackney"]
        store.withdraw(newer.uploads[0]["upload_id"], "analyst", "mistake")
        rows = {(a, g): p for _c, a, g, p in store.population_rows("population", 2019)}
        assert rows[("Tower Hamlets", "All ages")] == independent_population(2019)["Tower Hamlets"]
    finally:
        store.close()


# --- the catalogue ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("compare_key", "extra", "similar", "problem"), [
    ("{per: 1000, population: adults}", "", "[Hackney]",
     "indicators[D8].compare.population: expected all_ages or an age band such as 10-19, got 'adults'"),
    ("{per: 1000, population: 19-10}", "", "[Hackney]",
     "indicators[D8].compare.population: expected all_ages or an age band"),
    ("{per: '1000'}", "", "[Hackney]", "indicators[D8].compare.per: expected a number, got '1000'; remove the quotes"),
    ("{per: 1000, populaton: all_ages}", "", "[Hackney]",
     "indicators[D8].compare.populaton: unknown key; did you mean 'population'?"),
    ("{dataset: borough_crime}", "", "[Hackney]",
     "indicators[D8].compare.dataset: no dataset of format population named 'borough_crime'"),
    ("{per: 1000}", "", "Hackney", "partnership.similar_areas: expected a list of area names"),
    ("{per: 1000}", "", "[Hackney, hackney]", "partnership.similar_areas: 'hackney' is listed twice"),
])
def test_catalogue_problems(compare_key, extra, similar, problem):
    with pytest.raises(ConfigError) as e:
        loads_catalogue(catalogue_text(compare_key, extra, similar))
    assert any(p.startswith(problem) for p in e.value.problems), e.value.problems


def test_compare_needs_a_count_and_a_population_dataset():
    text = catalogue_text().replace("  population: {format: population}\n", "")
    with pytest.raises(ConfigError) as e:
        loads_catalogue(text)
    assert any("indicators[D8].compare: no dataset of format population is declared" in p for p in e.value.problems)
    text = catalogue_text().replace("    unit: count\n    frequency: monthly\n    direction: decrease",
                                    "    unit: percent\n    frequency: monthly\n    direction: decrease", 1)
    with pytest.raises(ConfigError) as e:
        loads_catalogue(text)
    assert any("indicators[D8].compare: only a count can be compared" in p for p in e.value.problems)


def test_catalogue_reads_compare_and_similar_areas():
    cat = loads_catalogue(catalogue_text())
    assert cat.similar_areas == ("Hackney", "Newham", "Southwark")
    c = cat.indicator("D8").compare
    assert (c.per, c.population, c.dataset) == (1000.0, "all_ages", "population")
    assert cat.indicator("W1").compare.population == "10-19"


# --- the pack ---------------------------------------------------------------------------------------------------

def test_pack_shows_the_comparison_with_charts_described_and_a_table(db):
    from pypdf import PdfReader

    from cspdash import report

    store = Store(db["db"], loads_catalogue(db["config"].read_text()))
    try:
        pack = report.build_pack(store, "2024/25 Q1")
    finally:
        store.close()
    item = next(i for i in pack.items if i.indicator == "D8")
    cmp = item.comparison
    assert cmp is not None and len(cmp["rows"]) == 32 and cmp["sentence"].startswith("Tower Hamlets: ")
    assert "Unknown" in cmp["note"]
    funnel_alt, rate_alt = report.comparison_alts(item, pack.area)
    assert funnel_alt.startswith("Funnel plot of D8") and "95% and 99.8% limits around the London rate" in funnel_alt
    assert rate_alt.startswith("Ranked rates of D8") and "Tower Hamlets is " in rate_alt
    assert report.PackData.from_json(pack.to_json()).items == pack.items  # a snapshot keeps it
    pdf = report.render_pdf(pack)
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "D8 compared with the other London boroughs (per 1,000 residents)" in text
    assert "Tower Hamlets (this partnership)" in text and "Against London" in text
